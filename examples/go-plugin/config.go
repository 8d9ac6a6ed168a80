package main

// The guard's config: parsed and checked with the same rules and messages as the Rust example
// (examples/rust-plugin/src/config.rs). A small JSON reader instead of encoding/json, which
// would double the component's size and with it the gateway's compile time.

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type entry struct {
	user string
	key  []byte
}

type config struct {
	header     string // lower-case
	userHeader string // lower-case, "" when not set
	stripKey   bool
	keys       []entry // by user name
}

func parseConfig(text string) (*config, error) {
	raw, err := parseJSON(text)
	if err != nil {
		return nil, errors.New("api-key config: " + err.Error())
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("api-key config: expected a JSON object")
	}
	for name := range obj {
		switch name {
		case "header", "keys", "userHeader", "stripKey":
		default:
			return nil, errors.New("api-key config: unknown field `" + name + "`")
		}
	}
	if _, ok := obj["keys"]; !ok {
		return nil, errors.New("api-key config: missing field `keys`")
	}
	c := &config{header: "x-api-key", stripKey: true}
	if v, ok := obj["header"]; ok && v != nil {
		if c.header, err = headerName(v, "header"); err != nil {
			return nil, err
		}
	}
	if v, ok := obj["userHeader"]; ok && v != nil {
		if c.userHeader, err = headerName(v, "userHeader"); err != nil {
			return nil, err
		}
		if c.userHeader == c.header {
			return nil, errors.New("userHeader: must differ from header " + strconv.Quote(c.header))
		}
	}
	if v, ok := obj["stripKey"]; ok && v != nil {
		if c.stripKey, ok = v.(bool); !ok {
			return nil, errors.New("api-key config: stripKey must be true or false")
		}
	}
	keys, _ := obj["keys"].(map[string]any)
	if len(keys) == 0 {
		return nil, errors.New("keys: at least one user and key are required")
	}
	users := make([]string, 0, len(keys))
	for user := range keys {
		users = append(users, user)
	}
	sort.Strings(users)
	for _, user := range users {
		key, ok := keys[user].(string)
		if !ok {
			return nil, errors.New("keys: the key of user " + strconv.Quote(user) + " must be a string")
		}
		if c.userHeader != "" && !validHeaderValue(user) {
			return nil, errors.New("keys: user name " + strconv.Quote(user) + " cannot be sent in userHeader")
		}
		if key == "" {
			return nil, errors.New("keys: the key of user " + strconv.Quote(user) + " is empty")
		}
		for _, other := range c.keys {
			if string(other.key) == key {
				return nil, errors.New("keys: users " + strconv.Quote(other.user) + " and " + strconv.Quote(user) + " share a key")
			}
		}
		c.keys = append(c.keys, entry{user: user, key: []byte(key)})
	}
	return c, nil
}

func headerName(v any, key string) (string, error) {
	name, ok := v.(string)
	if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		shown, _ := v.(string)
		return "", errors.New(key + ": invalid header name " + strconv.Quote(shown))
	}
	return strings.ToLower(name), nil
}

func isTokenChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b != '\t' && (b < 0x20 || b == 0x7f) {
			return false
		}
	}
	return true
}

// ---- a small JSON reader: objects (map[string]any), arrays, strings, numbers (float64),
// true/false/null; at most 64 levels deep ----

type reader struct {
	s     string
	at    int
	depth int
}

func parseJSON(s string) (any, error) {
	r := &reader{s: s}
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	if r.ws(); r.at != len(r.s) {
		return nil, r.fail("trailing characters")
	}
	return v, nil
}

func (r *reader) fail(what string) error {
	return errors.New("invalid JSON at byte " + strconv.Itoa(r.at) + ": " + what)
}

func (r *reader) ws() {
	for r.at < len(r.s) && strings.IndexByte(" \t\r\n", r.s[r.at]) >= 0 {
		r.at++
	}
}

func (r *reader) value() (any, error) {
	if r.ws(); r.at >= len(r.s) {
		return nil, r.fail("unexpected end")
	}
	switch c := r.s[r.at]; {
	case c == '{' || c == '[':
		if r.depth++; r.depth > 64 {
			return nil, r.fail("nested too deeply")
		}
		defer func() { r.depth-- }()
		if c == '{' {
			return r.object()
		}
		return r.array()
	case c == '"':
		return r.str()
	case strings.HasPrefix(r.s[r.at:], "true"):
		r.at += 4
		return true, nil
	case strings.HasPrefix(r.s[r.at:], "false"):
		r.at += 5
		return false, nil
	case strings.HasPrefix(r.s[r.at:], "null"):
		r.at += 4
		return nil, nil
	}
	start := r.at
	for r.at < len(r.s) && strings.IndexByte("+-.0123456789eE", r.s[r.at]) >= 0 {
		r.at++
	}
	n, err := strconv.ParseFloat(r.s[start:r.at], 64)
	if err != nil {
		return nil, r.fail("expected a value")
	}
	return n, nil
}

func (r *reader) object() (any, error) {
	r.at++ // {
	obj := map[string]any{}
	if r.ws(); r.at < len(r.s) && r.s[r.at] == '}' {
		r.at++
		return obj, nil
	}
	for {
		if r.ws(); r.at >= len(r.s) || r.s[r.at] != '"' {
			return nil, r.fail("expected a string key")
		}
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		if r.ws(); r.at >= len(r.s) || r.s[r.at] != ':' {
			return nil, r.fail("expected ':'")
		}
		r.at++
		if obj[key], err = r.value(); err != nil {
			return nil, err
		}
		if done, err := r.next('}'); done || err != nil {
			return obj, err
		}
	}
}

func (r *reader) array() (any, error) {
	r.at++ // [
	var list []any
	if r.ws(); r.at < len(r.s) && r.s[r.at] == ']' {
		r.at++
		return list, nil
	}
	for {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		if done, err := r.next(']'); done || err != nil {
			return list, err
		}
	}
}

// next reads the ',' between members (false) or the closing character (true).
func (r *reader) next(closing byte) (bool, error) {
	r.ws()
	switch {
	case r.at < len(r.s) && r.s[r.at] == ',':
		r.at++
		return false, nil
	case r.at < len(r.s) && r.s[r.at] == closing:
		r.at++
		return true, nil
	}
	return false, r.fail("expected ',' or '" + string(closing) + "'")
}

func (r *reader) str() (string, error) {
	r.at++ // "
	var b strings.Builder
	for r.at < len(r.s) {
		c := r.s[r.at]
		r.at++
		switch {
		case c == '"':
			return b.String(), nil
		case c != '\\':
			b.WriteByte(c)
		case r.at >= len(r.s):
			return "", r.fail("unterminated string")
		default:
			e := r.s[r.at]
			r.at++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if r.at+4 > len(r.s) {
					return "", r.fail("bad \\u escape")
				}
				n, err := strconv.ParseUint(r.s[r.at:r.at+4], 16, 32)
				if err != nil {
					return "", r.fail("bad \\u escape")
				}
				r.at += 4
				b.WriteRune(rune(n))
			default:
				b.WriteByte(e)
			}
		}
	}
	return "", r.fail("unterminated string")
}

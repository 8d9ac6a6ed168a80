// An API-key guard as a Traefik Wasm plugin in Go, standard library only: the http-wasm
// handler ABI imported by hand with //go:wasmimport, the hooks exported with //go:wasmexport.
// Built by tests/e2e/http_wasm.rs with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
//
// Config (JSON): key (required), tag (default "go"). A request without `x-api-key: <key>`
// is answered 401 with a body; otherwise it goes on with `x-guest: <tag>`, and the response
// gets `x-guest-response: <tag>`.
package main

import (
	"strings"
	"unsafe"
)

//go:wasmimport http_handler get_config
func getConfig(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport http_handler get_header_values
func getHeaderValues(kind uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, limit uint32) uint64

//go:wasmimport http_handler set_header_value
func setHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

//go:wasmimport http_handler set_status_code
func setStatusCode(code uint32)

//go:wasmimport http_handler write_body
func writeBody(kind uint32, body unsafe.Pointer, bodyLen uint32)

const (
	requestKind  = 0
	responseKind = 1
)

type config struct {
	Key string
	Tag string
}

var conf config

// stringField reads `"name":"value"` from the flat JSON object the host passes (the values this
// guest needs hold no escapes). encoding/json would triple the module's size, and its compile
// time in the gateway with it.
func stringField(json, name string) string {
	at := strings.Index(json, `"`+name+`":"`)
	if at < 0 {
		return ""
	}
	rest := json[at+len(name)+4:]
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return ""
	}
	return rest[:end]
}

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func readConfig() []byte {
	n := getConfig(nil, 0)
	buf := make([]byte, n)
	getConfig(ptr(buf), n)
	return buf
}

// header returns the first value of a header (short-buffer rule: length first, then the value).
func header(kind uint32, name string) (string, bool) {
	nb := []byte(name)
	countLen := getHeaderValues(kind, ptr(nb), uint32(len(nb)), nil, 0)
	if countLen == 0 {
		return "", false
	}
	size := uint32(countLen)
	buf := make([]byte, size)
	getHeaderValues(kind, ptr(nb), uint32(len(nb)), ptr(buf), size)
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i]), true
		}
	}
	return string(buf), true
}

func setHeader(kind uint32, name, value string) {
	nb, vb := []byte(name), []byte(value)
	setHeaderValue(kind, ptr(nb), uint32(len(nb)), ptr(vb), uint32(len(vb)))
}

func init() {
	text := string(readConfig())
	conf = config{Key: stringField(text, "key"), Tag: stringField(text, "tag")}
	if conf.Key == "" {
		panic("config: key is required")
	}
	if conf.Tag == "" {
		conf.Tag = "go"
	}
}

//go:wasmexport handle_request
func handleRequest() uint64 {
	if got, ok := header(requestKind, "x-api-key"); !ok || got != conf.Key {
		setStatusCode(401)
		setHeader(responseKind, "www-authenticate", "ApiKey")
		body := []byte("missing or wrong api key")
		writeBody(responseKind, ptr(body), uint32(len(body)))
		return 0
	}
	setHeader(requestKind, "x-guest", conf.Tag)
	return 1
}

//go:wasmexport handle_response
func handleResponse(reqCtx uint32, isError uint32) {
	setHeader(responseKind, "x-guest-response", conf.Tag)
}

func main() {}

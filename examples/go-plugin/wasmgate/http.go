// The request and response heads (the contract's `http` interface): host-owned resources,
// borrowed for one hook call. Each method is one host call; a result the host allocates (a
// string, a header value) is used in place, not copied again.
package wasmgate

import "unsafe"

// Request is the request being processed, lent to OnRequest and OnResponse. Valid only during
// the hook call that lends it.
type Request struct{ handle uint32 }

// Response is the response head, lent to OnResponse. Valid only during that call.
type Response struct{ handle uint32 }

// Header is one header field: name (lower-case as the host stores it) and raw value bytes.
type Header struct {
	Name  string
	Value []byte
}

// EditErrorKind says why the host refused an edit (the contract's `edit-error` cases).
type EditErrorKind uint8

const (
	InvalidHeaderName EditErrorKind = iota
	InvalidHeaderValue
	LimitExceeded
	Invalid
)

// EditError is a refused edit; nothing changed. Reason is set for Invalid.
type EditError struct {
	Kind   EditErrorKind
	Reason string
}

func (e *EditError) Error() string {
	switch e.Kind {
	case InvalidHeaderName:
		return "invalid header name"
	case InvalidHeaderValue:
		return "invalid header value"
	case LimitExceeded:
		return "limit exceeded"
	}
	return "invalid: " + e.Reason
}

// Method is the method, upper-case as received.
func (r Request) Method() string { return stringResult(requestMethod, r.handle) }

// Scheme is `http` or `https`.
func (r Request) Scheme() string { return stringResult(requestScheme, r.handle) }

// Authority is the host (and port) of the request, if it had one.
func (r Request) Authority() (string, bool) { return optionStringResult(requestAuthority, r.handle) }

// Path is the normalised path the router matched (see `path` in wit/plugin.wit); no query.
func (r Request) Path() string { return stringResult(requestPath, r.handle) }

// RawPath is the path exactly as the client sent it; no query.
func (r Request) RawPath() string { return stringResult(requestRawPath, r.handle) }

// Query is the query string without `?`, if the target had one.
func (r Request) Query() (string, bool) { return optionStringResult(requestQuery, r.handle) }

// SetPath replaces the path sent upstream.
func (r Request) SetPath(path string) error {
	var ret retArea
	requestSetPath(r.handle, path, ret.ptr())
	return editResult(&ret)
}

// SetQuery replaces the query sent upstream; nil removes it.
func (r Request) SetQuery(query *string) error {
	var ret retArea
	if query == nil {
		requestSetQuery(r.handle, 0, "", ret.ptr())
	} else {
		requestSetQuery(r.handle, 1, *query, ret.ptr())
	}
	return editResult(&ret)
}

// Header is the first value of a header (case-insensitive name), if present.
func (r Request) Header(name string) ([]byte, bool) {
	return headerResult(requestHeader, r.handle, name)
}

// HeaderAll is every value of a header, in order.
func (r Request) HeaderAll(name string) [][]byte {
	return headerAllResult(requestHeaderAll, r.handle, name)
}

// Headers is every header in order (copies the whole head: use only when you need all of it).
func (r Request) Headers() []Header { return headersResult(requestHeaders, r.handle) }

// SetHeader replaces every value of a header with one value.
func (r Request) SetHeader(name string, value []byte) error {
	return headerEdit(requestSetHeader, r.handle, name, value)
}

// AppendHeader adds a value after the existing ones.
func (r Request) AppendHeader(name string, value []byte) error {
	return headerEdit(requestAppendHeader, r.handle, name, value)
}

// RemoveHeader removes every value of a header (an absent header is not an error).
func (r Request) RemoveHeader(name string) { requestRemoveHeader(r.handle, name) }

// ClientAddr is the TCP peer as `ip:port`.
func (r Request) ClientAddr() string { return stringResult(requestClientAddr, r.handle) }

// IsTLS says whether the client connection used TLS.
func (r Request) IsTLS() bool { return requestIsTLS(r.handle) != 0 }

// RouterName is the name of the router that matched.
func (r Request) RouterName() string { return stringResult(requestRouterName, r.handle) }

// State is this middleware's per-request scratch, if set.
func (r Request) State() ([]byte, bool) {
	var ret retArea
	requestGetState(r.handle, ret.ptr())
	if ret.byte0() == 0 {
		return nil, false
	}
	return nonNil(bytesAt(ret[1], ret[2])), true
}

// SetState replaces this middleware's per-request scratch (at most 64 KiB).
func (r Request) SetState(value []byte) error {
	var ret retArea
	p, n := bytesPtr(value)
	requestSetState(r.handle, p, n, ret.ptr())
	return editResult(&ret)
}

// Status is the response's status code.
func (r Response) Status() uint16 { return uint16(responseStatus(r.handle)) }

// SetStatus replaces the status code (200..=599).
func (r Response) SetStatus(status uint16) error {
	var ret retArea
	responseSetStatus(r.handle, uint32(status), ret.ptr())
	return editResult(&ret)
}

// Header is the first value of a header (case-insensitive name), if present.
func (r Response) Header(name string) ([]byte, bool) {
	return headerResult(responseHeader, r.handle, name)
}

// HeaderAll is every value of a header, in order.
func (r Response) HeaderAll(name string) [][]byte {
	return headerAllResult(responseHeaderAll, r.handle, name)
}

// Headers is every header in order (copies the whole head).
func (r Response) Headers() []Header { return headersResult(responseHeaders, r.handle) }

// SetHeader replaces every value of a header with one value.
func (r Response) SetHeader(name string, value []byte) error {
	return headerEdit(responseSetHeader, r.handle, name, value)
}

// AppendHeader adds a value after the existing ones.
func (r Response) AppendHeader(name string, value []byte) error {
	return headerEdit(responseAppendHeader, r.handle, name, value)
}

// RemoveHeader removes every value of a header.
func (r Response) RemoveHeader(name string) { responseRemoveHeader(r.handle, name) }

// ---- lifting, shared by both heads ----

// nonNil makes a present but empty value distinguishable from an absent one.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// stringResult calls a `func() -> string` method: the string is at offset 0 (pointer, length).
func stringResult(call func(uint32, unsafe.Pointer), self uint32) string {
	var ret retArea
	call(self, ret.ptr())
	return stringAt(ret[0], ret[1])
}

// optionStringResult calls a `func() -> option<string>` method: tag at 0, string at 4.
func optionStringResult(call func(uint32, unsafe.Pointer), self uint32) (string, bool) {
	var ret retArea
	call(self, ret.ptr())
	if ret.byte0() == 0 {
		return "", false
	}
	return stringAt(ret[1], ret[2]), true
}

// headerResult calls `header(name) -> option<list<u8>>`: tag at 0, list at 4.
func headerResult(call func(uint32, string, unsafe.Pointer), self uint32, name string) ([]byte, bool) {
	var ret retArea
	call(self, name, ret.ptr())
	if ret.byte0() == 0 {
		return nil, false
	}
	return nonNil(bytesAt(ret[1], ret[2])), true
}

// headerAllResult calls `header-all(name) -> list<list<u8>>`: elements of 8 bytes.
func headerAllResult(call func(uint32, string, unsafe.Pointer), self uint32, name string) [][]byte {
	var ret retArea
	call(self, name, ret.ptr())
	n := ret[1]
	if n == 0 {
		return nil
	}
	elems := unsafe.Slice((*uint32)(addr(ret[0])), 2*n)
	values := make([][]byte, n)
	for i := range values {
		values[i] = nonNil(bytesAt(elems[2*i], elems[2*i+1]))
	}
	return values
}

// headersResult calls `headers() -> list<tuple<string, list<u8>>>`: elements of 16 bytes.
func headersResult(call func(uint32, unsafe.Pointer), self uint32) []Header {
	var ret retArea
	call(self, ret.ptr())
	n := ret[1]
	if n == 0 {
		return nil
	}
	elems := unsafe.Slice((*uint32)(addr(ret[0])), 4*n)
	headers := make([]Header, n)
	for i := range headers {
		e := elems[4*i : 4*i+4]
		headers[i] = Header{Name: stringAt(e[0], e[1]), Value: nonNil(bytesAt(e[2], e[3]))}
	}
	return headers
}

// headerEdit calls `set-header`/`append-header(name, value) -> result<_, edit-error>`.
func headerEdit(call func(uint32, string, unsafe.Pointer, uint32, unsafe.Pointer), self uint32, name string, value []byte) error {
	var ret retArea
	p, n := bytesPtr(value)
	call(self, name, p, n, ret.ptr())
	return editResult(&ret)
}

// editResult lifts `result<_, edit-error>`: tag at 0; the error's own tag at 4 and, for
// `invalid`, its string at 8.
func editResult(ret *retArea) error {
	if ret.byte0() == 0 {
		return nil
	}
	e := &EditError{Kind: EditErrorKind(ret[1] & 0xff)}
	if e.Kind == Invalid {
		e.Reason = stringAt(ret[2], ret[3])
	}
	return e
}

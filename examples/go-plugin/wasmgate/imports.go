// The contract's imports as the core module sees them: canonical ABI names and flattened
// signatures (a string or list<u8> argument is a pointer and a length; more than one flat result
// is written to the return area passed last). Generated-looking on purpose: each line follows
// from wit/plugin.wit alone. The linker drops the ones a plugin never calls, so the component
// imports only those.
package wasmgate

import "unsafe"

//go:wasmimport wasmgate:plugin/log@0.1.0 log
func importLog(level uint32, message string)

//go:wasmimport wasmgate:plugin/clock@0.1.0 monotonic-now
func importMonotonicNow() uint64

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.method
func requestMethod(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.scheme
func requestScheme(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.authority
func requestAuthority(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.path
func requestPath(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.raw-path
func requestRawPath(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.query
func requestQuery(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.set-path
func requestSetPath(self uint32, path string, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.set-query
func requestSetQuery(self uint32, isSome uint32, query string, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.header
func requestHeader(self uint32, name string, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.header-all
func requestHeaderAll(self uint32, name string, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.headers
func requestHeaders(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.set-header
func requestSetHeader(self uint32, name string, value unsafe.Pointer, valueLen uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.append-header
func requestAppendHeader(self uint32, name string, value unsafe.Pointer, valueLen uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.remove-header
func requestRemoveHeader(self uint32, name string)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.client-addr
func requestClientAddr(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.is-tls
func requestIsTLS(self uint32) uint32

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.router-name
func requestRouterName(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.get-state
func requestGetState(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]request.set-state
func requestSetState(self uint32, value unsafe.Pointer, valueLen uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [resource-drop]request
func requestDrop(self uint32)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.status
func responseStatus(self uint32) uint32

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.set-status
func responseSetStatus(self uint32, status uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.header
func responseHeader(self uint32, name string, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.header-all
func responseHeaderAll(self uint32, name string, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.headers
func responseHeaders(self uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.set-header
func responseSetHeader(self uint32, name string, value unsafe.Pointer, valueLen uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.append-header
func responseAppendHeader(self uint32, name string, value unsafe.Pointer, valueLen uint32, ret unsafe.Pointer)

//go:wasmimport wasmgate:plugin/http@0.1.0 [method]response.remove-header
func responseRemoveHeader(self uint32, name string)

//go:wasmimport wasmgate:plugin/http@0.1.0 [resource-drop]response
func responseDrop(self uint32)

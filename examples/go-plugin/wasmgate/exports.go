// The contract's `handler` exports: the host calls these; each hands the call to the Handler
// the plugin registered, lowers its answer into the return area and keeps what it points to
// until the post-return (`cabi_post_...`), when the host has copied it out.
package wasmgate

import "unsafe"

// Handler is what a plugin implements (the hooks of wit/plugin.wit's `handler` interface).
type Handler interface {
	// ValidateConfig checks the middleware's JSON config once, on a throw-away instance; an
	// error fails the config load with its text.
	ValidateConfig(config string) error
	// Init parses the config on every new instance, before its first hook call.
	Init(config string) error
	// OnRequest runs for every request routed through the middleware.
	OnRequest(req Request) Action
	// OnResponse runs with the response head, for requests whose OnRequest continued.
	OnResponse(req Request, resp Response) Action
}

// Reply is a complete response produced by the plugin.
type Reply struct {
	Status  uint16
	Headers []Header
	Body    []byte
}

// Action is what the gateway does after a hook: go on (Continue) or answer with Respond.
type Action struct{ respond *Reply }

// Continue goes on to the next middleware (or the upstream), with the edits made.
var Continue = Action{}

// Respond stops here and answers the client with reply.
func Respond(reply Reply) Action { return Action{respond: &reply} }

var handler Handler

// Register installs the plugin's hooks; call it from an `init` function of package main.
func Register(h Handler) { handler = h }

// out is the return area of an export: 24 bytes, the size of `action` (tag at 0; the reply's
// status at 4, headers at 8, body at 16).
var out [6]uint32

func outPtr() uint32 { return uint32(uintptr(unsafe.Pointer(&out))) }

//go:wasmexport wasmgate:plugin/handler@0.1.0#validate-config
func exportValidateConfig(p, n uint32) uint32 {
	return lowerResult(handler.ValidateConfig(stringAt(p, n)))
}

//go:wasmexport cabi_post_wasmgate:plugin/handler@0.1.0#validate-config
func postValidateConfig(uint32) { release() }

//go:wasmexport wasmgate:plugin/handler@0.1.0#init
func exportInit(p, n uint32) uint32 {
	// The config string lives in a block freed at post-return: keep a copy.
	return lowerResult(handler.Init(string(bytesAt(p, n))))
}

//go:wasmexport cabi_post_wasmgate:plugin/handler@0.1.0#init
func postInit(uint32) { release() }

//go:wasmexport wasmgate:plugin/handler@0.1.0#on-request
func exportOnRequest(req uint32) uint32 {
	action := handler.OnRequest(Request{req})
	// A borrowed handle must be dropped before the call returns (canonical ABI).
	requestDrop(req)
	return lowerAction(action)
}

//go:wasmexport cabi_post_wasmgate:plugin/handler@0.1.0#on-request
func postOnRequest(uint32) { release() }

//go:wasmexport wasmgate:plugin/handler@0.1.0#on-response
func exportOnResponse(req, resp uint32) uint32 {
	action := handler.OnResponse(Request{req}, Response{resp})
	responseDrop(resp)
	requestDrop(req)
	return lowerAction(action)
}

//go:wasmexport cabi_post_wasmgate:plugin/handler@0.1.0#on-response
func postOnResponse(uint32) { release() }

// lowerResult writes `result<_, string>`: tag at 0, the error text at 4.
func lowerResult(err error) uint32 {
	out = [6]uint32{}
	if err != nil {
		text := err.Error()
		keep = append(keep, text)
		out[0] = 1
		out[1], out[2] = stringPtr(text)
	}
	return outPtr()
}

// lowerAction writes `action`: `continue` is tag 0; `respond` tag 1 with the reply record.
func lowerAction(a Action) uint32 {
	out = [6]uint32{}
	if a.respond == nil {
		return outPtr()
	}
	r := a.respond
	keep = append(keep, r)
	out[0] = 1
	out[1] = uint32(r.Status)
	if len(r.Headers) > 0 {
		// list<tuple<string, list<u8>>>: 16 bytes per element.
		elems := make([]uint32, 4*len(r.Headers))
		for i, h := range r.Headers {
			elems[4*i], elems[4*i+1] = stringPtr(h.Name)
			p, n := bytesPtr(h.Value)
			elems[4*i+2], elems[4*i+3] = uint32(uintptr(p)), n
		}
		keep = append(keep, elems)
		out[2], out[3] = uint32(uintptr(unsafe.Pointer(&elems[0]))), uint32(len(r.Headers))
	}
	p, n := bytesPtr(r.Body)
	out[4], out[5] = uint32(uintptr(p)), n
	return outPtr()
}

// An API-key guard as a wasmgate plugin in Go (the same guard as examples/rust-plugin).
//
// Requests must carry one of the configured keys in a header (default `x-api-key`). A missing or
// wrong key is answered with 401 and a JSON body, and the upstream never sees the request. A good
// key is (by default) removed before forwarding, and the user it belongs to can be passed upstream
// in a header of your choice.
//
// Config (JSON, from the route's `plugin.config`):
//
//	{"header": "x-api-key", "keys": {"alice": "alice-secret-key"},
//	 "userHeader": "x-api-user", "stripKey": true}
//
// The contract is wit/plugin.wit (world `middleware`); package wasmgate binds it by hand for
// Go's own toolchain (GOOS=wasip1, -buildmode=c-shared, //go:wasmimport and //go:wasmexport).
package main

import (
	"crypto/subtle"
	"strconv"

	"wasmgate-plugin/wasmgate"
)

type guard struct {
	// Parsed once per instance by Init; in `pooled` isolation one instance serves many
	// requests (one at a time), so nothing per-request is kept here.
	config *config
}

func (g *guard) ValidateConfig(text string) error {
	_, err := parseConfig(text)
	return err
}

func (g *guard) Init(text string) error {
	c, err := parseConfig(text)
	g.config = c
	return err
}

func unauthorized(reason string) wasmgate.Action {
	return wasmgate.Respond(wasmgate.Reply{
		Status: 401,
		Headers: []wasmgate.Header{
			{Name: "content-type", Value: []byte("application/json")},
			{Name: "www-authenticate", Value: []byte("ApiKey")},
		},
		Body: []byte(`{"error":` + strconv.Quote(reason) + `}`),
	})
}

func (g *guard) OnRequest(req wasmgate.Request) wasmgate.Action {
	c := g.config
	presented, ok := req.Header(c.header)
	if !ok {
		return unauthorized("missing API key")
	}
	user := ""
	for _, k := range c.keys {
		// Time independent of where the first difference is.
		if subtle.ConstantTimeCompare(k.key, presented) == 1 {
			user = k.user
		}
	}
	if user == "" {
		wasmgate.Log(wasmgate.Info, "api-key: rejected a wrong key from "+req.ClientAddr())
		return unauthorized("invalid API key")
	}
	if c.stripKey {
		req.RemoveHeader(c.header)
	}
	if c.userHeader != "" {
		if err := req.SetHeader(c.userHeader, []byte(user)); err != nil {
			wasmgate.Log(wasmgate.Error, "api-key: cannot pass user "+strconv.Quote(user)+" upstream: "+err.Error())
			return wasmgate.Respond(wasmgate.Reply{Status: 500, Body: []byte("internal error\n")})
		}
	}
	return wasmgate.Continue
}

func (g *guard) OnResponse(wasmgate.Request, wasmgate.Response) wasmgate.Action {
	return wasmgate.Continue
}

func init() { wasmgate.Register(&guard{}) }

// main is never called: the module is a reactor (-buildmode=c-shared); the gateway calls the
// exports after the runtime's initialisation, which runs the init functions above.
func main() {}

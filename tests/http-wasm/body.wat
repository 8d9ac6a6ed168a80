;; Buffered bodies: enables buffer_request | buffer_response at start; reads the request body
;; 2 bytes at a time into x-body-seen and replaces it; prefixes the response body.
(module
  (import "http_handler" "enable_features" (func $enable_features (param i32) (result i32)))
  (import "http_handler" "read_body" (func $read_body (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "http_handler" "set_header_value" (func $set_header_value (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-body-seen")
  (data (i32.const 16) "rewritten-by-guest")
  (data (i32.const 48) "guest saw: ")
  (func (export "_initialize")
    (drop (call $enable_features (i32.const 3))))
  ;; Reads the whole body of $kind to $at in 2-byte reads; returns its length.
  (func $read_all (param $kind i32) (param $at i32) (result i32)
    (local $r i64) (local $n i32)
    (block $done
      (loop $more
        (local.set $r (call $read_body
          (local.get $kind) (i32.add (local.get $at) (local.get $n)) (i32.const 2)))
        (local.set $n (i32.add (local.get $n) (i32.wrap_i64 (local.get $r))))
        (br_if $done (i64.ne (i64.shr_u (local.get $r) (i64.const 32)) (i64.const 0)))
        (br $more)))
    (local.get $n))
  (func (export "handle_request") (result i64)
    (local $n i32)
    (local.set $n (call $read_all (i32.const 0) (i32.const 1024)))
    (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 11) (i32.const 1024) (local.get $n))
    (call $write_body (i32.const 0) (i32.const 16) (i32.const 18))
    (i64.const 1))
  (func (export "handle_response") (param i32 i32)
    (local $n i32)
    (local.set $n (call $read_all (i32.const 1) (i32.const 8192)))
    (call $write_body (i32.const 1) (i32.const 48) (i32.const 11))
    (call $write_body (i32.const 1) (i32.const 8192) (local.get $n)))
)

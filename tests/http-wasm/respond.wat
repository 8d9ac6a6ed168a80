;; With x-deny: answers itself (next = 0) with 403, a header and a body written in two calls.
(module
  (import "http_handler" "get_header_values"
    (func $get_header_values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value" (func $set_header_value (param i32 i32 i32 i32 i32)))
  (import "http_handler" "set_status_code" (func $set_status_code (param i32)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-deny")
  (data (i32.const 16) "content-type")
  (data (i32.const 32) "text/plain")
  (data (i32.const 48) "denied ")
  (data (i32.const 64) "by guest")
  (func (export "handle_request") (result i64)
    (if (i64.eqz (call $get_header_values
          (i32.const 0) (i32.const 0) (i32.const 6) (i32.const 0) (i32.const 0)))
      (then (return (i64.const 1))))
    (call $set_status_code (i32.const 403))
    (call $set_header_value (i32.const 1) (i32.const 16) (i32.const 12) (i32.const 32) (i32.const 10))
    (call $write_body (i32.const 1) (i32.const 48) (i32.const 7))
    (call $write_body (i32.const 1) (i32.const 64) (i32.const 8))
    (i64.const 0))
  (func (export "handle_response") (param i32 i32))
)

;; With x-fault: sets a request header whose value holds CR LF (a header-injection attempt). The
;; host refuses the edit like a component's (plugins::head_edits) and the call traps.
(module
  (import "http_handler" "get_header_values"
    (func $get_header_values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value" (func $set_header_value (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-fault")
  (data (i32.const 16) "x-injected")
  (data (i32.const 32) "a\0d\0aevil: 1")
  (func (export "handle_request") (result i64)
    (if (i64.ne (call $get_header_values
          (i32.const 0) (i32.const 0) (i32.const 7) (i32.const 0) (i32.const 0)) (i64.const 0))
      (then
        (call $set_header_value (i32.const 0) (i32.const 16) (i32.const 10) (i32.const 32) (i32.const 10))))
    (i64.const 1))
  (func (export "handle_response") (param i32 i32))
)

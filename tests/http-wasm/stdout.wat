;; Writes a line to stdout through WASI's fd_write on every request (the gateway logs it with the
;; middleware's name, rate-limited), and reads the clock and random bytes (both must work).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "http_handler" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "hello from guest\n")
  (data (i32.const 300) "clock or random failed")
  (func (export "handle_request") (result i64)
    ;; iovec { ptr 200, len 17 } at 100; bytes written at 108.
    (i32.store (i32.const 100) (i32.const 200))
    (i32.store (i32.const 104) (i32.const 17))
    (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))
    (if (i32.or
          (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 400))
          (call $random_get (i32.const 500) (i32.const 16)))
      (then (call $log (i32.const 2) (i32.const 300) (i32.const 22))))
    (i64.const 1))
  (func (export "handle_response") (param i32 i32))
)

;; Header edits both ways, config, URI, and the short-buffer rule (see README.md).
(module
  (import "http_handler" "get_config" (func $get_config (param i32 i32) (result i32)))
  (import "http_handler" "get_uri" (func $get_uri (param i32 i32) (result i32)))
  (import "http_handler" "get_header_values"
    (func $get_header_values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value" (func $set_header_value (param i32 i32 i32 i32 i32)))
  (import "http_handler" "remove_header" (func $remove_header (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-in")
  (data (i32.const 16) "x-echo")
  (data (i32.const 32) "x-config")
  (data (i32.const 48) "x-uri")
  (data (i32.const 64) "x-short-read")
  (data (i32.const 80) "ok")
  (data (i32.const 96) "x-upstream")
  (data (i32.const 112) "x-ctx")
  (data (i32.const 128) "x-from-guest")
  (data (i32.const 144) "bye")
  (data (i32.const 160) "x-request-hook")
  (data (i32.const 176) "ran")
  (func (export "handle_request") (result i64)
    (local $len i32) (local $cl i64)
    ;; The config, as the host hands it over, into x-config.
    (local.set $len (call $get_config (i32.const 1024) (i32.const 512)))
    (call $set_header_value (i32.const 0) (i32.const 32) (i32.const 8) (i32.const 1024) (local.get $len))
    ;; The URI: its length first (limit 0), then the value.
    (local.set $len (call $get_uri (i32.const 2048) (i32.const 0)))
    (drop (call $get_uri (i32.const 2048) (local.get $len)))
    (call $set_header_value (i32.const 0) (i32.const 48) (i32.const 5) (i32.const 2048) (local.get $len))
    ;; x-in with a 1-byte buffer: the length comes back, nothing is written (the sentinel stays).
    (i32.store8 (i32.const 3072) (i32.const 0xAA))
    (local.set $cl (call $get_header_values
      (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 3072) (i32.const 1)))
    (if (i64.ne (local.get $cl) (i64.const 0))
      (then
        (local.set $len (i32.wrap_i64 (local.get $cl)))
        (if (i32.and
              (i32.gt_u (local.get $len) (i32.const 1))
              (i32.eq (i32.load8_u (i32.const 3072)) (i32.const 0xAA)))
          (then
            (call $set_header_value (i32.const 0) (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 2))))
        (drop (call $get_header_values
          (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 3072) (local.get $len)))
        ;; One value: its bytes then a NUL.
        (call $set_header_value (i32.const 0) (i32.const 16) (i32.const 6)
          (i32.const 3072) (i32.sub (local.get $len) (i32.const 1)))))
    (call $set_header_value (i32.const 0) (i32.const 160) (i32.const 14) (i32.const 176) (i32.const 3))
    ;; req_ctx 7, next 1.
    (i64.or (i64.shl (i64.const 7) (i64.const 32)) (i64.const 1)))
  (func (export "handle_response") (param $ctx i32) (param $is_error i32)
    (i32.store8 (i32.const 3500) (i32.add (i32.const 48) (local.get $ctx)))
    (call $set_header_value (i32.const 1) (i32.const 112) (i32.const 5) (i32.const 3500) (i32.const 1))
    (call $set_header_value (i32.const 1) (i32.const 128) (i32.const 12) (i32.const 144) (i32.const 3))
    (call $remove_header (i32.const 1) (i32.const 96) (i32.const 10)))
)

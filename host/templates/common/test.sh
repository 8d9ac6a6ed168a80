#!/usr/bin/env bash
# Runs the gateway's conformance checks on the built plugin (`wasmgate plugin test`): the
# gateway's own engine and limits, validate-config with a good and with garbage configs, a
# battery of unusual requests through both hooks, in both isolation modes. Build first.
# WASMGATE names the gateway binary (default: `wasmgate` on PATH).
set -euo pipefail
cd "$(dirname "$0")"
"${WASMGATE:-wasmgate}" plugin test {{wasm}} \
  --config '{"keys": {"alice": "alice-secret-key"}, "userHeader": "x-api-user"}' \
  --header 'x-api-key: alice-secret-key' "$@"

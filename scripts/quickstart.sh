#!/usr/bin/env bash
# Builds wasmgate and the example plugin, starts the demo upstream on 127.0.0.1:9001 and the
# gateway on 127.0.0.1:8080 with examples/quickstart/wasmgate.yml. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The same build as the tests' (scripts/check-shared-build.sh keeps it so): after
# scripts/test.sh this takes a second, not a rebuild of wasmtime.
cargo build -p wasmgate
wasmgate="${CARGO_TARGET_DIR:-target}/debug/wasmgate"
# host/build.rs built every guest component; put the example plugin in the plugin directory.
mkdir -p examples/quickstart/plugins
cp target/wasm/wasm32-wasip2/plugin/example_rust_plugin.wasm examples/quickstart/plugins/api-key.wasm
"$wasmgate" check examples/quickstart/wasmgate.yml
"$wasmgate" demo-upstream --listen 127.0.0.1:9001 &
upstream=$!
trap 'kill $upstream 2>/dev/null || true' EXIT
cat <<'MSG'

Try it (see examples/quickstart/README.md for what you should see):
  curl -si -H 'x-api-key: demo-key-1' http://127.0.0.1:8080/hello
  curl -si http://127.0.0.1:8080/hello            # 401 from the api-key plugin
  curl -si http://127.0.0.1:8080/public/hello     # no key needed here

MSG
"$wasmgate" run examples/quickstart/wasmgate.yml

#!/usr/bin/env bash
# Builds the JavaScript, Python and Go guard examples (scripts/build-lang-plugin.sh, cached by
# content) and compiles them into the end-to-end suites' compiled-plugin cache
# (target/tmp/wasmgate-plugin-cache) with `wasmgate check`, before the suites run: a 12-18 MB
# engine component takes 30-80 s of both cores to compile in a debug build (Go's 2 MB, 9-12 s), and doing it while the
# suites' deadline and reload tests run makes those flaky. Run by scripts/test.sh; without it the
# language suite compiles them itself (niced), so it stays correct, only slower and noisier.
# A second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p wasmgate
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/plugins"
{
  printf 'entryPoints:\n  web:\n    address: "127.0.0.1:0"\nplugins:\n  directory: plugins\n'
  printf 'http:\n  services:\n    app: { loadBalancer: { servers: [{ url: "http://127.0.0.1:1" }] } }\n'
  printf '  middlewares:\n'
  for lang in js python go; do
    cp "$(bash scripts/build-lang-plugin.sh "$lang")" "$dir/plugins/guard-$lang.wasm"
    printf '    %s: { plugin: { name: guard-%s, config: { keys: { a: k } }, deadline: 2s } }\n' "$lang" "$lang"
  done
  printf '  routers:\n'
  for lang in js python go; do
    printf '    %s: { rule: "PathPrefix(`/%s`)", service: app, middlewares: [%s] }\n' "$lang" "$lang" "$lang"
  done
} > "$dir/gateway.yml"
WASMGATE_CACHE_DIR=target/tmp/wasmgate-plugin-cache target/debug/wasmgate check "$dir/gateway.yml" >/dev/null

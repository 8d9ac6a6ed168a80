#!/usr/bin/env bash
# Builds {{wasm}} from guard.c in about a second: C bindings generated from wit/plugin.wit, a
# wasm32-wasi core module compiled by clang against wasi-libc, then wrapped into a component.
# Tools: clang with wasm32 support and wasi-libc (Debian: clang lld wasi-libc
# libclang-rt-14-dev-wasm32), and wit-c ($WIT_C, else `wit-c` on PATH), the small program in the
# gateway's source tree: `cargo build --release --manifest-path <gateway source>/tools/wit-c/Cargo.toml`.
# With WASMGATE_BUILD_CACHE=DIR, unchanged sources are not rebuilt.
set -euo pipefail
cd "$(dirname "$0")"
source ./cached-build.sh
tool=${WIT_C:-wit-c}
sysroot=${WASI_SYSROOT:-/usr}
if ! command -v "$tool" >/dev/null; then
  echo "build.sh: wit-c not found ($tool): build tools/wit-c of the gateway's source tree, or set WIT_C" >&2
  exit 1
fi
build() {
  local gen
  gen=$(mktemp -d)
  "$tool" bindings wit middleware "$gen"
  clang --target=wasm32-wasi --sysroot="$sysroot" -O2 -Wall -Werror -mexec-model=reactor \
    -I"$gen" -o "$gen/core.wasm" guard.c "$gen/middleware.c" "$gen/middleware_component_type.o" >&2
  "$tool" component "$gen/core.wasm" "$1"
  rm -rf "$gen"
}
cached_build {{wasm}} "$(clang --version | head -1; sha256sum "$(command -v "$tool")")" guard.c wit/plugin.wit
echo {{wasm}}

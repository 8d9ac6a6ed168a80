#!/usr/bin/env bash
# Builds one non-Rust example plugin into a component, cached by content:
#   bash scripts/build-lang-plugin.sh js|python|c|go
# prints the path of target/lang-wasm/<lang>-<hash>.wasm, where <hash> covers the example's
# sources, wit/ and the tool's pinned version; an unchanged tree does not rebuild (a cache hit
# takes a few milliseconds, a build 10-20 s). The tools come from scripts/setup-lang-tools.sh
# (run by scripts/setup.sh); when they are missing this fails and says so.
# Used by the language suite (tests/e2e/languages.rs) and usable by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

lang=${1:?usage: build-lang-plugin.sh js|python|c|go}
tools=target/lang-tools
case $lang in
  js)
    src=examples/js-plugin
    stamp=$(ls "$tools"/js/.installed-* 2>/dev/null || true)
    tool=$tools/js/node_modules/.bin/componentize-js
    ;;
  python)
    src=examples/python-plugin
    stamp=$(ls "$tools"/py/.installed-* 2>/dev/null || true)
    tool=$tools/py/bin/componentize-py
    ;;
  c)
    src=examples/c-plugin
    tool=$tools/wit-c/debug/wit-c
    # The tool's sources and the compiler's version stand for "the tool version".
    stamp=$( { command -v clang >/dev/null && clang --version | head -1; cat tools/wit-c/Cargo.lock tools/wit-c/src/*.rs; } 2>/dev/null | sha256sum | cut -c1-16)
    [[ -d /usr/include/wasm32-wasi ]] || tool=/nonexistent
    ;;
  go)
    src=examples/go-plugin
    tool=$tools/wit-c/debug/wit-c
    # Go's version and wit-c's sources (the component step and its WASI adapter).
    stamp=$( { command -v go >/dev/null && go version; cat tools/wit-c/Cargo.lock tools/wit-c/src/*.rs; } 2>/dev/null | sha256sum | cut -c1-16)
    command -v go >/dev/null || tool=/nonexistent
    ;;
  *) echo "build-lang-plugin.sh: unknown language $lang (js, python, c or go)" >&2; exit 2 ;;
esac
if [[ -z $stamp || ! -x $tool ]]; then
  echo "build-lang-plugin.sh: the $lang plugin toolchain is not installed in $tools; run: bash scripts/setup.sh" >&2
  exit 1
fi

# Content hash: every source file of the example (not its README), the WIT, the tool version.
hash=$( { find "$src" wit -type f ! -name '*.md' ! -path '*/__pycache__/*' -print0 | sort -z |
          xargs -0 sha256sum; echo "$stamp"; } | sha256sum | cut -c1-16)
out=target/lang-wasm/$lang-$hash.wasm
if [[ -f $out ]]; then
  echo "$out"
  exit 0
fi
mkdir -p target/lang-wasm
tmp=$(mktemp "target/lang-wasm/.$lang-XXXXXX.wasm")
trap 'rm -f "$tmp"' EXIT
case $lang in
  js)
    # Every WASI feature disabled: the component imports only the contract (wit/plugin.wit).
    "$tool" "$src/guard.js" --wit wit --world-name middleware \
      --disable stdio random clocks http fetch-event --out "$tmp" >&2
    ;;
  python)
    # --stub-wasi: WASI imports become trapping stubs, so only the contract is imported.
    "$tool" -q -d wit -w middleware componentize -p "$src" --stub-wasi app -o "$tmp" >&2
    ;;
  c)
    # Bindings from wit/ (wit-bindgen's C generator), a wasm32-wasi core module with Debian's
    # clang and wasi-libc, then the component (wit-component reads the world from the custom
    # section the generated _component_type.o puts in the module).
    gen=$(mktemp -d)
    trap 'rm -f "$tmp"; rm -rf "$gen"' EXIT
    "$tool" bindings wit middleware "$gen"
    clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Werror -mexec-model=reactor -I"$gen" \
      -o "$gen/core.wasm" "$src/guard.c" "$gen/middleware.c" "$gen/middleware_component_type.o" >&2
    "$tool" component "$gen/core.wasm" "$tmp"
    ;;
  go)
    # Go's own toolchain (>= 1.24: //go:wasmexport) builds a wasip1 reactor core module with the
    # hand-written binding (examples/go-plugin/wasmgate); wit-c embeds the `middleware` world
    # and adds the WASI preview-1 adapter. ~20 s with Go's build cache cold (the standard library
    # for wasip1), ~2 s warm. No -trimpath: the same flags as host/build.rs's Go http-wasm guest,
    # so the two share the compiled standard library (a fresh machine builds it once).
    gen=$(mktemp -d)
    trap 'rm -f "$tmp"; rm -rf "$gen"' EXIT
    (cd "$src" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$gen/core.wasm" .) >&2
    "$tool" component "$gen/core.wasm" "$tmp" wit middleware
    ;;
esac
chmod 644 "$tmp"
mv "$tmp" "$out"
[[ -n ${gen:-} ]] && rm -rf "$gen"
trap - EXIT
echo "$out"

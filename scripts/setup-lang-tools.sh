#!/usr/bin/env bash
# The tools that build the JavaScript, Python and C example plugins (examples/js-plugin,
# examples/python-plugin, examples/c-plugin), installed into the project's own target/lang-tools/
# with pinned versions, so the language suite (tests/e2e/languages.rs) builds them from source:
#   target/lang-tools/js/     npm prefix with @bytecodealliance/componentize-js
#   target/lang-tools/py/     a Python venv with componentize-py
#   target/lang-tools/wit-c/  tools/wit-c built (C bindings from wit/, core module -> component;
#                             also the Go example's component step, examples/go-plugin; Go itself
#                             comes from scripts/setup.sh)
#   Debian's clang, lld, wasi-libc and wasm32 compiler-rt (as root, through apt-get)
# Idempotent: a tool already at its pinned version is left alone (a second run takes well under a
# second). First run: ~25 s for npm, ~10 s for pip. Needs Node.js (>= 18, with npm) and Python 3
# (>= 3.10, with venv); on a Debian machine without them, as root, they are installed first.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPONENTIZE_JS_VERSION=0.23.0
COMPONENTIZE_PY_VERSION=0.25.1
TOOLS=target/lang-tools

apt_install() {
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
  local install=(env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends "$@")
  # A fresh machine may have no package lists yet: read them once, then try again.
  "${install[@]}" >/dev/null 2>&1 || { timeout 300 apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; }
}

mkdir -p "$TOOLS"

# JavaScript: componentize-js (SpiderMonkey as a component) under an npm prefix of our own.
js_stamp="$TOOLS/js/.installed-$COMPONENTIZE_JS_VERSION"
if [[ ! -f $js_stamp ]]; then
  command -v npm >/dev/null || apt_install nodejs npm ||
    { echo "setup: npm not found and could not be installed (needed for examples/js-plugin)" >&2; exit 1; }
  rm -rf "$TOOLS/js"
  npm install --prefix "$TOOLS/js" --no-audit --no-fund --loglevel=error \
    "@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION" >/dev/null
  touch "$js_stamp"
fi

# Python: componentize-py (CPython as a component) in a venv of our own.
py_stamp="$TOOLS/py/.installed-$COMPONENTIZE_PY_VERSION"
if [[ ! -f $py_stamp ]]; then
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3 python3-venv ||
    { echo "setup: python3 with venv not found and could not be installed (needed for examples/python-plugin)" >&2; exit 1; }
  rm -rf "$TOOLS/py"
  python3 -m venv "$TOOLS/py"
  "$TOOLS/py/bin/pip" install -q --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
  touch "$py_stamp"
fi

# C: Debian's clang + wasi-libc (headers and libc for wasm32-wasi) + compiler-rt builtins.
if ! command -v clang >/dev/null || [[ ! -d /usr/include/wasm32-wasi ]] ||
   ! ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
  apt_install clang lld wasi-libc libclang-rt-14-dev-wasm32 ||
    { echo "setup: clang, lld, wasi-libc, libclang-rt-14-dev-wasm32 could not be installed (needed for examples/c-plugin)" >&2; exit 1; }
fi
# tools/wit-c: the wit-bindgen-c and wit-component libraries behind a tiny CLI (its own lock file).
CARGO_TARGET_DIR="$TOOLS/wit-c" cargo build -q --locked --manifest-path tools/wit-c/Cargo.toml

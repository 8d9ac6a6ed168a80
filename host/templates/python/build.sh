#!/usr/bin/env bash
# Builds {{wasm}} from app.py with componentize-py (CPython as a component): about 10-60 s, an
# 18 MB component with 12 MiB of initial memory. The tool: $COMPONENTIZE_PY, else
# `componentize-py` on PATH (`pip install componentize-py==0.25.1`). --stub-wasi turns WASI
# imports into trapping stubs, so the component imports only the contract (wit/plugin.wit).
# With WASMGATE_BUILD_CACHE=DIR, unchanged sources are not rebuilt.
set -euo pipefail
cd "$(dirname "$0")"
source ./cached-build.sh
tool=${COMPONENTIZE_PY:-componentize-py}
if ! command -v "$tool" >/dev/null; then
  echo "build.sh: componentize-py not found ($tool): \`pip install componentize-py==0.25.1\`, or set COMPONENTIZE_PY" >&2
  exit 1
fi
build() {
  # Only app.py goes in: the sources are copied to a directory of their own.
  local src
  src=$(mktemp -d)
  cp app.py "$src/"
  "$tool" -q -d wit -w middleware componentize -p "$src" --stub-wasi app -o "$1" >&2
  rm -rf "$src"
}
cached_build {{wasm}} "$("$tool" --version)" app.py wit/plugin.wit
echo {{wasm}}

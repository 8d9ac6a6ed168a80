#!/usr/bin/env bash
# Builds {{wasm}} from guard.js with componentize-js (SpiderMonkey as a component, your module
# pre-initialised into it): about 15-60 s, a 12 MB component with 9 MiB of initial memory.
# The tool: $COMPONENTIZE_JS, else node_modules/.bin/componentize-js (`npm install` installs
# the version package.json pins). Every WASI feature is disabled, so the component imports only
# the contract (wit/plugin.wit). With WASMGATE_BUILD_CACHE=DIR, unchanged sources are not rebuilt.
set -euo pipefail
cd "$(dirname "$0")"
source ./cached-build.sh
tool=${COMPONENTIZE_JS:-node_modules/.bin/componentize-js}
if [[ ! -x $tool ]]; then
  echo "build.sh: componentize-js not found at $tool: run \`npm install\` here, or set COMPONENTIZE_JS" >&2
  exit 1
fi
build() {
  "$tool" guard.js --wit wit --world-name middleware \
    --disable stdio random clocks http fetch-event --out "$1" >&2
}
cached_build {{wasm}} "$(cat "$(dirname "$(realpath "$tool")")/../package.json" 2>/dev/null || realpath "$tool")" \
  guard.js wit/plugin.wit
echo {{wasm}}

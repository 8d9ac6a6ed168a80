# Content-cached builds, sourced by build.sh (written by `wasmgate plugin new`).
#
# With WASMGATE_BUILD_CACHE=DIR set, a build whose inputs (the files named, plus the tool's
# version) were built before is copied from DIR in milliseconds instead of rebuilt; unset, every
# run builds. Usage: cached_build OUT TOOL_STAMP INPUT_FILES... (calls `build OUT` on a miss).
cached_build() {
  local out=$1 stamp=$2
  shift 2
  if [[ -z ${WASMGATE_BUILD_CACHE:-} ]]; then
    build "$out"
    return
  fi
  local hash hit
  hash=$( { sha256sum "$@"; echo "$stamp"; } | sha256sum | cut -c1-16)
  hit="$WASMGATE_BUILD_CACHE/$(basename "$out" .wasm)-$hash.wasm"
  if [[ -f $hit ]]; then
    cp "$hit" "$out"
    echo "$out (from the build cache: $hit)" >&2
    return
  fi
  build "$out"
  mkdir -p "$WASMGATE_BUILD_CACHE"
  cp "$out" "$hit.$$" && mv "$hit.$$" "$hit"
}

#!/usr/bin/env bash
# Fuzzes wasmgate with libFuzzer (cargo-fuzz), installing cargo-fuzz first if it is missing.
#
#   bash scripts/fuzz.sh list                       # the targets: config path plugin_output rule
#   bash scripts/fuzz.sh <target> [seconds] [-- libFuzzer flags...]   # default 60 s, one job
#   bash scripts/fuzz.sh merge <target>             # stage what a run found that adds coverage
#
# A run reads the kept seeds (fuzz/corpus/<target>/, also replayed by `cargo test`, see
# tests/e2e/fuzz_corpus.rs) and writes what it discovers to fuzz/work/<target>/ (ignored by
# git); `merge` stages the small inputs that add coverage, to pick from. A crash stops the
# run and leaves the input in fuzz/artifacts/<target>/; replay it with
# `cargo +stable fuzz run -s none <target> fuzz/artifacts/<target>/crash-...`, and once fixed
# copy it into fuzz/corpus/<target>/ so the test suite keeps it fixed.
#
# Toolchain: stable with `--sanitizer none` by default. The code under test is safe Rust, so the
# fuzzer looks for panics and broken properties, which need no sanitizer; and host/build.rs
# builds the plugin components into the shared target/wasm with the calling toolchain, which
# must be the one the rest of the workspace uses. FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address
# gives ASan (needs `rustup target add --toolchain nightly wasm32-wasip2 wasm32-unknown-unknown`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

toolchain="${FUZZ_TOOLCHAIN:-stable}"
sanitizer="${FUZZ_SANITIZER:-none}"
if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
  cargo "+$toolchain" install --locked cargo-fuzz
fi
fuzz=(cargo "+$toolchain" fuzz)
build=(--sanitizer "$sanitizer" --codegen-units 16)

target="${1:-}"
case "$target" in
  list)
    "${fuzz[@]}" list
    ;;
  merge)
    # Runs the kept seeds, then adds (greedy set cover) the found inputs of at most 512 bytes
    # that cover something new, into a staging copy: pick from it, keep the corpus < ~200 files.
    name="${2:?usage: fuzz.sh merge <target>}"
    staging="fuzz/work/$name-merged"
    candidates="fuzz/work/$name-small"
    rm -rf "$staging" "$candidates"
    mkdir -p "$staging" "$candidates" "fuzz/work/$name"
    cp "fuzz/corpus/$name"/* "$staging"/
    find "fuzz/work/$name" -maxdepth 1 -type f -size -513c -exec cp {} "$candidates"/ \;
    "${fuzz[@]}" run "${build[@]}" "$name" "$staging" "$candidates" -- -merge=1 -set_cover_merge=1
    added=$(comm -13 <(ls "fuzz/corpus/$name" | sort) <(ls "$staging" | sort) | wc -l)
    echo "$added inputs add coverage: the new files in $staging (not in fuzz/corpus/$name)"
    ;;
  "" | -h | --help)
    sed -n '2,8p' "$0"
    exit 2
    ;;
  *)
    seconds="${2:-60}"
    shift $(($# < 2 ? $# : 2))
    [ "${1:-}" = "--" ] && shift
    mkdir -p "fuzz/work/$target"
    "${fuzz[@]}" run "${build[@]}" "$target" "fuzz/work/$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "$@"
    ;;
esac

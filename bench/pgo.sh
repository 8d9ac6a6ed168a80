#!/usr/bin/env bash
# Builds the gateway with profile-guided optimisation (PGO) and prints the binary's path:
#
#   1. an instrumented release build (`-Cprofile-generate`), in target/pgo-gen;
#   2. a training run of it on the bench's own scenarios (`ab.py`: a, hdr and b at 64
#      connections, the plain path, one plugin and three), each exit writing a `.profraw`;
#   3. the profiles merged (`llvm-profdata` from rustup's `llvm-tools` component);
#   4. the release build again with them (`-Cprofile-use`), in target/pgo-use.
#
# Both builds take their flags from `--config` on this command line only: the guest plugins
# (host/build.rs builds them with their own cargo into target/wasm) and target/release are not
# touched. About two release builds plus half a minute of training. The training's timings do not
# matter (PGO reads the counts), so a busy machine trains as well as a quiet one.
#
#   bash bench/pgo.sh                 # builds, prints target/pgo-use/release/wasmgate
#   bench/.venv/bin/python bench/harness/ab.py --before target/release/wasmgate \
#       --after target/pgo-use/release/wasmgate --scenarios a,hdr,b --rounds 6
#
# Measured in bench/README ("Profile-guided optimisation").
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
host="$(rustc -vV | sed -n 's/^host: //p')"
sysroot="$(rustc --print sysroot)"
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
  rustup component add llvm-tools
fi
bash bench/setup.sh
data="$repo/target/pgo-data"
rm -rf "$data"
mkdir -p "$data"

flags() {
  printf 'target.%s.rustflags=["%s"]' "$host" "$1"
}

echo "bench/pgo.sh: instrumented build (target/pgo-gen)"
CARGO_TARGET_DIR="$repo/target/pgo-gen" cargo build --release -p wasmgate \
  --config "$(flags "-Cprofile-generate=$data")"
# The bench upstream the training proxies to, from the ordinary release build.
cargo build --release -p wasmgate-bench-upstream

echo "bench/pgo.sh: training on scenarios a, hdr, b"
gen="$repo/target/pgo-gen/release/wasmgate"
env="LLVM_PROFILE_FILE=$data/wasmgate-%p-%m.profraw"
WASMGATE_BENCH_PROFILE=release bench/.venv/bin/python bench/harness/ab.py \
  --before "$gen" --after "$gen" --before-env "$env" --after-env "$env" \
  --scenarios a,hdr,b --conns 64 --rounds 1 --duration 4
shopt -s nullglob
raw=("$data"/*.profraw)
if ((${#raw[@]} == 0)); then
  echo "bench/pgo.sh: the training wrote no profile (did the gateway exit cleanly?)" >&2
  exit 1
fi
"$profdata" merge -o "$data/merged.profdata" "${raw[@]}"

echo "bench/pgo.sh: optimised build (target/pgo-use)"
CARGO_TARGET_DIR="$repo/target/pgo-use" cargo build --release -p wasmgate \
  --config "$(flags "-Cprofile-use=$data/merged.profdata")"
echo "$repo/target/pgo-use/release/wasmgate"

#!/usr/bin/env bash
# Builds the gateway with profile-guided optimisation (PGO) and prints the binary's path:
#
#   1. an instrumented release build (`-Cprofile-generate`), in target/pgo-gen;
#   2. a training run of it on the bench's own scenarios (`ab.py`, each exit writing a
#      `.profraw`): a, hdr and b (the plain path, one plugin, three) as measured, then every
#      scenario the harness has but the JavaScript guard (16 KiB bodies, a tripping rate limit,
#      no keep-alive, HTTPS kept alive and a handshake per request, raw TCP, the Rust guard)
#      with metrics and the JSON access log on (raw TCP and the guard without). Code the training never runs is what LLVM treats
#      as cold (optimised for size): a path left out is slower than in a plain release build;
#      the access log measured 27% more instructions when it was left out (bench/README);
#   3. the profiles merged (`llvm-profdata` from rustup's `llvm-tools` component);
#   4. the release build again with them (`-Cprofile-use`), in target/pgo-use.
#
# Both builds take their flags from `--config` on this command line only: the guest plugins
# (host/build.rs builds them with their own cargo into target/wasm) and target/release are not
# touched. About two release builds plus two minutes of training. The training's timings do not
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
WASMGATE_BENCH_PROFILE=release bench/.venv/bin/python bench/harness/ab.py \
  --before "$gen" --after "$gen" --before-env "$env" --after-env "$env" --observability both \
  --scenarios a,a16k,hdr,b,c,d,e,f --conns 64 --rounds 1 --duration 2
# Raw TCP has no HTTP entry point to serve metrics on; the guard's config has its own.
WASMGATE_BENCH_PROFILE=release bench/.venv/bin/python bench/harness/ab.py \
  --before "$gen" --after "$gen" --before-env "$env" --after-env "$env" \
  --scenarios g,guard-rs --conns 64 --rounds 1 --duration 2
shopt -s nullglob
raw=("$data"/*.profraw)
if ((${#raw[@]} == 0)); then
  echo "bench/pgo.sh: the training wrote no profile (did the gateway exit cleanly?)" >&2
  exit 1
fi
"$profdata" merge -o "$data/merged.profdata" "${raw[@]}"
# Named by its content: cargo does not watch the file a flag names, only the flag, so a new
# profile must change the flag for target/pgo-use to be rebuilt.
merged="$data/merged-$(sha256sum "$data/merged.profdata" | cut -c1-16).profdata"
mv "$data/merged.profdata" "$merged"

echo "bench/pgo.sh: optimised build (target/pgo-use)"
CARGO_TARGET_DIR="$repo/target/pgo-use" cargo build --release -p wasmgate \
  --config "$(flags "-Cprofile-use=$merged")"
echo "$repo/target/pgo-use/release/wasmgate"

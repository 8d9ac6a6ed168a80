#!/usr/bin/env bash
# The benchmark, in one command: wasmgate side by side with nginx, HAProxy and Caddy.
#
#   bash bench/run.sh            # full: 3 rounds, 11 scenarios, 16/64/256 connections (about an hour)
#   bash bench/run.sh --quick    # quick: 1 round, 64 connections, 1 s runs (about two minutes)
#   bash bench/run.sh --scenarios e,f,g --rounds 3 --duration 5 --conns 64   # HTTPS and TCP only
#   bash bench/run.sh --multicore [--workers 2 --rounds 5 ...]  # one gateway worker against N
#                                  (harness/multicore.py --help; wasmgate only)
#   bash bench/run.sh --pgo [...]  # the gateway built with profile-guided optimisation
#                                  (bench/pgo.sh: two release builds and a training run first)
#
# Further options (rounds, durations, a subset of scenarios or contenders) and the list of
# scenarios: --help. WASMGATE_BENCH_PROFILE=bench-fast builds and measures the bench-fast cargo
# profile (release without LTO) instead of release; WASMGATE_BENCH_PORT_OFFSET=N moves every port by N.
# Installs what it needs (bench/setup.sh), builds wasmgate and the bench upstream in release
# mode, then writes bench/results/<timestamp>.md + .png and latest.md + latest.png
# (quick mode: bench/results/quick/, not meant to be committed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
pgo=0
args=()
for arg in "$@"; do
  if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
    exec python3 "$here/harness/main.py" --help
  elif [ "$arg" = "--pgo" ]; then
    pgo=1
  else
    args+=("$arg")
  fi
done
set -- "${args[@]}"
bash "$repo/scripts/setup.sh"
bash "$here/setup.sh"
# WASMGATE_BENCH_PROFILE=bench-fast: same-binary ratios without the fat-LTO build (Cargo.toml).
profile="${WASMGATE_BENCH_PROFILE:-release}"
(cd "$repo" && cargo build --profile "$profile" -p wasmgate -p wasmgate-bench-upstream)
cd "$repo"
if [ "$pgo" = 1 ]; then
  bash "$here/pgo.sh"
  export WASMGATE_BENCH_BINARY="$repo/target/pgo-use/release/wasmgate"
fi
if [ "${1:-}" = "--multicore" ]; then
  shift
  exec "$here/.venv/bin/python" "$here/harness/multicore.py" "$@"
fi
shown="bash bench/run.sh"
[ "$pgo" = 1 ] && shown+=" --pgo"
exec "$here/.venv/bin/python" "$here/harness/main.py" --command-line "$shown $*" "$@"

#!/usr/bin/env bash
# Installs what bench/profile.sh and bench/kprofile.sh need, when missing; idempotent. Sourced by
# them (it puts inferno on PATH), or run on its own:
#   Debian: linux-perf (perf), strace;
#   Rust crates: inferno (`inferno-collapse-perf`, `inferno-flamegraph`), built once with
#   `cargo install --locked` into target/bench-tools (a few minutes the first time, nothing after).
set -euo pipefail
profile_tools_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

profile_tools_apt=()
command -v perf >/dev/null 2>&1 || profile_tools_apt+=(linux-perf)
command -v strace >/dev/null 2>&1 || profile_tools_apt+=(strace)
if [ "${#profile_tools_apt[@]}" -gt 0 ]; then
  profile_tools_sudo=""
  [ "$(id -u)" -eq 0 ] || profile_tools_sudo="sudo"
  echo "bench/profile-tools.sh: apt-get install ${profile_tools_apt[*]}" >&2
  $profile_tools_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $profile_tools_sudo apt-get install -y -qq --no-install-recommends \
    "${profile_tools_apt[@]}"
fi

profile_tools_root="$profile_tools_repo/target/bench-tools"
export PATH="$profile_tools_root/bin:$PATH"
if ! command -v inferno-flamegraph >/dev/null 2>&1; then
  echo "bench/profile-tools.sh: cargo install inferno into target/bench-tools" >&2
  cargo install --quiet --locked --root "$profile_tools_root" inferno
fi

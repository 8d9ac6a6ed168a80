#!/usr/bin/env bash
# What a transparent entrypoint adds per request and per connection, as a ratio against a
# normal entrypoint of the same gateway process, measured in the same run.
#
#   bash bench/transparent.sh              # release build, 5 s runs, 64 connections
#   PROFILE=bench-fast bash bench/transparent.sh   # release optimisation without LTO (minutes to build)
#   PROFILE=debug DURATION=3 bash bench/transparent.sh
#
# Inside a throwaway network namespace (root, `ip`, `iptables`, `wrk`: scripts/setup.sh and
# bench/setup.sh install them): one gateway with two entrypoints routing `/` to bench-upstream,
# `direct` (clients dial it) and `mesh` (`transparent: {}`; clients dial a service IP that
# iptables REDIRECTs to it: NAT, SO_ORIGINAL_DST, protocol detection). wrk runs with keep-alive
# (per-request cost: detection happens once per connection) and with `Connection: close` (a new
# connection per request: the per-connection cost shows). Prints requests/s, p50 and p99 latency and
# the gateway's CPU µs per request (from /proc; it depends far less on a noisy machine than
# requests/s do) of each, and mesh/direct ratios. Numbers, not assertions; the machine's load average is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-${WASMGATE_BENCH_PROFILE:-release}}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
for tool in ip iptables wrk; do
  command -v "$tool" >/dev/null || { echo "bench/transparent.sh: $tool is missing" >&2; exit 1; }
done
case $PROFILE in
  debug) flag=() ;;
  release) flag=(--release) ;;
  *) flag=(--profile "$PROFILE") ;;
esac
cargo build -q "${flag[@]}" -p wasmgate -p wasmgate-bench-upstream
bin=target/$PROFILE

ns=wg-bench-$$
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
in_ns ip link add v0 type veth peer name v1
in_ns ip addr add 10.200.0.1/24 dev v0
in_ns ip link set v0 up
in_ns ip link set v1 up
in_ns ip route add 10.96.0.0/16 via 10.200.0.2
in_ns iptables -t nat -A OUTPUT -p tcp -d 10.96.0.10 --dport 80 -j REDIRECT --to-ports 15001

cat >"$work/gateway.yml" <<'YAML'
entryPoints:
  direct: { address: "127.0.0.1:18000" }
  mesh: { address: "127.0.0.1:15001", transparent: {} }
http:
  routers:
    all: { rule: "PathPrefix(`/`)", service: up }
  services:
    up:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:9100" }]
YAML
# Started with `ip netns exec` itself (not the function: `$!` of a function is a subshell), which
# execs the program, so `$!` is the program's pid.
ip netns exec "$ns" "$bin/bench-upstream" --listen 127.0.0.1:9100 >"$work/upstream.log" 2>&1 &
pids+=($!)
RUST_LOG=warn ip netns exec "$ns" "$bin/wasmgate" run "$work/gateway.yml" >"$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  [[ $(grep -c "listening on" "$work/gateway.log" || true) -ge 2 ]] && break
  sleep 0.1
done
in_ns wrk -t1 -c8 -d1s http://127.0.0.1:18000/ >/dev/null   # warm-up, discarded
in_ns wrk -t1 -c8 -d1s http://10.96.0.10/ >/dev/null

gateway_pid=${pids[1]}
ticks=$(getconf CLK_TCK)
# The gateway's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$gateway_pid/stat"; }

# wrk's latency for percentile $1 (e.g. 50%, 99%) in ms, read from `--latency` output on stdin.
percentile_ms() {
  awk -v q="$1" '$1 == q {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}'
}

# Runs wrk; prints "requests/s p50_ms p99_ms gateway_cpu_us_per_request".
measure() {
  local out before after
  before=$(cpu_ticks)
  out=$(in_ns wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  after=$(cpu_ticks)
  local rps p50 p99 requests
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(percentile_ms 50% <<<"$out")
  p99=$(percentile_ms 99% <<<"$out")
  awk -v r="$rps" -v p="$p50" -v q="$p99" -v t=$((after - before)) -v hz="$ticks" -v n="$requests" \
    'BEGIN { printf "%s %s %s %.1f\n", r, p, q, t * 1e6 / hz / n }'
}

echo "profile $PROFILE, $CONNECTIONS connections, ${DURATION}s runs, $ROUNDS rounds (order alternates);" \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %6s %11s %8s %8s %8s %11s %8s %8s %8s %10s %10s %10s\n' scenario round "direct rps" \
  "p50 ms" "p99 ms" "cpu us" "mesh rps" "p50 ms" "p99 ms" "cpu us" "rps ratio" "p99 ratio" "cpu ratio"
for mode in keep-alive close; do
  headers=()
  [[ $mode == close ]] && headers=(-H "Connection: close")
  ratios=()
  for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then
      read -r d_rps d_p50 d_p99 d_cpu < <(measure "${headers[@]}" http://127.0.0.1:18000/)
      read -r m_rps m_p50 m_p99 m_cpu < <(measure "${headers[@]}" http://10.96.0.10/)
    else
      read -r m_rps m_p50 m_p99 m_cpu < <(measure "${headers[@]}" http://10.96.0.10/)
      read -r d_rps d_p50 d_p99 d_cpu < <(measure "${headers[@]}" http://127.0.0.1:18000/)
    fi
    line=$(awk -v s="$mode" -v r="$round" -v a="$d_rps" -v b="$d_p50" -v g="$d_p99" -v e="$d_cpu" \
      -v c="$m_rps" -v d="$m_p50" -v h="$m_p99" -v f="$m_cpu" 'BEGIN {
        printf "%-12s %6d %11.0f %8.2f %8.2f %8.1f %11.0f %8.2f %8.2f %8.1f %10.3f %10.3f %10.3f",
          s, r, a, b, g, e, c, d, h, f, c / a, h / g, f / e }')
    echo "$line"
    ratios+=("$(awk '{print $11, $12, $13}' <<<"$line")")
  done
  median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
  rps_median=$(printf '%s\n' "${ratios[@]}" | awk '{print $1}' | median)
  p99_median=$(printf '%s\n' "${ratios[@]}" | awk '{print $2}' | median)
  cpu_median=$(printf '%s\n' "${ratios[@]}" | awk '{print $3}' | median)
  echo "$mode: median mesh/direct ratios: requests/s $rps_median, p99 $p99_median, gateway CPU per request $cpu_median"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

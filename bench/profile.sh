#!/usr/bin/env bash
# Where wasmgate's CPU time goes on one scenario: perf samples of the release gateway (one
# worker, pinned to core 0) under wrk (core 1, with the bench upstream), folded into a flame
# graph and a flat list of the hottest functions.
#
#   bash bench/profile.sh a   [binary] [seconds] [conns]   # plain proxy, 1 KiB
#   bash bench/profile.sh hdr [binary] [seconds] [conns]   # one `headers` plugin (a response header)
#   bash bench/profile.sh log [binary] [seconds] [conns]   # plain proxy + metrics + JSON access log to a file
#   bash bench/profile.sh b   [binary] [seconds] [conns]   # rateLimit (not tripping) + basicAuth + headers
#
# `conns`: wrk's connections (64 unless given; the flat list's name gets `-c<conns>` otherwise).
#
# Writes bench/results/profile-<scenario>-<timestamp>.svg and .txt (the flat list), keeps
# perf.data under target/bench/. Needs perf (Debian `linux-perf`) and inferno, which
# `bench/setup.sh --profiling` installs when missing; call graphs come from DWARF (the release profile
# keeps line tables, not frame pointers), so perf copies 16 KiB of stack per sample: sampling is
# kept at 499 Hz, which costs the gateway a few percent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
scenario="${1:?scenario: a or hdr}"
binary="${2:-$repo/target/release/wasmgate}"
seconds="${3:-8}"
conns="${4:-64}"
# The bench upstream beside the binary, else the one of the bench profile's build.
upstream="$(dirname "$binary")/bench-upstream"
[[ -x $upstream ]] || upstream="$repo/target/${WASMGATE_BENCH_PROFILE:-release}/bench-upstream"
[[ -x $upstream ]] || { echo "bench-upstream missing: build it (cargo build --profile ${WASMGATE_BENCH_PROFILE:-release} -p wasmgate-bench-upstream)" >&2; exit 1; }
# perf and inferno, installed when missing.
bash "$here/setup.sh" --profiling >&2
PATH="$repo/target/bench-tools/bin:$PATH"

stamp="$(date -u +%Y%m%d-%H%M%S)"
# Ports as the harness picks them (`WASMGATE_BENCH_PORT_OFFSET` moves both, for a second benchmark
# on the machine).
offset="${WASMGATE_BENCH_PORT_OFFSET:-0}"
gw_port=$((8304 + offset))
up_port=$((9100 + offset))
name="profile-$scenario-$stamp"
[[ $conns == 64 ]] || name="profile-$scenario-c$conns-$stamp"
work="$repo/target/bench/$name"
mkdir -p "$work"
case "$scenario" in
  a|log) middlewares="" ; defs=" {}" ;;
  hdr) middlewares="hdr" ; defs=$'\n    hdr:\n      headers: { customResponseHeaders: { X-Bench-Proxy: "wasmgate" } }' ;;
  # As the harness's scenario b (bench/harness/plan.py): user bench, password bench.
  b) middlewares="limit, auth, hdr"
     defs=$'\n    limit:\n      rateLimit: { average: 1000000, burst: 1000000, period: 1s }'
     defs+=$'\n    auth:\n      basicAuth: { users: ["bench:{SHA}CTzbBkUWDmH8bDSU98Oh4qU5yjo="] }'
     defs+=$'\n    hdr:\n      headers: { customResponseHeaders: { X-Bench-Proxy: "wasmgate" } }' ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
# wrk's (and the readiness check's) headers: scenario b needs the bench user's credentials.
auth=()
[[ $scenario == b ]] && auth=(-H "Authorization: Basic YmVuY2g6YmVuY2gtc2VjcmV0")
observability=""
if [ "$scenario" = log ]; then
  # What issue 15's cost check turns on (bench/harness/ab.py --observability).
  observability="metrics: { prometheus: { entryPoint: web, addRoutersLabels: true } }
accessLog: { filePath: \"$work/logs/access.json\", format: json }"
  # Outside the config file's directory, as ab.py keeps it (the file provider watches that one).
  mkdir -p "$work/logs"
fi
cat > "$work/config.yml" <<YAML
entryPoints:
  web: { address: "127.0.0.1:$gw_port" }
log: { level: warn }
$observability
http:
  routers:
    bench: { rule: "PathPrefix(\`/\`)", service: up, middlewares: [$middlewares] }
  services:
    up:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:$up_port" }]
        serversTransport: pool
  serversTransports:
    pool: { maxIdleConnsPerHost: 512 }
  middlewares:$defs
YAML

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
taskset -c 1 "$upstream" --listen 127.0.0.1:$up_port > "$work/upstream.log" 2>&1 &
pids+=($!)
WASMGATE_WORKER_THREADS=1 WASMGATE_CACHE_DIR="$work/cache" RUST_LOG=warn \
  taskset -c 0 "$binary" run "$work/config.yml" > "$work/gateway.log" 2>&1 &
gw=$!
pids+=($gw)
ready=0
for _ in $(seq 100); do
  curl -fsS -o /dev/null "${auth[@]}" http://127.0.0.1:$gw_port/ 2>/dev/null && { ready=1; break; }
  sleep 0.2
done
# A profile of an error path (no upstream, another benchmark on the ports) is worse than none.
[[ $ready == 1 ]] || { echo "profile.sh: no 200 through the gateway; see $work/*.log" >&2; exit 1; }
taskset -c 1 wrk -t1 -c"$conns" -d2s "${auth[@]}" http://127.0.0.1:$gw_port/ > /dev/null
taskset -c 1 wrk -t1 -c"$conns" -d"$((seconds + 2))s" --latency "${auth[@]}" http://127.0.0.1:$gw_port/ > "$work/wrk.txt" &
wrk_pid=$!
sleep 1
# WASMGATE_PROFILE_FLAT=1: no call graphs, 2999 Hz (self time only, but ~6x the samples and
# less overhead), for comparing two scenarios' flat lists.
if [[ ${WASMGATE_PROFILE_FLAT:-0} == 1 ]]; then
  record=(-F 2999)
else
  record=(-F 499 --call-graph dwarf,16384)
fi
perf record "${record[@]}" -p "$gw" -o "$work/perf.data" -- sleep "$seconds" 2> "$work/perf-record.log"
wait "$wrk_pid"
if grep -q "Non-2xx" "$work/wrk.txt"; then
  echo "profile.sh: some responses were not 2xx (see $work/wrk.txt); not writing a profile" >&2
  exit 1
fi
out="$here/results/$name"
# --no-inline: addr2line hangs on the compiled plugin artifacts (.cwasm) perf finds in the stacks.
perf script --no-inline -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf > "$work/folded.txt"
inferno-flamegraph --title "wasmgate, scenario $scenario, $conns connections, one worker ($stamp UTC)" \
  < "$work/folded.txt" > "$out.svg"
{
  echo "# wasmgate, scenario $scenario, $conns connections, $stamp UTC; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  grep -E "Requests/sec|requests in" "$work/wrk.txt"
  echo "# self time by function (perf report --no-children), top 60"
  perf report --no-inline -i "$work/perf.data" --no-children --sort symbol --stdio -g none --percent-limit 0.3 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | sed 's/  */ /g' | head -60 || true  # head closing the pipe early is no failure
} > "$out.txt"
echo "wrote $out.svg $out.txt"

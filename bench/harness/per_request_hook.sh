#!/bin/bash
# A per-request middleware with a response hook (the `counter` test fixture: both hooks, a
# snapshot-eligible Rust component) on one route, two gateway binaries side by side in
# interleaved rounds:
#
#   bash bench/harness/per_request_hook.sh OLD_BINARY NEW_BINARY [ROUNDS=4] [CONNECTIONS=64]
#
# The gateway on core 0 with one worker; the bench upstream (port 9100) and wrk on core 1;
# 2 s warm-up, 5 s measured; CPU µs per request from /proc/PID/stat. Needs a build of the
# workspace (target/wasm/.../fixture_counter.wasm, target/bench-fast/bench-upstream) and wrk
# (bench/setup.sh). A one-off kept for the measurement in bench/README ("Per-request
# instances with a response hook").
set -u
OLD=$1; NEW=$2; ROUNDS=${3:-4}; C=${4:-64}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d); mkdir -p $W/plugins
cp "$REPO/target/wasm/wasm32-wasip2/plugin/fixture_counter.wasm" $W/plugins/counter.wasm
pkill -f "bench-upstream --listen 127.0.0.1:9100" ; sleep 0.3
taskset -c 1 "$REPO/target/bench-fast/bench-upstream" --listen 127.0.0.1:9100 > $W/up.log 2>&1 &
UP=$!; sleep 0.5
cat > $W/cfg.yml <<YML
entryPoints:
  web: { address: "127.0.0.1:8399" }
log: { level: warn }
plugins: { directory: "$W/plugins" }
http:
  routers:
    r: { rule: "PathPrefix(\`/\`)", service: up, middlewares: [count] }
  middlewares:
    count:
      plugin: { name: counter, isolation: per-request }
  services:
    up:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:9100" }]
        serversTransport: pool
  serversTransports:
    pool: { maxIdleConnsPerHost: 512 }
YML
tick=$(getconf CLK_TCK)
for r in $(seq 1 $ROUNDS); do
  for side in old new; do
    bin=$OLD; [ $side = new ] && bin=$NEW
    WASMGATE_WORKER_THREADS=1 taskset -c 0 $bin run $W/cfg.yml > $W/gw-$side.log 2>&1 &
    GW=$!
    for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:8399/ && break; sleep 0.05; done
    taskset -c 1 wrk -t1 -c$C -d2s http://127.0.0.1:8399/ > /dev/null
    read u0 s0 < <(awk '{print $14, $15}' /proc/$GW/stat)
    out=$(taskset -c 1 wrk -t1 -c$C -d5s --latency http://127.0.0.1:8399/)
    read u1 s1 < <(awk '{print $14, $15}' /proc/$GW/stat)
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    python3 -c "
u=($u1-$u0)/$tick*1e6/$reqs; s=($s1-$s0)/$tick*1e6/$reqs
print(f'r$r $side: {$reqs/5:8.0f} req/s  CPU {u+s:5.1f} us/req ({u:.1f} user / {s:.1f} sys)  p99 $p99')"
    kill $GW; wait $GW 2>/dev/null
  done
done
kill $UP
rm -rf $W

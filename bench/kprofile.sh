#!/usr/bin/env bash
# Kernel side of the plain proxy (scenario a: 1 KiB, 64 connections, one worker on core 0, wrk and
# the bench upstream on core 1), wasmgate or nginx under the same load, the kernel included:
#
#   bash bench/kprofile.sh wasmgate [binary] [seconds]
#   bash bench/kprofile.sh nginx    [-]      [seconds]
#
# Three windows of `seconds` under wrk, each after a 2 s warm-up, the observer attached first:
#   1. `perf record -e cpu-clock -g` on the proxy's process (nginx: its worker), plus its user and
#      system CPU from /proc: perf report by dso,sym and by sym (kernel included);
#   2. `perf stat -e context-switches,cpu-migrations,page-faults,...` on the same process;
#   3. `strace -c -f` (slows the proxy a lot: its counts are read per request served in that window).
# KPROFILE_ENV="K=V ...": extra environment for wasmgate; KPROFILE_ONLY=stat: the second window only.
# Writes bench/results/kprofile-<who>-<timestamp>.txt (the three summaries, per request), keeps
# perf.data under target/bench/. Wrap the call in `flock /tmp/wasmgate-bench.lock`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
who="${1:?wasmgate or nginx}"
binary="${2:--}"
[[ $binary == - ]] && binary="$repo/target/${WASMGATE_BENCH_PROFILE:-release}/wasmgate"
seconds="${3:-6}"
upstream="$repo/target/${WASMGATE_BENCH_PROFILE:-release}/bench-upstream"
[[ -x $upstream ]] || { echo "bench-upstream missing" >&2; exit 1; }
# perf and strace, installed when missing.
bash "$here/setup.sh" --profiling >&2
stamp="$(date -u +%Y%m%d-%H%M%S)"
offset="${WASMGATE_BENCH_PORT_OFFSET:-0}"
gw_port=$((8304 + offset))
up_port=$((9100 + offset))
work="$repo/target/bench/kprofile-$who-$stamp"
mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
taskset -c 1 "$upstream" --listen 127.0.0.1:$up_port > "$work/upstream.log" 2>&1 &
up_pid=$!
pids+=($up_pid)
case "$who" in
  wasmgate)
    cat > "$work/config.yml" <<YAML
entryPoints:
  web: { address: "127.0.0.1:$gw_port" }
log: { level: warn }
http:
  routers:
    bench: { rule: "PathPrefix(\`/\`)", service: up }
  services:
    up:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:$up_port" }]
        serversTransport: pool
  serversTransports:
    pool: { maxIdleConnsPerHost: 512 }
YAML
    env WASMGATE_WORKER_THREADS=1 WASMGATE_CACHE_DIR="$work/cache" RUST_LOG=warn ${KPROFILE_ENV:-} \
      taskset -c 0 "$binary" run "$work/config.yml" > "$work/gateway.log" 2>&1 &
    target=$!
    pids+=($target)
    ;;
  nginx)
    # As bench/harness/proxies/nginx.py writes it for scenario a.
    mkdir -p "$work/tmp"
    cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $work/tmp/cb;
    proxy_temp_path $work/tmp/p;
    fastcgi_temp_path $work/tmp/f;
    uwsgi_temp_path $work/tmp/u;
    scgi_temp_path $work/tmp/s;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    upstream backend {
        server 127.0.0.1:$up_port;
        keepalive 512;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }
    server {
        listen 127.0.0.1:$gw_port backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
NGINX
    taskset -c 0 nginx -e "$work/error.log" -c "$work/nginx.conf" > "$work/nginx.out" 2>&1 &
    master=$!
    pids+=($master)
    ;;
  *) echo "unknown contender $who" >&2; exit 2 ;;
esac
ready=0
for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:$gw_port/ 2>/dev/null && { ready=1; break; }
  sleep 0.2
done
[[ $ready == 1 ]] || { echo "kprofile.sh: no 200 through $who; see $work" >&2; exit 1; }
if [[ $who == nginx ]]; then
  target="$(pgrep -P "$master" | head -1)"
fi
ticks="$(getconf CLK_TCK)"
cpu() { awk '{print $14, $15}' "/proc/$target/stat"; }
out="$here/results/kprofile-$who-$stamp.txt"
{
  what="$binary"
  [[ $who == nginx ]] && what="$(nginx -v 2>&1)"
  echo "# $who, scenario a (1 KiB, 64 connections), $stamp UTC; $what; load: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out"
# One window: the observer ($2...) attached first, then wrk for $seconds in the foreground, then the
# observer stopped (SIGINT): the requests in the window are exactly wrk's count.
window() {
  local label="$1"; shift
  taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:$gw_port/ > /dev/null
  "$@" &
  local obs=$!
  sleep 1
  local before after
  before="$(cpu)"
  # The peers' context switches in the same window: each voluntary one is a sleep in epoll_wait
  # that a write of the proxy's had to wake (a cross-core wake-up on the proxy's core).
  perf stat -e context-switches,cpu-migrations -p "$up_pid" -o "$work/upstream-$label-stat.txt" &
  local up_obs=$!
  perf stat -e context-switches -o "$work/wrk-$label-stat.txt" \
    taskset -c 1 wrk -t1 -c64 -d"${seconds}s" http://127.0.0.1:$gw_port/ > "$work/wrk-$label.txt"
  kill -INT "$up_obs" 2>/dev/null || true
  wait "$up_obs" || true
  after="$(cpu)"
  kill -INT "$obs" 2>/dev/null || true
  wait "$obs" || true
  local rps; rps="$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$label.txt")"
  reqs="$(awk '/requests in/ {print $1}' "$work/wrk-$label.txt")"
  read -r u0 s0 <<< "$before"; read -r u1 s1 <<< "$after"
  {
    echo
    echo "## $label: wrk $rps req/s, $reqs requests in the window"
    awk -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v n="$reqs" -v hz="$ticks" \
      'BEGIN {printf "cpu per request: user %.2f us, sys %.2f us, total %.2f us\n", u/hz/n*1e6, s/hz/n*1e6, (u+s)/hz/n*1e6}'
    for peer in wrk upstream; do
      awk -v n="$reqs" -v p="$peer" '$2 == "context-switches" {c=$1; gsub(",", "", c); printf "%s context switches: %.4f per request\n", p, c/n}' "$work/$peer-$label-stat.txt"
    done
  } >> "$out"
}
# KPROFILE_ONLY=stat: only the perf-stat window (CPU and context switches per request: quick).
if [[ ${KPROFILE_ONLY:-} != stat ]]; then
window perf perf record -e cpu-clock -F 4999 -g -p "$target" -o "$work/perf.data" 2> "$work/perf-record.log"
samples_reqs="$reqs"
fi
window stat perf stat -e context-switches,cpu-migrations,page-faults,minor-faults,major-faults -p "$target" -o "$work/perf-stat.txt"
{
  echo "### perf stat (per request = count / $reqs)"
  awk -v n="$reqs" '$1 ~ /^[0-9,]+$/ {c=$1; gsub(",", "", c); printf "%-20s %12s  %.4f per request\n", $2, $1, c/n}' "$work/perf-stat.txt"
} >> "$out"
if [[ ${KPROFILE_ONLY:-} == stat ]]; then echo "wrote $out"; exit 0; fi
window strace strace -c -f -p "$target" -o "$work/strace.txt"
{
  echo "### strace -c -f (calls per request = calls / $reqs)"
  awk -v n="$reqs" '$1 ~ /^[0-9.]+$/ && NF >= 5 {name=$NF; calls=$4; printf "%-16s %10s calls  %.3f per request\n", name, calls, calls/n}' "$work/strace.txt"
} >> "$out"
{
  echo
  echo "## perf report (window 1: $samples_reqs requests; 4999 Hz, so one sample = 200 us of CPU)"
  echo "### by dso"
  perf report -i "$work/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
  echo "### kernel symbols (percent of all the process's samples), top 60"
  perf report -i "$work/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep '\[k\]' | sed 's/  */ /g' | head -60
  echo "### user symbols, top 30"
  perf report -i "$work/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep '\[\.\]' | sed 's/  */ /g' | head -30
  echo "### inclusive (children) share of kernel entry points and groups"
  perf report -i "$work/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
    | grep -E '\] (__x64_sys_|do_syscall_64|entry_SYSCALL|syscall_exit|exit_to_user|net_rx_action|do_softirq|__do_softirq|handle_softirqs|__local_bh_enable_ip|tcp_sendmsg$|tcp_recvmsg$|tcp_v4_rcv|ep_poll|ep_send_events|schedule$|__schedule|finish_task_switch|sock_def_readable|__wake_up|try_to_wake_up|tcp_write_xmit|tcp_ack$|tcp_rcv_established|ip_finish_output2|__dev_queue_xmit|process_backlog|skb_release_data|kfree_skb|__alloc_skb|asm_exc_page_fault|do_user_addr_fault|__tcp_transmit_skb|tcp_data_queue|tcp_cleanup_rbuf|__tcp_ack_snd_check|tcp_send_ack|tcp_delack|inet_recvmsg|sock_recvmsg|__sys_recvfrom|__sys_sendto|do_writev|vfs_writev|_copy_to_iter|_copy_from_iter|skb_copy_datagram_iter|__skb_datagram_iter|mem_cgroup|__sk_mem|sk_forced_mem|tcp_rcv_space_adjust|tcp_mstamp_refresh|bbr_main|read_tsc|ktime_get)' \
    | sed 's/  */ /g' | head -80
  echo "### total samples"
  perf report -i "$work/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -m1 'Samples'
} >> "$out"
echo "wrote $out"

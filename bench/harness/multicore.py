"""The multi-core scenario: one wasmgate binary with one worker against the same binary with N
workers (`WASMGATE_WORKER_THREADS`), interleaved round by round, on the machine's cores.

    bench/.venv/bin/python bench/harness/multicore.py [--binary target/release/wasmgate]
        [--workers 2] [--models shared,per-core] [--scenarios a,hdr] [--conns 64,256] [--rounds 5] [--duration 5]
        [--one-cores 0] [--n-cores 0,1] [--load-cores 0,1] [--upstream-cores 0,1]

Each side is pinned to its own cores (`--one-cores` for the one-worker side, `--n-cores` for the
N-worker side); wrk (one thread per load core) and the bench upstream to theirs. On a machine with
as many cores as the sides and the load need, give them disjoint sets; on this 2-core machine the
load cannot have cores of its own once the gateway has two, so by default wrk and the upstream run
on both cores for both sides (the same placement on each side, so the comparison stays fair) and
the report gives, beside the requests/s ratio (what N workers gain here), the gateway's cores in
use and its CPU per request: `per-CPU-second ratio` = (requests per gateway CPU-second with N
workers) ÷ (with one). Where the load generator is not the limit, throughput with N workers is
N × one-worker throughput × that ratio (each worker as efficient as the single one); below 1 it
is the cost of running several workers (cross-core wake-ups, shared pools, cache traffic).
Prints every run and the medians; writes the raw runs to target/bench/multicore-<stamp>/.
"""

import argparse
import json
import shutil
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import machine
from main import BUILD_DIR, REPO, measure_one, start_upstream
from plan import SCENARIOS, UPSTREAM_PORT, mode
from process import get
from proxies import Wasmgate


class Workers(Wasmgate):
    """wasmgate with `workers` worker threads, pinned to `cores`."""

    def __init__(self, workdir: Path, binary: Path, workers: int, cores: str, model: str = "shared"):
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(workdir, binary)
        self.name = f"w{workers}" if model == "shared" else f"w{workers}{model[0]}"
        self.workers = workers
        self.cores = cores
        self.model = model

    def command(self, config: Path) -> tuple[list[str], dict[str, str]]:
        cmd, env = super().command(config)
        return cmd, env | {"WASMGATE_WORKER_THREADS": str(self.workers), "WASMGATE_WORKER_MODEL": self.model}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(BUILD_DIR / "wasmgate"))
    ap.add_argument("--workers", type=int, default=2, help="workers of the multi-worker side")
    ap.add_argument("--one-cores", default="0")
    ap.add_argument("--n-cores", default="0,1")
    ap.add_argument(
        "--models",
        default="shared",
        help="comma-separated WASMGATE_WORKER_MODEL of the N-worker sides: shared (one work-stealing runtime), per-core (a runtime and listeners per worker)",
    )
    ap.add_argument("--load-cores", default="0,1")
    ap.add_argument("--upstream-cores", default="0,1")
    ap.add_argument("--scenarios", default="a,hdr")
    ap.add_argument("--conns", default="64,256")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()

    m = mode(True)
    m.duration_s, m.warmup_s = args.duration, args.warmup
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    workdir = REPO / "target" / "bench" / f"multicore-{stamp}"
    (workdir / "bin").mkdir(parents=True)
    shutil.copy2(args.binary, workdir / "bin" / "wasmgate")
    shutil.copy2(BUILD_DIR / "bench-upstream", workdir / "bin" / "bench-upstream")
    binary = workdir / "bin" / "wasmgate"
    sides = [Workers(workdir / "w1", binary, 1, args.one_cores)] + [
        Workers(workdir / f"w{args.workers}-{model}", binary, args.workers, args.n_cores, model)
        for model in args.models.split(",")
    ]
    scenarios = [s for s in SCENARIOS if s.id in args.scenarios.split(",")]
    conns_list = [int(c) for c in args.conns.split(",")]
    load_before = machine.load_average()
    upstream = start_upstream(workdir / "bin" / "bench-upstream", workdir / "upstream.log", args.upstream_cores)
    if get(UPSTREAM_PORT, "/", {})[0] != 200:
        raise RuntimeError("bench-upstream does not answer 200")
    results = []
    began = time.monotonic()
    try:
        for rnd in range(args.rounds):
            order = sides if rnd % 2 == 0 else sides[::-1]
            for s in scenarios:
                for conns in conns_list:
                    for side in order:
                        r = measure_one(side, s, s.features(), conns, m, rnd == 0, args.load_cores)
                        if "error" in r:
                            raise RuntimeError(f"{side.name} {s.id}: {r['error']}")
                        r |= {"round": rnd, "scenario": s.id, "conns": conns, "proxy": side.name}
                        results.append(r)
                        print(
                            f"{time.monotonic() - began:5.0f}s r{rnd} {s.id:4} c={conns:<3} {side.name:4} "
                            f"{r['rps']:8.0f} req/s  CPU {r['cpu_us']:5.1f} µs/req "
                            f"({r['cpu_user_us']:.1f} user {r['cpu_sys_us']:.1f} sys)  gateway cores {r['busy']:.2f}  "
                            f"p50 {r['p50_us'] / 1000:.2f} p99 {r['p99_us'] / 1000:.2f} p99.9 {r['p999_us'] / 1000:.2f} ms",
                            flush=True,
                        )
    finally:
        upstream.terminate()
        upstream.wait()
    load_after = machine.load_average()
    (workdir / "results.json").write_text(json.dumps(results, indent=1))

    one = sides[0].name
    print(
        f"\nload average before {load_before}, after {load_after}; {args.rounds} rounds; cores: {one} {args.one_cores}, "
        f"N workers {args.n_cores}, wrk {args.load_cores}, upstream {args.upstream_cores}; raw: {workdir}"
    )
    for many in (side.name for side in sides[1:]):
        print(
            f"scenario conns | {one}: req/s, gateway cores, CPU µs/req, p99 ms | {many}: same | "
            f"{many}÷{one}: req/s, req per gateway CPU-s"
        )
        for s in scenarios:
            for conns in conns_list:
                runs = {
                    side.name: {r["round"]: r for r in results if r["scenario"] == s.id and r["conns"] == conns and r["proxy"] == side.name}
                    for side in sides
                }
                med = lambda name, k: statistics.median(r[k] for r in runs[name].values())  # noqa: E731
                ratio = lambda k, inv=False: statistics.median(  # noqa: E731
                    (runs[one][i][k] / runs[many][i][k]) if inv else (runs[many][i][k] / runs[one][i][k]) for i in runs[many]
                )
                cols = [
                    f"{med(n, 'rps'):7.0f} {med(n, 'busy'):4.2f} {med(n, 'cpu_us'):5.1f} {med(n, 'p99_us') / 1000:5.2f}"
                    for n in (one, many)
                ]
                print(f"{s.id:8} {conns:5} | {cols[0]} | {cols[1]} | {ratio('rps'):.3f} {ratio('cpu_us', inv=True):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
import shutil
from pathlib import Path

import interleave
from main import WASMGATE_BINARY
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
    ap.add_argument("--binary", default=str(WASMGATE_BINARY))
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
    interleave.add_run_args(ap, conns="64,256", duration=5)
    args = ap.parse_args()

    workdir = interleave.work_dir("multicore")
    shutil.copy2(args.binary, workdir / "bin" / "wasmgate")
    binary = workdir / "bin" / "wasmgate"
    sides = [Workers(workdir / "w1", binary, 1, args.one_cores)] + [
        Workers(workdir / f"w{args.workers}-{model}", binary, args.workers, args.n_cores, model)
        for model in args.models.split(",")
    ]
    done = interleave.run(
        sides,
        args,
        workdir,
        lambda r: f"gateway cores {r['busy']:.2f}  p50 {r['p50_us'] / 1000:.2f} p99 {r['p99_us'] / 1000:.2f} "
        f"p99.9 {r['p999_us'] / 1000:.2f} ms",
        name_width=4,
        load_cores=args.load_cores,
        upstream_cores=args.upstream_cores,
    )

    one = sides[0].name
    print(
        f"\nload average before {done.load_before}, after {done.load_after}; {args.rounds} rounds; cores: {one} {args.one_cores}, "
        f"N workers {args.n_cores}, wrk {args.load_cores}, upstream {args.upstream_cores}; raw: {workdir}"
    )
    for many in (side.name for side in sides[1:]):
        print(
            f"scenario conns | {one}: req/s, gateway cores, CPU µs/req, p99 ms | {many}: same | "
            f"{many}÷{one}: req/s, req per gateway CPU-s"
        )
        for s in done.scenarios:
            for conns in done.conns_list:
                med = lambda name, k: done.median(s.id, conns, name, k)  # noqa: E731
                cols = [
                    f"{med(n, 'rps'):7.0f} {med(n, 'busy'):4.2f} {med(n, 'cpu_us'):5.1f} {med(n, 'p99_us') / 1000:5.2f}"
                    for n in (one, many)
                ]
                rps = done.ratio(s.id, conns, many, one, "rps")
                per_cpu = done.ratio(s.id, conns, many, one, "cpu_us", inverse=True)
                print(f"{s.id:8} {conns:5} | {cols[0]} | {cols[1]} | {rps:.3f} {per_cpu:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

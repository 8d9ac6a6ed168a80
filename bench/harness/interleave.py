"""Interleaved runs of a few wasmgate sides, shared by `ab.py` (before/after) and `multicore.py`
(one worker against N): the run options, the work directory, the rounds (the sides' order
alternating each round, every run printed as it ends), and the medians and per-round ratios the
reports are made of. Runs off the request path; costs nothing but the runs themselves.
"""

import argparse
import json
import shutil
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import machine
from main import BUILD_DIR, LOAD_CORE, REPO, measure_one, start_upstream
from plan import SCENARIOS, UPSTREAM_PORT, mode
from process import get


def add_run_args(ap: argparse.ArgumentParser, conns: str, duration: int) -> None:
    """The options every interleaved run takes: which scenarios, connections, how many rounds
    and how long each run (and its discarded warm-up) lasts."""
    ap.add_argument("--scenarios", default="a,hdr")
    ap.add_argument("--conns", default=conns)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=duration)
    ap.add_argument("--warmup", type=int, default=1)


def work_dir(prefix: str) -> Path:
    """`target/bench/<prefix>-<UTC stamp>/bin`, with a private copy of the bench upstream (a
    rebuild during the run changes nothing); returns the stamped directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    workdir = REPO / "target" / "bench" / f"{prefix}-{stamp}"
    (workdir / "bin").mkdir(parents=True)
    shutil.copy2(BUILD_DIR / "bench-upstream", workdir / "bin" / "bench-upstream")
    return workdir


def logs_remover(sides: list) -> Callable[[], None]:
    """A `cleanup` for [`run`]: deletes every side's `logs` directory (an access log grows by
    ~1 GiB a side per run, a ~0.7-0.9 KiB line per request)."""

    def remove() -> None:
        for side in sides:
            shutil.rmtree(side.workdir / "logs", ignore_errors=True)

    return remove


class Interleaved:
    """What one interleaved run measured: the raw runs, the scenarios and connection counts,
    and the load average before and after."""

    def __init__(self, results: list[dict], scenarios: list, conns_list: list[int], load_before, load_after):
        self.results = results
        self.scenarios = scenarios
        self.conns_list = conns_list
        self.load_before = load_before
        self.load_after = load_after

    def runs(self, scenario: str, conns: int, side: str) -> dict[int, dict]:
        """`side`'s runs of `scenario` at `conns`, by round."""
        return {
            r["round"]: r
            for r in self.results
            if r["scenario"] == scenario and r["conns"] == conns and r["proxy"] == side
        }

    def median(self, scenario: str, conns: int, side: str, key: str) -> float:
        return statistics.median(r[key] for r in self.runs(scenario, conns, side).values())

    def ratio(self, scenario: str, conns: int, num: str, den: str, key: str, inverse: bool = False) -> float:
        """Median of the per-round ratios `num ÷ den` of `key` (`inverse`: `den ÷ num`, for costs
        such as CPU per request, so that above 1 means `num` does better)."""
        a, b = self.runs(scenario, conns, num), self.runs(scenario, conns, den)
        return statistics.median((b[i][key] / a[i][key]) if inverse else (a[i][key] / b[i][key]) for i in a)


def run(
    sides: list,
    args: argparse.Namespace,
    workdir: Path,
    describe: Callable[[dict], str],
    name_width: int,
    load_cores: str = str(LOAD_CORE),
    upstream_cores: str = str(LOAD_CORE),
    cleanup: Callable[[], None] = lambda: None,
) -> Interleaved:
    """Runs every scenario and connection count of `args` on every side, round by round, the
    sides' order alternating each round; prints each run (`describe` gives the run's own columns)
    and writes the raw runs to `workdir/results.json`. `cleanup` runs once the upstream is down,
    whatever happened; then the private binary copies (`workdir/bin`, ~400 MB) are deleted."""
    m = mode(True)
    m.duration_s, m.warmup_s = args.duration, args.warmup
    scenarios = [s for s in SCENARIOS if s.id in args.scenarios.split(",")]
    conns_list = [int(c) for c in args.conns.split(",")]
    load_before = machine.load_average()
    upstream = start_upstream(workdir / "bin" / "bench-upstream", workdir / "upstream.log", upstream_cores)
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
                        r = measure_one(side, s, s.features(), conns, m, rnd == 0, load_cores)
                        if "error" in r:
                            raise RuntimeError(f"{side.name} {s.id}: {r['error']}")
                        r |= {"round": rnd, "scenario": s.id, "conns": conns, "proxy": side.name}
                        results.append(r)
                        print(
                            f"{time.monotonic() - began:5.0f}s r{rnd} {s.id:4} c={conns:<3} {side.name:{name_width}} "
                            f"{r['rps']:8.0f} req/s  CPU {r['cpu_us']:5.1f} µs/req "
                            f"({r['cpu_user_us']:.1f} user {r['cpu_sys_us']:.1f} sys)  {describe(r)}",
                            flush=True,
                        )
    finally:
        upstream.terminate()
        upstream.wait()
        cleanup()
        shutil.rmtree(workdir / "bin", ignore_errors=True)
    load_after = machine.load_average()
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    return Interleaved(results, scenarios, conns_list, load_before, load_after)

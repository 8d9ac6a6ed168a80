"""Runs wrk on the load-generator core and reads its summary.

wrk prints a fixed text summary; this reads requests, duration, the latency percentiles of
`--latency` (p99.9 from `percentiles.lua`), non-2xx/3xx responses and socket errors from it.
"""

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from plan import LOAD_CORE

PERCENTILES_LUA = Path(__file__).resolve().parent / "percentiles.lua"
# POSTs N bytes (the argument after `--`) per request, for the upstream's /echo.
ECHO_LUA = Path(__file__).resolve().parent / "echo.lua"


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_us: float
    p99_us: float
    p999_us: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def command(
    url: str, conns: int, seconds: int, headers: list[str], echo_bytes: int = 0, cores: str = str(LOAD_CORE)
) -> list[str]:
    """wrk on the load core (or the `cores` list, one wrk thread per core); with `echo_bytes`,
    every request POSTs that many bytes."""
    script = ECHO_LUA if echo_bytes else PERCENTILES_LUA
    threads = len(cores.split(","))
    cmd = ["taskset", "-c", cores, "wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for h in headers:
        cmd += ["-H", h]
    return cmd + [url] + (["--", str(echo_bytes)] if echo_bytes else [])


def printable(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def _duration_us(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(out: str) -> WrkResult:
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),", out)
    if not m:
        raise ValueError(f"wrk printed no summary:\n{out}")
    requests = int(m.group(1))
    seconds = _duration_us(m.group(2) + m.group(3)) / 1e6
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)\s*$", out, re.M))
    extra = {float(k): float(v) for k, v in re.findall(r"^percentile ([\d.]+) (\d+)$", out, re.M)}
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=requests,
        seconds=seconds,
        p50_us=_duration_us(pct["50"]) if "50" in pct else float("nan"),
        p99_us=_duration_us(pct["99"]) if "99" in pct else float("nan"),
        p999_us=extra.get(99.9, float("nan")),
        non_2xx=int(non2.group(1)) if non2 else 0,
        socket_errors=sum(int(x) for x in errs.groups()) if errs else 0,
    )


def run(cmd: list[str]) -> WrkResult:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse(done.stdout)

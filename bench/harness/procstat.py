"""CPU time and peak memory of a proxy, read from /proc for its whole process tree.

CPU is user and kernel time (utime, stime of /proc/PID/stat, all threads included) summed over
the process and its descendants (nginx's master and worker); peak RSS is VmHWM summed the same
way. Reading costs a scan of /proc, done twice per measurement, outside the measured window.
"""

import os
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuTicks:
    user: int
    system: int


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields start after the last ')'.
    return text[text.rfind(")") + 2 :].split()


def tree(pid: int) -> list[int]:
    """The pid and all its descendants still alive."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                parent_of[int(entry)] = int(fields[1])
    out, frontier = [pid], [pid]
    while frontier:
        nxt = [c for c, p in parent_of.items() if p in frontier]
        out.extend(nxt)
        frontier = nxt
    return out


def cpu_ticks(pid: int) -> CpuTicks:
    user = system = 0
    for p in tree(pid):
        fields = _stat_fields(p)
        if fields:
            # Fields 14 and 15 of stat (1-based), i.e. 11 and 12 after the state field.
            user += int(fields[11])
            system += int(fields[12])
    return CpuTicks(user, system)


def peak_rss_kib(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


@dataclass
class CoreTimes:
    busy: int
    total: int


def core_times() -> dict[int, CoreTimes]:
    """Per-CPU jiffies from /proc/stat, every process on the machine included (other users of a
    shared machine show up here, not in the proxy's own figures)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                v = [int(x) for x in vals]
                idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
                total = sum(v[:8])  # user..steal; guest time is already inside user
                out[int(name[3:])] = CoreTimes(total - idle, total)
    return out


def busy_between(a: dict[int, CoreTimes], b: dict[int, CoreTimes], core: int) -> float:
    if core not in a or core not in b:
        return float("nan")
    total = b[core].total - a[core].total
    return (b[core].busy - a[core].busy) / total if total else float("nan")


def thread_runtime_ns(pid: int) -> dict[str, int]:
    """On-CPU time (ns, from /proc/PID/task/TID/schedstat) of each thread of `pid`, summed by
    thread name: how much of the process's CPU one thread (e.g. wasmgate's `access-log`
    writer) took, at nanosecond resolution. `<name>:user` and `<name>:sys` hold the same
    threads' user and kernel time from their `stat` (clock-tick resolution), in ns."""
    out: dict[str, int] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    tick_ns = 1_000_000_000 // CLK_TCK
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            fields = _stat_fields_path(f"/proc/{pid}/task/{tid}/stat")
        except (OSError, ValueError, IndexError):
            continue
        out[name] = out.get(name, 0) + ns
        if fields:
            out[f"{name}:user"] = out.get(f"{name}:user", 0) + int(fields[11]) * tick_ns
            out[f"{name}:sys"] = out.get(f"{name}:sys", 0) + int(fields[12]) * tick_ns
    return out


def _stat_fields_path(path: str) -> list[str] | None:
    with open(path) as f:
        text = f.read()
    return text[text.rfind(")") + 2 :].split()

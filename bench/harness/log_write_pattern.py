#!/usr/bin/env python3
"""The kernel's cost of the access-log writer's file writes, without the gateway: the writer's
write pattern replayed from one process, its system time per line read from `getrusage`. A
figure the request path's noise does not move (the gateway's own per-thread figures swing
±30% round to round on this VM); it measures the choices of `host/src/admin/access_log_file.rs`.

    bench/.venv/bin/python bench/harness/log_write_pattern.py [--dir target/bench] [--mib 600]
        [--round 175000] [--line 700] [--repeat 2] [--pause-ms 0]

Each round formats `--round` bytes in lines of `--line` bytes (175 000: 250 lines of 700 bytes,
one 5 ms round at 50 000 requests a second) and writes them as the writer does: whenever 64 KiB
are pending, and at the round's end; space reserved 8 MiB ahead (`fallocate` with
`FALLOC_FL_KEEP_SIZE`). Four patterns:
- `unaligned`: every write whole (the writer before its writes ended on 64 KiB boundaries);
- `aligned`: a write that reaches past a 64 KiB boundary of the file ends on the last one, the
  rest kept for the next write (`LogFile::write_to_boundary`);
- each again with the drop-behind (`sync_file_range` and `POSIX_FADV_DONTNEED` per 8 MiB,
  128 MiB behind the end), which only acts once the file is past 144 MiB.

Python's own user time is not in the figure; the file is deleted after each pattern.
"""

import argparse
import ctypes
import ctypes.util
import os
import resource
import time
from pathlib import Path

ALIGN = 64 << 10
RESERVE = 8 << 20
STEP = 8 << 20
KEEP = 128 << 20
FALLOC_FL_KEEP_SIZE = 1
SYNC_FILE_RANGE_WRITE = 2

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]


def system_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def replay(path: Path, total: int, round_bytes: int, line: int, aligned: bool, drop: bool, pause: float = 0.0) -> float:
    """Writes `total` bytes in the writer's pattern; the system time it took, in seconds."""
    data = memoryview(b"x" * (1 << 20))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    end = room = settled = 0

    def write(n: int) -> None:
        nonlocal end, room, settled
        if room < n:
            libc.fallocate(fd, FALLOC_FL_KEEP_SIZE, end, RESERVE)
            room = RESERVE
        os.write(fd, data[:n])
        end += n
        room -= n
        while drop and end >= settled + KEEP + 2 * STEP:
            libc.sync_file_range(fd, settled + STEP, STEP, SYNC_FILE_RANGE_WRITE)
            os.posix_fadvise(fd, settled, STEP, os.POSIX_FADV_DONTNEED)
            settled += STEP

    def flush(pending: int) -> int:
        """Writes `pending` bytes as the writer does; what it keeps for later."""
        past = (end + pending) % ALIGN
        if aligned and past < pending:
            write(pending - past)
            return past
        write(pending)
        return 0

    before = system_seconds()
    pending = 0
    per_round = max(1, round_bytes // line)
    while end < total:
        for _ in range(per_round):
            pending += line
            if pending >= ALIGN:
                pending = flush(pending)
        pending = flush(pending)
        if pause:
            time.sleep(pause)
    spent = system_seconds() - before
    os.close(fd)
    path.unlink()
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="target/bench", help="where the scratch file goes (the log's filesystem)")
    ap.add_argument("--mib", type=int, default=600, help="bytes written per pattern, in MiB")
    ap.add_argument("--round", type=int, default=175_000, help="bytes formatted per writer round")
    ap.add_argument("--line", type=int, default=700, help="bytes per line, to report per line")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--pause-ms", type=float, default=0, help="sleep after each round, as the writer does (5)")
    args = ap.parse_args()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"log-write-pattern-{os.getpid()}.bin"
    total = args.mib << 20
    lines = total / args.line
    for _ in range(args.repeat):
        for drop in (False, True):
            for aligned in (False, True):
                spent = replay(path, total, args.round, args.line, aligned, drop, args.pause_ms / 1000)
                name = ("aligned" if aligned else "unaligned") + (" + drop-behind" if drop else "")
                print(f"{name:26} {spent:6.3f} s system, {spent * 1e6 / lines:.3f} µs per {args.line}-byte line")


if __name__ == "__main__":
    main()

"""Inclusive share of samples whose stack contains a pattern, from inferno/flamegraph folded
stacks (`frame;frame;... count` per line): the numbers bench/README quotes from a profile.

    python3 bench/harness/folded_share.py target/bench/profile-a-*/folded.txt 'legacy::Client' 'malloc'
"""

import re
import sys


def shares(path: str, patterns: list[str]) -> dict[str, float]:
    total = 0
    hits = dict.fromkeys(patterns, 0)
    compiled = {p: re.compile(p) for p in patterns}
    with open(path, errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            for p, rx in compiled.items():
                if rx.search(stack):
                    hits[p] += n
    return {p: 100.0 * h / max(total, 1) for p, h in hits.items()}


if __name__ == "__main__":
    for pattern, share in shares(sys.argv[1], sys.argv[2:]).items():
        print(f"{share:5.1f}%  {pattern}")

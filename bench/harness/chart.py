"""The PNG: per connection count, requests/s (left) and the proxy's CPU µs per request (right)
per contender and scenario; bars are medians over rounds, whiskers min–max; a contender that
did not run a scenario shows "n/a", one that ran it without a part it lacks a "*"."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from plan import Scenario  # noqa: E402
from stats import metric  # noqa: E402

COLORS = {"wasmgate": "#d9480f", "nginx": "#2b8a3e", "haproxy": "#1c7ed6", "caddy": "#7048e8"}
LABEL = {"wasmgate": "wasmgate", "nginx": "nginx", "haproxy": "HAProxy", "caddy": "Caddy"}
SHORT = {
    "a": "a: plain\n1 KiB",
    "a16k": "a: plain\n16 KiB",
    "hdr": "b part:\nheader",
    "b": "b: header\n+auth+rate",
    "c": "c: rate\ntripping",
    "d": "d: no\nkeep-alive",
    "e": "e: HTTPS\nkeep-alive",
    "f": "f: TLS hand-\nshake/req",
    "g": "g: TCP\n16 KiB echo",
    "guard-rs": "guard\nRust",
    "guard-rs-pr": "guard Rust\nper-request",
    "guard-js": "guard\nJS",
}


def _panel(ax, info, results, scenarios, proxies, conns, key):
    width = 0.8 / len(proxies)
    for i, p in enumerate(proxies):
        xs, meds, lo, hi = [], [], [], []
        for j, s in enumerate(scenarios):
            x = j + (i - (len(proxies) - 1) / 2) * width
            r = metric(results, s.id, conns, p, key)
            if not r:
                ax.text(x, 0, " n/a", rotation=90, ha="center", va="bottom", fontsize=7, color=COLORS[p])
                continue
            xs.append(x)
            meds.append(r.med)
            lo.append(r.med - r.lo)
            hi.append(r.hi - r.med)
            plan = info["plans"].get(f"{s.id} {p}")
            if plan and plan["missing"]:
                ax.text(x, r.hi, "*", ha="center", va="bottom", fontsize=11, color=COLORS[p])
        ax.bar(xs, meds, width * 0.92, color=COLORS[p], label=LABEL[p], yerr=[lo, hi], capsize=2, ecolor="#444")
    ax.set_xticks(range(len(scenarios)), [SHORT.get(s.id, s.id) for s in scenarios], fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def draw(path: Path, info: dict, results: list[dict], scenarios: list[Scenario], proxies: list[str], conns_list: list[int]) -> None:
    rows = len(conns_list)
    fig, axes = plt.subplots(
        rows, 2, figsize=(15, 3.3 * rows + 1.1), squeeze=False, gridspec_kw={"width_ratios": [3, 2]}
    )
    for row, conns in enumerate(conns_list):
        rps, cpu = axes[row, 0], axes[row, 1]
        _panel(rps, info, results, scenarios, proxies, conns, "rps")
        rps.set_ylabel("requests/s")
        rps.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
        rps.set_title(f"{conns} connections: requests/s (higher is better)", fontsize=10, loc="left")
        _panel(cpu, info, results, scenarios, proxies, conns, "cpu_us")
        cpu.set_ylabel("µs of proxy CPU per request")
        cpu.set_title(f"{conns} connections: CPU per request (lower is better)", fontsize=10, loc="left")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    m = info["mode"]
    fig.suptitle(
        f"One proxy worker pinned to one core; wrk and the upstream on the other — {info['stamp']} UTC, "
        f"{m['name']} mode, {m['rounds']} round(s) × {m['duration_s']} s\n"
        f"{info['machine'].get('CPU', '?')}, {info['machine'].get('cores (online)')} cores. "
        "Bars: median; whiskers: min–max; * ran without a part it lacks; n/a: not run (see the table)",
        fontsize=10,
    )
    fig.legend(handles, labels, ncol=len(proxies), loc="upper center", bbox_to_anchor=(0.5, 1 - 0.55 / fig.get_figheight()), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.8 / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)

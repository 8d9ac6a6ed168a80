"""The results file: ratios first (they survive a noisy machine), then the medians behind them,
then the machine, versions and exact command lines. Also writes the chart beside it."""

import os
import shutil
from pathlib import Path

from plan import ECHO_BYTES, RATE_BURST, RATE_TRIPPING, TLS_GROUP, TLS_SUITE, Scenario
from stats import Spread, metric, ratio

US = "wasmgate"
OTHERS = ["nginx", "haproxy", "caddy"]
LABEL = {"wasmgate": "wasmgate", "nginx": "nginx", "haproxy": "HAProxy", "caddy": "Caddy"}


def _reasons(reasons) -> str:
    """Joins why-not reasons, merging "X plugin not built yet" ones into one phrase."""
    suffix = " plugin not built yet"
    plugins = [r.removesuffix(suffix) for r in reasons if r.endswith(suffix)]
    out = [r for r in reasons if not r.endswith(suffix)]
    if len(plugins) == 1:
        out.append(plugins[0] + suffix)
    elif plugins:
        out.append(", ".join(plugins[:-1]) + f" and {plugins[-1]} plugins not built yet")
    return "; ".join(out)


def _plan(info, scenario: str, proxy: str) -> dict | None:
    return info["plans"].get(f"{scenario} {proxy}")


def _why_not(info, results, scenario: str, proxy: str) -> str | None:
    """Why there is no full measurement of `proxy` doing `scenario`, or None."""
    plan = _plan(info, scenario, proxy)
    if plan is None:
        return "not in this run"
    if not plan["runs"]:
        return _reasons(plan["missing"].values())
    failed = info["failed"].get(f"{scenario} {proxy}")
    if failed:
        return f"failed: {failed}"
    return None


def _partial(info, scenario: str, proxy: str) -> str | None:
    plan = _plan(info, scenario, proxy)
    if plan and plan["runs"] and plan["missing"]:
        return _reasons(plan["missing"].values())
    return None


def _ratio_cell(info, results, s: str, conns: int, other: str, key: str, notes: list[str]) -> str:
    for who in (US, other):
        why = _why_not(info, results, s, who)
        if why:
            return f"n/a ({why})" if who == US else f"n/a ({LABEL[who]}: {why})"
    ours = _partial(info, s, US)
    if ours:
        return f"n/a ({ours})"
    r = ratio(results, (s, conns, US), (s, conns, other), key)
    cell = r.fmt(2)
    theirs = _partial(info, s, other)
    if theirs:
        if theirs not in notes:
            notes.append(theirs)
        cell += " " + "†" * (notes.index(theirs) + 1)
    return cell


def _ratio_table(info, results, scenarios, conns_list, key: str, proxies: list[str]) -> list[str]:
    notes: list[str] = []
    others = [o for o in OTHERS if o in proxies]
    rows = [
        "| scenario | conns | " + " | ".join(f"wasmgate ÷ {LABEL[o]}" for o in others) + " |",
        "|---|---:|" + "---:|" * len(others),
    ]
    for s in scenarios:
        if not any((_plan(info, s.id, o) or {}).get("runs") for o in others):
            continue  # a wasmgate-only scenario (the guard plugin): see its own section
        for c in conns_list:
            cells = [_ratio_cell(info, results, s.id, c, o, key, notes) for o in others]
            rows.append(f"| {s.id} | {c} | " + " | ".join(cells) + " |")
    rows += [""] + [f"{'†' * (i + 1)} {n}" for i, n in enumerate(notes)]
    return rows


def _b_over_a(info, results, conns_list, proxies) -> list[str]:
    rows = [
        "| conns | " + " | ".join(f"{LABEL[p]}" for p in proxies) + " |",
        "|---:|" + "---:|" * len(proxies),
    ]
    for c in conns_list:
        cells = []
        for p in proxies:
            why = _why_not(info, results, "b", p) or _why_not(info, results, "a", p)
            partial = _partial(info, "b", p)
            hdr = ratio(results, ("hdr", c, p), ("a", c, p), "rps")
            hdr_cpu = ratio(results, ("a", c, p), ("hdr", c, p), "cpu_us")
            if why or (partial and p == US):
                text = f"n/a ({why or partial})"
                did = _plan(info, "b", p)["features"] if not why else []
                part = ratio(results, ("b", c, p), ("a", c, p), "rps")
                if did and part:
                    part_cpu = ratio(results, ("a", c, p), ("b", c, p), "cpu_us")
                    text += f"; {' + '.join(did)} only: {part.fmt(2)} · per CPU-second: {part_cpu.fmt(2)}"
                if hdr:
                    text += f"; header only (hdr ÷ a): {hdr.fmt(2)} · per CPU-second: {hdr_cpu.fmt(2)}"
                cells.append(text)
                continue
            cell = (
                ratio(results, ("b", c, p), ("a", c, p), "rps").fmt(2)
                + " · per CPU-second: "
                + ratio(results, ("a", c, p), ("b", c, p), "cpu_us").fmt(2)
            )
            if partial:
                cell += f" (without: {partial})"
            cells.append(cell)
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return rows


def _goals(info, results, conns_list, scenario_ids=()) -> list[str]:
    """Each goal as a throughput ratio X ÷ Y, measured two ways: requests/s, and the inverse
    ratio of CPU µs per request (Y's CPU ÷ X's: requests per CPU-second), which holds up when
    other work shares the proxy core. The verdict follows the CPU figure."""
    c = 64 if 64 in conns_list else conns_list[len(conns_list) // 2]

    def row(label: str, x: tuple[str, str], y: tuple[str, str], goal: float, note: str = "") -> str:
        why = next(
            (w for w in (_why_not(info, results, *x), _why_not(info, results, *y), _partial(info, *x)) if w),
            None,
        )
        if why:
            return f"| {label} | n/a ({why}){note} | n/a | n/a |"
        rps = ratio(results, (x[0], c, x[1]), (y[0], c, y[1]), "rps")
        cpu = ratio(results, (y[0], c, y[1]), (x[0], c, x[1]), "cpu_us")
        verdict = "n/a" if not cpu else ("met" if cpu.med >= goal else "not met")
        return f"| {label} | {rps.fmt(2)} | {cpu.fmt(2)} | {verdict} |"

    did = (_plan(info, "b", US) or {}).get("features", [])
    part_rows = []
    if _partial(info, "b", US) and not _why_not(info, results, "b", US) and len(did) > 1:
        part_rps = ratio(results, ("b", c, US), ("a", c, US), "rps")
        part_cpu = ratio(results, ("a", c, US), ("b", c, US), "cpu_us")
        part_rows.append(
            f"| … what wasmgate has of (b) today: {' + '.join(did)} (b ÷ a) | {part_rps.fmt(2)} | {part_cpu.fmt(2)} | "
            f"{'n/a' if not part_cpu else ('within 10%' if part_cpu.med >= 0.9 else 'over 10%')} |"
        )
    hdr_rps = ratio(results, ("hdr", c, US), ("a", c, US), "rps")
    hdr_cpu = ratio(results, ("a", c, US), ("hdr", c, US), "cpu_us")
    return [
        f"At {c} connections, 1 KiB. Verdicts follow the CPU column (see below).",
        "",
        "| goal | measured in requests/s | measured in requests per CPU-second | verdict |",
        "|---|---|---|---|",
        row("plain proxy ≥ 1.1× nginx (a)", ("a", US), ("a", "nginx"), 1.1),
        row("the three Wasm plugins cost ≤ 10% (b ÷ a ≥ 0.90 on wasmgate)", ("b", US), ("a", US), 0.9),
        f"| … the header plugin alone (hdr ÷ a on wasmgate) | {hdr_rps.fmt(2)} | {hdr_cpu.fmt(2)} | "
        f"{'n/a' if not hdr_cpu else ('within 10%' if hdr_cpu.med >= 0.9 else 'over 10%')} |",
        *part_rows,
        row("≥ 4× Caddy (a)", ("a", US), ("a", "caddy"), 4.0),
        *(
            [row("HTTPS keep-alive ≥ 1.0× nginx (e)", ("e", US), ("e", "nginx"), 1.0)]
            if "e" in scenario_ids
            else []
        ),
        *(
            [row("TLS handshakes ≥ 1.0× nginx (f: one handshake per request)", ("f", US), ("f", "nginx"), 1.0)]
            if "f" in scenario_ids
            else []
        ),
        "",
        "Requests/s: median (min–max) of per-round ratios. Requests per CPU-second: the inverse "
        "ratio of the proxies' CPU µs per request (user + sys), per round; on a saturated core the "
        "two agree, on a shared core only the second one holds still.",
    ]


def _guard(info, results, conns_list, scenario_ids) -> list[str]:
    """The guard plugin on the proxy path, per language, as a ratio of wasmgate's plain proxy."""
    rows = [
        "The same API-key guard (examples/rust-plugin, examples/js-plugin), `pooled` isolation "
        "unless the row says `per-request`, every request with a good key (checked, key header stripped, user header "
        "set); ratios of wasmgate's own (a) in the same rounds: requests/s · requests per "
        "CPU-second (a's CPU µs per request ÷ the guard's).",
        "",
        "| conns | guard | ÷ plain proxy (a): requests/s | ÷ (a): per CPU-second | CPU µs/req (a → guard) |",
        "|---:|---|---:|---:|---|",
    ]
    for c in conns_list:
        for sid, lang in (("guard-rs", "Rust"), ("guard-rs-pr", "Rust, `per-request`"), ("guard-js", "JavaScript")):
            if sid not in scenario_ids:
                continue
            why = _why_not(info, results, sid, US) or _why_not(info, results, "a", US)
            if why:
                rows.append(f"| {c} | {lang} | n/a ({why}) | | |")
                continue
            rps = ratio(results, (sid, c, US), ("a", c, US), "rps")
            cpu = ratio(results, ("a", c, US), (sid, c, US), "cpu_us")
            a_cpu, g_cpu = metric(results, "a", c, US, "cpu_us"), metric(results, sid, c, US, "cpu_us")
            rows.append(f"| {c} | {lang} | {rps.fmt(2)} | {cpu.fmt(2)} | {a_cpu.fmt(1, spread=False)} → {g_cpu.fmt(1, spread=False)} |")
    return rows


def _tcp_echo(info, results, conns_list, proxies) -> list[str]:
    kib = ECHO_BYTES // 1024
    rows = [
        f"One request = {kib} KiB from the client to the upstream's /echo and the same {kib} KiB "
        "back, through the proxy's raw TCP forwarding (no HTTP parsing in the proxy).",
        "",
        f"| conns | proxy | MiB/s each way | CPU µs per {kib} KiB echo | CPU µs per MiB forwarded (both ways) |",
        "|---:|---|---:|---:|---:|",
    ]
    for c in conns_list:
        for p in proxies:
            why = _why_not(info, results, "g", p)
            if why:
                rows.append(f"| {c} | {LABEL[p]} | n/a ({why}) | | |")
                continue
            mib = Spread([v * ECHO_BYTES / 2**20 for v in metric(results, "g", c, p, "rps").values])
            cpu = metric(results, "g", c, p, "cpu_us")
            per_mib = Spread([v * 2**20 / (2 * ECHO_BYTES) for v in cpu.values])
            rows.append(f"| {c} | {LABEL[p]} | {mib.fmt(1)} | {cpu.fmt(1)} | {per_mib.fmt(1, spread=False)} |")
    return rows


def _per_contender(info, results, s: Scenario, conns_list, proxies) -> list[str]:
    rows = [
        "| conns | proxy | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | user | sys | proxy busy | cores busy | peak RSS MiB | non-2xx | socket errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in conns_list:
        for p in proxies:
            why = _why_not(info, results, s.id, p)
            if why and s.guard and p != US:
                continue  # wasmgate-only: no row for the others
            if why:
                rows.append(f"| {c} | {LABEL[p]} | n/a ({why}) |||||||||||| ")
                continue
            g = lambda k: metric(results, s.id, c, p, k)  # noqa: E731
            partial = _partial(info, s.id, p)
            did = ", ".join(_plan(info, s.id, p)["features"])
            name = LABEL[p] + (f" (did {did} only: {partial})" if partial else "")
            rows.append(
                f"| {c} | {name} | {g('rps').fmt(0)} | {g('p50_us').fmt(2, 1e-3, False)} | "
                f"{g('p99_us').fmt(2, 1e-3, False)} | {g('p999_us').fmt(2, 1e-3, False)} | {g('cpu_us').fmt(1)} | {g('cpu_user_us').fmt(1, spread=False)} | "
                f"{g('cpu_sys_us').fmt(1, spread=False)} | {g('busy').fmt(0, 100, False)}% | "
                f"{g('proxy_core_all').fmt(0, 100, False)}% / {g('load_core_all').fmt(0, 100, False)}% | "
                f"{g('rss_kib').fmt(1, 1 / 1024, False)} | {g('non_2xx').fmt(0, spread=False)} | "
                f"{g('socket_errors').fmt(0, spread=False)} |"
            )
    return rows


def _tripping(info, results, conns_list, proxies) -> list[str]:
    rows = [
        f"Configured: {RATE_TRIPPING} requests/s per client address, burst {RATE_BURST}; every request comes from 127.0.0.1.",
        "",
        "| conns | proxy | admitted req/s | admitted ÷ configured | answered 429 req/s | p99 ms |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for c in conns_list:
        for p in proxies:
            why = _why_not(info, results, "c", p)
            if why:
                rows.append(f"| {c} | {LABEL[p]} | n/a ({why}) |||| ")
                continue
            adm = metric(results, "c", c, p, "admitted_rps")
            rej = Spread(
                [r["non_2xx"] / r["seconds"] for r in results if r["scenario"] == "c" and r["conns"] == c and r["proxy"] == p]
            )
            rows.append(
                f"| {c} | {LABEL[p]} | {adm.fmt(0)} | {Spread([v / RATE_TRIPPING for v in adm.values]).fmt(2)} | "
                f"{rej.fmt(0)} | {metric(results, 'c', c, p, 'p99_us').fmt(2, 1e-3, False)} |"
            )
    return rows


def write(out_dir: Path, stamp: str, info: dict, results: list[dict], scenarios: list[Scenario], proxies, workdir: Path) -> list[Path]:
    import chart  # matplotlib: only in bench/.venv, and only needed here

    names = [p.name for p in proxies]
    conns_list = info["mode"]["conns"]
    png = out_dir / f"{stamp}.png"
    chart.draw(png, info, results, scenarios, names, conns_list)
    m = info["mode"]
    readme = os.path.relpath(Path(__file__).resolve().parents[1] / "README.md", out_dir)
    lines = [
        f"# wasmgate vs nginx, HAProxy, Caddy — {stamp} UTC ({m['name']} mode)",
        "",
        f"{m['rounds']} round(s), contenders interleaved (order rotated each round); per run "
        f"{m['warmup_s']} s warm-up (discarded) + {m['duration_s']} s measured; "
        "ratios are medians of per-round ratios, (min–max) beside them. "
        f"How to read this: [bench/README.md]({readme}).",
        "",
        "![requests per second per contender and scenario](PNG)",
        "",
        "## Goals",
        "",
        *_goals(info, results, conns_list, [s.id for s in scenarios]),
        "",
        "## Ratios: requests/s, wasmgate ÷ contender (> 1: wasmgate serves more)",
        "",
        *_ratio_table(info, results, scenarios, conns_list, "rps", names),
        "",
        "## Ratios: CPU µs per request, wasmgate ÷ contender (< 1: wasmgate spends less)",
        "",
        *_ratio_table(info, results, scenarios, conns_list, "cpu_us", names),
        "",
    ]
    if any(s.id == "b" for s in scenarios) and any(s.id == "a" for s in scenarios):
        lines += ["## Scenario (b) ÷ scenario (a) per contender: requests/s · requests per CPU-second", "", *_b_over_a(info, results, conns_list, names), ""]
    if any(s.id == "c" for s in scenarios):
        lines += ["## (c) Rate limit tripping", "", *_tripping(info, results, conns_list, names), ""]
    ids = [s.id for s in scenarios]
    if any(s.tls for s in scenarios):
        lines += [
            "## (e), (f) HTTPS",
            "",
            f"Every contender: TLS 1.3 only, {TLS_SUITE}, key exchange {TLS_GROUP}, the same ECDSA "
            "P-256 certificate generated for the run (checked on the first round: the harness "
            "verifies it and the agreed version and suite). In (f) wrk opens a new connection "
            "per request without resuming a session: one full handshake per request, so CPU µs "
            "per request is CPU µs per handshake (plus one proxied request). Session tickets "
            "are each proxy's default.",
            "",
        ]
    if "g" in ids:
        lines += ["## (g) Raw TCP passthrough", "", *_tcp_echo(info, results, conns_list, names), ""]
    if any(s.guard for s in scenarios) and "a" in ids:
        lines += ["## Guard plugin on the proxy path (wasmgate only)", "", *_guard(info, results, conns_list, ids), ""]
    lines += ["## Medians per contender", ""]
    lines += [
        "CPU µs/req: user + kernel time of the proxy's processes over the measured run ÷ requests "
        "(user and sys columns split it). Proxy busy: that CPU time ÷ wall time. Cores busy: the "
        "proxy core / the load core, every process on the machine counted (from /proc/stat): a "
        "proxy core near 100% with the proxy well below it means other work shared its core. "
        "Peak RSS: VmHWM summed over the proxy's processes.",
        "",
    ]
    for s in scenarios:
        lines += [f"### {s.title}", "", *_per_contender(info, results, s, conns_list, names), ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info["machine"].items()]
    lines += [f"| load average before / after | {info['load_before']} / {info['load_after']} |"]
    loads = [r["load1"] for r in results if "load1" in r]
    if loads:
        lines += [f"| load average (1 min) during the runs | {min(loads):.1f}–{max(loads):.1f} (median {sorted(loads)[len(loads) // 2]:.1f}) |"]
    lines += [""]
    lines += ["## Versions", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info["versions"].items()]
    lines += ["", "## What each contender did", ""]
    lines += ["| scenario | " + " | ".join(LABEL[n] for n in names) + " |", "|---|" + "---|" * len(names)]
    for s in scenarios:
        cells = []
        for n in names:
            plan = info["plans"][f"{s.id} {n}"]
            if not plan["runs"]:
                cells.append("not run: " + _reasons(plan["missing"].values()))
            else:
                did = ", ".join(plan["features"]) or "proxy only"
                miss = _reasons(plan["missing"].values())
                cells.append(did + (f" — missing: {miss}" if miss else ""))
        lines.append(f"| {s.id} | " + " | ".join(cells) + " |")
    if info["failed"]:
        lines += ["", "Failures:", ""] + [f"- {k}: {v}" for k, v in info["failed"].items()]
    lines += ["", "## Command lines", "", f"Run: `{info['command_line']}` from the repository root; every command below runs from there too.", "", "```"]
    repo = str(Path(__file__).resolve().parents[2]) + "/"
    # wasmgate wants an absolute cache directory: keep it absolute, as $PWD/...
    lines += [
        f"# {k}\n{v.replace('_CACHE_DIR=' + repo, '_CACHE_DIR=$PWD/').replace(repo, '')}"
        for k, v in info["commands"].items()
    ]
    lines += ["```", "", "## Configs", ""]
    for p in proxies:
        for sid in ("a", "b", "e", "g", "guard-js"):
            f = p.config_file(sid)
            if f:
                lines += [f"<details><summary>{LABEL[p.name]}, scenario {sid} ({f.name})</summary>", "", "```", f.read_text().rstrip(), "```", "</details>", ""]
    lines.append("")
    text = "\n".join(lines)
    md = out_dir / f"{stamp}.md"
    md.write_text(text.replace("](PNG)", f"]({png.name})"))
    if not info.get("complete", True):
        # A subset of scenarios or contenders, or not the release build: latest.md stays the
        # last complete run.
        return [md, png]
    latest_png = out_dir / "latest.png"
    shutil.copyfile(png, latest_png)
    latest = out_dir / "latest.md"
    latest.write_text(text.replace("](PNG)", "](latest.png)"))
    return [md, png, latest, latest_png]

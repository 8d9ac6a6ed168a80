"""What one benchmark run measures: scenarios, connection counts, durations, contenders' order.

A scenario names the work every proxy does per request; a contender that lacks part of it runs
what it has and the report says what was missing (never faked), or does not run it at all when
the missing part is the point of the scenario (the rate limit in (c)).
"""

import os
from dataclasses import dataclass, field

USER = "bench"
PASSWORD = "bench-secret"
# Far above any load two cores can offer: the limiter runs on every request, never trips.
RATE_FAR_ABOVE = 1_000_000
# Far below the offered load: most requests are answered 429 by the proxy itself.
RATE_TRIPPING = 1_000
RATE_BURST = 100

RESPONSE_HEADER = "X-Bench-Proxy"

# The guard plugin's scenarios (examples/rust-plugin, examples/js-plugin: the same API-key guard):
# every request carries a good key, so each one runs the guard's check and header edits.
GUARD_HEADER = "x-api-key"
GUARD_USER = "alice"
GUARD_KEY = "alice-secret-key"

# Bytes each way per request in the TCP passthrough scenario (a POST to the upstream's /echo).
ECHO_BYTES = 16 * 1024
# TLS in (e) and (f), the same for every contender: TLS 1.3 only, one suite, one key exchange
# group, one ECDSA P-256 certificate generated for the run (certs.py).
TLS_SUITE = "TLS_AES_128_GCM_SHA256"
TLS_GROUP = "X25519"

# WASMGATE_BENCH_PORT_OFFSET=N moves every port by N (the upstream's 9100, the proxies' 8301-8304):
# two benchmarks of different worktrees on one machine then do not take each other's ports (their
# figures still disturb each other: the cores are shared).
PORT_OFFSET = int(os.environ.get("WASMGATE_BENCH_PORT_OFFSET", "0"))
UPSTREAM_PORT = 9100 + PORT_OFFSET
PROXY_CORE = 0
LOAD_CORE = 1


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    path: str = "/"
    header: bool = False
    auth: bool = False
    rate: int | None = None
    # Requests admitted at once above the average rate (nginx's `burst`, Traefik's `burst`).
    burst: int = 0
    keepalive: bool = True
    # Clients speak HTTPS to the proxy (TLS terminated there; the upstream stays plain HTTP).
    tls: bool = False
    # The proxy forwards raw TCP (no HTTP parsing); with `echo_bytes` wrk POSTs that many bytes to
    # the upstream's /echo, which sends them back.
    tcp: bool = False
    echo_bytes: int = 0
    # The guard plugin in this language ("rs" or "js") on the route: a wasmgate-only scenario.
    guard: str | None = None
    # The guard's isolation: `pooled` (the default) or `per-request` (each request sees the guard
    # as `init` left it: an instance put back after each request).
    per_request: bool = False
    # The feature without which a contender does not run this scenario at all.
    essential: str | None = None

    def features(self) -> list[str]:
        out = []
        if self.tls:
            out.append("tls")
        if self.tcp:
            out.append("tcp")
        if self.guard:
            out.append(f"guard-{self.guard}")
            if self.per_request:
                out.append("per-request")
        if self.rate is not None:
            out.append("rate")
        if self.auth:
            out.append("auth")
        if self.header:
            out.append("header")
        return out


SCENARIOS = [
    Scenario("a", "(a) plain proxy, 1 KiB"),
    Scenario("a16k", "(a) plain proxy, 16 KiB", path="/16k"),
    Scenario("hdr", "(b) part: response header only, 1 KiB", header=True),
    Scenario(
        "b",
        "(b) response header + basic auth + rate limit (not tripping), 1 KiB",
        header=True,
        auth=True,
        rate=RATE_FAR_ABOVE,
        # As large as the rate: nginx reads its clock once per event-loop pass, so a small burst
        # rejects requests that arrive within one pass even far below the rate.
        burst=RATE_FAR_ABOVE,
    ),
    Scenario(
        "c",
        f"(c) rate limit tripping ({RATE_TRIPPING}/s, burst {RATE_BURST}), 1 KiB",
        rate=RATE_TRIPPING,
        burst=RATE_BURST,
        essential="rate",
    ),
    Scenario("d", "(d) keep-alive off (new connection per request), 1 KiB", keepalive=False),
    Scenario("e", "(e) HTTPS keep-alive, TLS 1.3, ECDSA P-256, 1 KiB", tls=True, essential="tls"),
    Scenario(
        "f",
        "(f) HTTPS, a new TLS connection per request (handshakes/s), TLS 1.3, ECDSA P-256, 1 KiB",
        tls=True,
        keepalive=False,
        essential="tls",
    ),
    Scenario(
        "g",
        "(g) raw TCP passthrough, 16 KiB echo (16 KiB each way per request)",
        path="/echo",
        tcp=True,
        echo_bytes=ECHO_BYTES,
        essential="tcp",
    ),
    Scenario("guard-rs", "guard plugin in Rust (API key, pooled), 1 KiB", guard="rs", essential="guard-rs"),
    Scenario("guard-js", "guard plugin in JavaScript (API key, pooled), 1 KiB", guard="js", essential="guard-js"),
    Scenario(
        "guard-rs-pr",
        "guard plugin in Rust (API key, per-request isolation), 1 KiB",
        guard="rs",
        per_request=True,
        essential="guard-rs",
    ),
]


@dataclass
class Mode:
    name: str
    rounds: int
    warmup_s: int
    duration_s: int
    conns: list[int]
    scenarios: list[Scenario] = field(default_factory=lambda: list(SCENARIOS))


def mode(quick: bool) -> Mode:
    if quick:
        return Mode("quick", rounds=1, warmup_s=1, duration_s=1, conns=[64])
    return Mode("full", rounds=3, warmup_s=2, duration_s=6, conns=[16, 64, 256])

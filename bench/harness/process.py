"""Starting a contender pinned to the proxy core, waiting until it proxies, checking that it does
the scenario's work, and stopping it."""

import http.client
import os
import signal
import ssl
import subprocess
import time
from pathlib import Path

from plan import GUARD_HEADER, PROXY_CORE, RESPONSE_HEADER, TLS_SUITE, Scenario

READY_TIMEOUT_S = 30.0


class Running:
    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, cores: str = str(PROXY_CORE)):
        self.name = name
        self.cmd = ["taskset", "-c", cores] + cmd
        self.log = log
        full_env = dict(os.environ)
        full_env.update(env)
        self.logf = open(log, "ab")
        # taskset execs the proxy, so this pid is the proxy's own.
        self.proc = subprocess.Popen(
            self.cmd, env=full_env, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


def tls_context(ca: Path) -> ssl.SSLContext:
    """Trusts only the run's certificate (certs.py), whose SAN is 127.0.0.1."""
    return ssl.create_default_context(cafile=str(ca))


def connect(port: int, ca: Path | None) -> http.client.HTTPConnection:
    if ca is None:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=tls_context(ca))


def get(
    port: int,
    path: str,
    headers: dict[str, str],
    ca: Path | None = None,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection (HTTPS verified against `ca` when given)."""
    conn = connect(port, ca)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def tls_session(port: int, ca: Path) -> tuple[str | None, str | None]:
    """The TLS version and cipher suite a handshake with the proxy agrees on."""
    conn = connect(port, ca)
    try:
        conn.connect()
        sock = conn.sock
        cipher = sock.cipher() if isinstance(sock, ssl.SSLSocket) else None
        version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        return version, cipher[0] if cipher else None
    finally:
        conn.close()


def wait_ready(running: Running, port: int, path: str, headers: dict[str, str], ca: Path | None = None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise RuntimeError(f"{running.name} exited ({running.proc.returncode}); see {running.log}")
        try:
            status, _, _ = get(port, path, headers, ca)
            if status == 200:
                return
            last = f"status {status}"
        except (OSError, http.client.HTTPException) as e:
            last = str(e)
        time.sleep(0.05)
    raise RuntimeError(f"{running.name} not proxying after {READY_TIMEOUT_S}s ({last}); see {running.log}")


def check_work(
    port: int,
    scenario: Scenario,
    features: list[str],
    headers: dict[str, str],
    body_len: int,
    ca: Path | None = None,
) -> list[str]:
    """Problems found when checking that the proxy does the scenario's work (empty: none)."""
    problems = []
    if scenario.echo_bytes:
        sent = os.urandom(scenario.echo_bytes)
        status, _, body = get(port, scenario.path, headers, ca, "POST", sent)
        if status != 200 or body != sent:
            problems.append(f"POST {scenario.path} of {len(sent)} bytes: {status}, {len(body)} bytes back, not the same bytes")
        return problems
    status, resp_headers, body = get(port, scenario.path, headers, ca)
    if status != 200:
        problems.append(f"GET {scenario.path} answered {status}, not 200")
    if len(body) != body_len:
        problems.append(f"body of {len(body)} bytes, not {body_len}")
    if ca is not None:
        version, suite = tls_session(port, ca)
        if (version, suite) != ("TLSv1.3", TLS_SUITE):
            problems.append(f"TLS: {version} with {suite}, not TLSv1.3 with {TLS_SUITE}")
    if any(f.startswith("guard-") for f in features):
        no_key = {k: v for k, v in headers.items() if k.lower() != GUARD_HEADER}
        status, _, _ = get(port, scenario.path, no_key, ca)
        if status != 401:
            problems.append(f"without {GUARD_HEADER}: {status}, not 401")
    if "header" in features and RESPONSE_HEADER.lower() not in resp_headers:
        problems.append(f"response lacks {RESPONSE_HEADER}")
    if "auth" in features:
        no_auth = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        status, _, _ = get(port, scenario.path, no_auth, ca)
        if status != 401:
            problems.append(f"without credentials: {status}, not 401")
        wrong = dict(no_auth, Authorization="Basic YmVuY2g6d3Jvbmc=")
        status, _, _ = get(port, scenario.path, wrong, ca)
        if status != 401:
            problems.append(f"with a wrong password: {status}, not 401")
    return problems

"""Starting a contender pinned to the proxy core, waiting until it proxies, checking that it does
the scenario's work, and stopping it."""

import http.client
import os
import signal
import subprocess
import time
from pathlib import Path

from plan import PROXY_CORE, RESPONSE_HEADER, Scenario

READY_TIMEOUT_S = 30.0


class Running:
    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path):
        self.name = name
        self.cmd = ["taskset", "-c", str(PROXY_CORE)] + cmd
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


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def wait_ready(running: Running, port: int, path: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise RuntimeError(f"{running.name} exited ({running.proc.returncode}); see {running.log}")
        try:
            status, _, _ = get(port, path, headers)
            if status == 200:
                return
            last = f"status {status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise RuntimeError(f"{running.name} not proxying after {READY_TIMEOUT_S}s ({last}); see {running.log}")


def check_work(
    port: int, scenario: Scenario, features: list[str], headers: dict[str, str], body_len: int
) -> list[str]:
    """Problems found when checking that the proxy does the scenario's work (empty: none)."""
    problems = []
    status, resp_headers, body = get(port, scenario.path, headers)
    if status != 200:
        problems.append(f"GET {scenario.path} answered {status}, not 200")
    if len(body) != body_len:
        problems.append(f"body of {len(body)} bytes, not {body_len}")
    if "header" in features and RESPONSE_HEADER.lower() not in resp_headers:
        problems.append(f"response lacks {RESPONSE_HEADER}")
    if "auth" in features:
        no_auth = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        status, _, _ = get(port, scenario.path, no_auth)
        if status != 401:
            problems.append(f"without credentials: {status}, not 401")
        wrong = dict(no_auth, Authorization="Basic YmVuY2g6d3Jvbmc=")
        status, _, _ = get(port, scenario.path, wrong)
        if status != 401:
            problems.append(f"with a wrong password: {status}, not 401")
    return problems

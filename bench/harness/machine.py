"""What the results file says about the machine and the software measured."""

import os
import platform
import subprocess
from pathlib import Path


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"? ({e})"
    return (done.stdout or done.stderr).strip()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def cpu_identity() -> str:
    """Family/model/stepping and clock: a hypervisor often hides the marketing name."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                k, _, v = line.partition(":")
                fields[k.strip()] = v.strip()
    except OSError:
        return "?"
    mhz = fields.get("cpu MHz", "?").split(".")[0]
    return (
        f"family {fields.get('cpu family', '?')}, model {fields.get('model', '?')}, "
        f"stepping {fields.get('stepping', '?')}, {mhz} MHz"
    )


def memory_gib() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "?"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def describe(repo: Path) -> dict[str, str]:
    virt = _run(["systemd-detect-virt"]) if Path("/usr/bin/systemd-detect-virt").exists() else ""
    hyper = ""
    lscpu = _run(["lscpu"])
    for line in lscpu.splitlines():
        if line.startswith("Hypervisor vendor:"):
            hyper = line.split(":", 1)[1].strip()
    return {
        "CPU": cpu_model(),
        "CPU identity": cpu_identity(),
        "cores (online)": str(os.cpu_count()),
        "memory": memory_gib(),
        "kernel": platform.release(),
        "virtualisation": hyper or virt or "none reported",
        "os": _run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
    }


def git_revision(repo: Path) -> str:
    rev = _run(["git", "rev-parse", "--short", "HEAD"], cwd=repo)
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return rev + (" (with uncommitted changes)" if dirty else "")


def tool_versions(repo: Path) -> dict[str, str]:
    wrk = _run(["wrk", "-v"]).splitlines()
    return {
        "wrk": wrk[0].split(" Copyright")[0] if wrk else "?",
        "rustc": _run(["rustc", "--version"], cwd=repo),
        "python": platform.python_version(),
    }

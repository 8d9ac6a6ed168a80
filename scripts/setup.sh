#!/usr/bin/env bash
# Everything a fresh machine needs before building: the Wasm target the plugins compile to.
# Idempotent; safe to run before every build. (RUSTUP_AUTO_INSTALL=0 machines do not install
# targets from rust-toolchain.toml on their own.)
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

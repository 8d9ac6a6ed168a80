#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, plugin tests (natively), and the end-to-end
# suites in tests/e2e (a real gateway process, real upstreams, real clients, real components).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace "$@"

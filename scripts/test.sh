#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, plugin tests (natively), and the end-to-end
# suites in tests/e2e (a real gateway process, real upstreams, real clients, real components).
#
# With cargo-nextest installed, tests of all binaries share one pool of processes (the e2e
# suites overlap the plugin crates' tests instead of waiting for them), the slow tests are listed
# at the end, and a hung test is ended (.config/nextest.toml); doc-tests, which nextest does not
# run, follow with `cargo test --doc`. Without it, `cargo test` runs the same tests.
# Arguments go to both runners (e.g. `-p wasmgate routing`). Set WASMGATE_TEST_RUNNER=cargo to
# use `cargo test` even with nextest installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Fails in seconds when the tests and `cargo build -p wasmgate` would build wasmtime twice.
bash scripts/check-shared-build.sh

if [[ "${WASMGATE_TEST_RUNNER:-nextest}" == nextest ]] && cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace "$@"
  cargo test --workspace --doc "$@"
else
  cargo test --workspace "$@"
fi

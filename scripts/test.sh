#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, plugin tests (natively), and the end-to-end
# suites in tests/e2e (a real gateway process, real upstreams, real clients, real components).
#
# Arguments go to the runner (e.g. `-p wasmgate routing`). WASMGATE_TEST_RUNNER=nextest runs the
# tests with cargo-nextest when it is installed (per-test durations, slow and hung tests reported,
# see .config/nextest.toml), then the doc-tests, which nextest does not run. It is not the
# default: on 2 cores it measured slower than `cargo test` (46 s against 42 s for the run after
# the build; a process per test costs more than the pool saves, the e2e suites are wait-bound).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Fails in seconds when the tests and `cargo build -p wasmgate` would build wasmtime twice.
bash scripts/check-shared-build.sh
# The language suite's JavaScript and Python components compile in 30-80 s each (Go's 6-12 s): do that now,
# before the suites run beside each other (see the script).
bash scripts/precompile-lang-plugins.sh

if [[ "${WASMGATE_TEST_RUNNER:-cargo}" == nextest ]] && cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace "$@"
  cargo test --workspace --doc "$@"
else
  cargo test --workspace "$@"
fi

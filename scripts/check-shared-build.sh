#!/usr/bin/env bash
# Checks that `cargo build -p wasmgate` (scripts/quickstart.sh, a newcomer's first build) resolves
# every dependency of the gateway with the same features as `cargo test --workspace`
# (scripts/test.sh). Cargo compiles a crate once per feature set; when the two differ (a
# dev-dependency or a plugin crate turns on a feature of a crate wasmtime uses), running the
# quickstart after the tests recompiles wasmtime and cranelift (~3.5 minutes on 2 cores).
# The fix is to name the feature in host/Cargo.toml's "Feature unification" block.
# Takes a few seconds (`cargo tree`, no build).
set -euo pipefail
cd "$(dirname "$0")/.."

# One `package|features` line per distinct (package, feature set), for the host platform.
features() {
  cargo tree --quiet --prefix none --format '{p}|{f}' "$@" | sed 's/ (\*)$//' | sort -u
}

quickstart=$(features -p wasmgate --edges normal,build)
tests=$(features --workspace --edges normal,build,dev)

# For every package the gateway build uses, its feature sets must be the same in both.
report=$(
  awk -F'|' '
    NR == FNR { used[$1] = 1; next }
    ($2 in used) { sets[$2, $1] = sets[$2, $1] " [" $3 "]"; names[$2] = 1 }
    END {
      for (p in names) if (sets[p, "Q"] != sets[p, "T"])
        printf "  %s\n    cargo build -p wasmgate:     %s\n    cargo test --workspace:     %s\n", p, sets[p, "Q"], sets[p, "T"]
    }' \
    <(echo "$quickstart" | awk -F'|' '{print $1}' | sort -u) \
    <(echo "$quickstart" | sed 's/^/Q|/'; echo "$tests" | sed 's/^/T|/')
)
if [[ -n "$report" ]]; then
  cat >&2 <<MSG
error: these crates are built with other features by the tests than by \`cargo build -p wasmgate\`,
so the quickstart after the tests (or the tests after the quickstart) recompiles them and
everything above them (wasmtime, cranelift):
$report
Name the missing features in host/Cargo.toml, block "Feature unification".
MSG
  exit 1
fi

#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), then runs every check ReplayDesk has: the
# console's type check and build, rustfmt, clippy, the whole workspace's tests (none
# needs a display), and the end-to-end tests (the desktop app over WebDriver under a
# private Xvfb, the console in headless Chromium). Ends with one line:
# "summary: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh || { echo "summary: 0 passed, 1 failed"; exit 1; }

log_dir=$(mktemp -d)
steps_run=0
steps_failed=()
tests_passed=0
tests_failed=0

step() {
  local name=$1; shift
  steps_run=$((steps_run + 1))
  echo "==> $name"
  if "$@" 2>&1 | tee "$log_dir/$name.log"; then
    echo "==> $name: ok"
  else
    echo "==> $name: FAILED"
    steps_failed+=("$name")
  fi
}

step ui-typecheck bash -c 'cd ui && npm run --silent typecheck'
step ui-build bash -c 'cd ui && npm run --silent build'
step ui-unit bash -c 'cd ui && npm run --silent test'
step fmt cargo fmt --all -- --check
# The Prometheus alerting rules: valid, and their unit tests (docs/operations.md); the
# Grafana dashboard is JSON (a cargo test checks every series it reads is served).
step monitoring bash -c 'promtool check rules monitoring/replaydesk.rules.yml && promtool test rules monitoring/replaydesk.rules.test.yml && python3 -m json.tool monitoring/replaydesk.dashboard.json >/dev/null'
step clippy cargo clippy --workspace --all-targets --locked -- -D warnings
# Every relative link and repository path named in the docs and comments exists in a clone.
step links bash scripts/check-links.sh
# The store's tests and the multi-node tests run against PostgreSQL too: a throwaway
# cluster (scripts/pg_cluster.sh) for the length of the cargo tests. A cluster that cannot
# start fails this run (its tests would only skip); under CI=true they fail themselves too.
pg_dir=$(mktemp -d /tmp/replaydesk-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
steps_run=$((steps_run + 1))
if pg_env=$(bash scripts/pg_cluster.sh start "$pg_dir" "$pg_port"); then
  eval "$pg_env"
  echo "==> postgres-cluster: ok ($REPLAYDESK_TEST_PG)"
else
  echo "==> postgres-cluster: FAILED (PostgreSQL could not be started; its tests skip, or fail under CI=true)"
  steps_failed+=("postgres-cluster")
fi
step cargo-test cargo test --workspace --locked
bash scripts/pg_cluster.sh stop "$pg_dir" || true
unset REPLAYDESK_TEST_PG
# The Debian package, from the debug binary cargo-test built: lintian, the unit's hardening,
# serve from the unpacked package, and (as root) installed, verified, started as the unit
# would, backed up, stopped and purged (scripts/package-check.sh).
package() {
  if [ ! -x target/debug/replaydesk ]; then cargo build -p replaydesk --bin replaydesk --locked || return 1; fi
  bash scripts/package-check.sh
}
step package package
# The native clock code (mach_absolute_time, QueryPerformanceCounter) and the kernel RTT
# reading (TCP_CONNECTION_INFO) compile only for their platform: check them for macOS and
# Windows here (their crates have no C build dependencies).
step clock-targets bash -c 'cargo check -p replaydesk-clock -p replaydesk-sockrtt --locked --target aarch64-apple-darwin && cargo check -p replaydesk-clock -p replaydesk-sockrtt --locked --target x86_64-pc-windows-gnu'
# ts-rs regenerated the console's types during the tests: they must match what is committed.
if git rev-parse --git-dir >/dev/null 2>&1; then
  step bindings-current bash -c 'changed=$(git status --porcelain -- ui/src/bindings); if [ -n "$changed" ]; then echo "ts-rs bindings differ from the committed ones (run cargo test and commit ui/src/bindings):"; echo "$changed"; exit 1; fi'
fi
# Every fuzz target for a few seconds from its seeds (the long run and its figures: docs/testing.md,
# "Fuzzing"). The fuzz crate is outside the workspace, built by nightly into fuzz/target.
step fuzz bash scripts/fuzz.sh smoke 15
# End-to-end tests over the binaries cargo-test built (its integration tests build both
# target/debug/replaydesk and target/debug/replaydesk-desktop, the latter embedding the
# ui/dist of ui-build). Built here only if cargo-test did not get that far.
e2e() {
  if [[ " ${steps_failed[*]} " == *" cargo-test "* ]] || [ ! -x target/debug/replaydesk ] || [ ! -x target/debug/replaydesk-desktop ]; then
    cargo build -p replaydesk -p replaydesk-desktop --locked || return 1
  fi
  (cd ui && npm run --silent e2e)
}
step e2e e2e

while read -r p f; do
  tests_passed=$((tests_passed + p)); tests_failed=$((tests_failed + f))
done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log_dir/cargo-test.log" 2>/dev/null)
# The e2e runner ends with "e2e: N passed, N failed".
read -r e2e_passed e2e_failed < <(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log_dir/e2e.log" 2>/dev/null | tail -n 1)
e2e_passed=${e2e_passed:-0}
e2e_failed=${e2e_failed:-0}
# scripts/fuzz.sh ends with "fuzz: N passed, N failed" (targets).
read -r fuzz_passed fuzz_failed < <(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$log_dir/fuzz.log" 2>/dev/null | tail -n 1)
fuzz_passed=${fuzz_passed:-0}
fuzz_failed=${fuzz_failed:-0}

echo
if [ ${#steps_failed[@]} -gt 0 ]; then
  echo "failed steps: ${steps_failed[*]}"
fi
echo "checks: $((steps_run - ${#steps_failed[@]})) of $steps_run steps ok; cargo tests: $tests_passed passed, $tests_failed failed; e2e tests: $e2e_passed passed, $e2e_failed failed; fuzz targets: $fuzz_passed passed, $fuzz_failed failed"
# A failed step that is not a test (fmt, clippy, build) counts as one failure; so does an
# e2e step that failed before any e2e test could (a build or setup error).
total_passed=$((tests_passed + e2e_passed + fuzz_passed))
total_failed=$((tests_failed + e2e_failed + fuzz_failed))
for s in "${steps_failed[@]}"; do
  case $s in
    cargo-test) ;;
    e2e) [ "$e2e_failed" -gt 0 ] || total_failed=$((total_failed + 1)) ;;
    fuzz) [ "$fuzz_failed" -gt 0 ] || total_failed=$((total_failed + 1)) ;;
    *) total_failed=$((total_failed + 1)) ;;
  esac
done
if [ ${#steps_failed[@]} -gt 0 ] && [ "$total_failed" -eq 0 ]; then total_failed=1; fi
echo "summary: $total_passed passed, $total_failed failed"
[ ${#steps_failed[@]} -eq 0 ]

#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), then runs every check ReplayDesk has: the
# console's type check and build, rustfmt, clippy, and the whole workspace's tests (none
# needs a display). Ends with one line: "summary: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh || { echo "summary: 0 passed, 1 failed"; exit 1; }

log_dir=$(mktemp -d)
steps_failed=()
tests_passed=0
tests_failed=0

step() {
  local name=$1; shift
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
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo-test cargo test --workspace --locked
# ts-rs regenerated the console's types during the tests: they must match what is committed.
if git rev-parse --git-dir >/dev/null 2>&1; then
  step bindings-current bash -c 'changed=$(git status --porcelain -- ui/src/bindings); if [ -n "$changed" ]; then echo "ts-rs bindings differ from the committed ones (run cargo test and commit ui/src/bindings):"; echo "$changed"; exit 1; fi'
fi

while read -r p f; do
  tests_passed=$((tests_passed + p)); tests_failed=$((tests_failed + f))
done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log_dir/cargo-test.log" 2>/dev/null)

echo
if [ ${#steps_failed[@]} -gt 0 ]; then
  echo "failed steps: ${steps_failed[*]}"
fi
echo "checks: $((6 - ${#steps_failed[@]})) of 6 steps ok; cargo tests: $tests_passed passed, $tests_failed failed"
# A failed step that is not a test (fmt, clippy, build) counts as one failure.
total_failed=$tests_failed
for s in "${steps_failed[@]}"; do [ "$s" = cargo-test ] || total_failed=$((total_failed + 1)); done
if [ ${#steps_failed[@]} -gt 0 ] && [ "$total_failed" -eq 0 ]; then total_failed=1; fi
echo "summary: $tests_passed passed, $total_failed failed"
[ ${#steps_failed[@]} -eq 0 ]

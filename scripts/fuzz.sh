#!/usr/bin/env bash
# Fuzzes ReplayDesk's input readers with cargo fuzz (libFuzzer; needs the nightly toolchain
# and cargo-fuzz, which scripts/setup.sh installs). Targets: fuzz/fuzz_targets/*.rs.
#
#   scripts/fuzz.sh smoke [SECONDS]   build, then run every target SECONDS (default 15)
#   scripts/fuzz.sh long [RUNS]       every target for RUNS executions (default 1000000),
#                                     one at a time, one job; prints a table of executions
#   scripts/fuzz.sh TARGET [ARGS...]  one target, libFuzzer ARGS as given
#
# Each run reads the committed seeds (fuzz/seeds/<target>) and grows a working corpus in
# fuzz/corpus/<target> (not committed). A crash stops with the input saved under
# fuzz/artifacts/<target>/; `cargo +nightly fuzz tmin <target> <file>` minimizes it.
# Ends with "fuzz: N passed, N failed" (targets).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Pure Rust targets: no sanitizer (libFuzzer's coverage and Rust's own checks: debug
# assertions and overflow checks are on in cargo fuzz's default build). Twice the speed.
FUZZ_FLAGS=(--sanitizer none)
TARGET_DIR=${FUZZ_TARGET_DIR:-fuzz/target}
mapfile -t TARGETS < <(cd fuzz/fuzz_targets && ls -- *.rs | sed 's/\.rs$//')

build() {
  cargo +nightly fuzz build "${FUZZ_FLAGS[@]}" --target-dir "$TARGET_DIR"
}

# run TARGET ARGS...: the target over its corpus and seeds; prints libFuzzer's last lines.
run() {
  local t=$1; shift
  mkdir -p "fuzz/corpus/$t"
  cargo +nightly fuzz run "${FUZZ_FLAGS[@]}" --target-dir "$TARGET_DIR" "$t" \
    "fuzz/corpus/$t" "fuzz/seeds/$t" -- -print_final_stats=1 "$@"
}

passed=0
failed=0
case ${1:-smoke} in
  smoke|long)
    mode=$1
    build || { echo "fuzz: 0 passed, ${#TARGETS[@]} failed (build)"; exit 1; }
    if [ "$mode" = smoke ]; then args=(-max_total_time="${2:-15}"); else args=(-runs="${2:-1000000}"); fi
    rows=()
    for t in "${TARGETS[@]}"; do
      echo "==> fuzz $t ${args[*]}"
      log=$(mktemp)
      start=$(date +%s)
      if run "$t" "${args[@]}" >"$log" 2>&1; then
        passed=$((passed + 1)); result=ok
      else
        failed=$((failed + 1)); result=CRASH
        tail -n 40 "$log"
      fi
      secs=$(( $(date +%s) - start ))
      execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
      rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
      rows+=("| \`$t\` | ${execs:-?} | ${rate:-?} | ${secs} s | $result |")
      echo "==> fuzz $t: $result, ${execs:-?} executions, ${rate:-?}/s"
      rm -f "$log"
    done
    echo
    echo "| target | executions | per second | wall time | result |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    ;;
  *)
    build || exit 1
    run "$@"
    exit $?
    ;;
esac
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

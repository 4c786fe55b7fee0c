#!/usr/bin/env bash
# The growth figures (README, Benchmarks): serve_load, drain and the console's queries with
# 0, 1,000,000 and 5,000,000 messages already stored. Needs several GB free where the
# databases go: BENCH_DIR (default a directory under /tmp), deleted as each run ends.
# SIZES="0 1000000" to choose other sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"0 1000000 5000000"}
export BENCH_DIR=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$BENCH_DIR"
echo "growth: databases in $BENCH_DIR; cores $(nproc); $(uptime)"
for n in $SIZES; do
  echo "=== $n messages already stored"
  BENCH_STORED=$n cargo bench --bench serve_load
  BENCH_STORED=$n cargo bench --bench drain
  if [ "$n" -ge 200000 ]; then
    BENCH_STORED=$n cargo bench --bench growth
  fi
  echo "load: $(uptime)"
done

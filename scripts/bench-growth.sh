#!/usr/bin/env bash
# The growth figures (docs/benchmarks.md): serve_load, drain and the console's queries with
# 0, 1,000,000 and 5,000,000 messages already stored. Needs several GB free where the
# databases go: BENCH_DIR (default a directory under /tmp); with 5,000,000 stored, the seed
# cache and one bench's copy take about 7 GB at once. Each size is seeded once
# (BENCH_SEED_CACHE, see benches/common/seed.rs) and each bench gets a copy; the cache is
# deleted when its size is done, each bench's copy when the bench ends.
# SIZES="0 1000000" to choose other sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"0 1000000 5000000"}
export BENCH_DIR=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$BENCH_DIR"
cache=""
trap 'if [ -n "$cache" ]; then rm -f "$cache" "$cache.stored" "${cache%.db}.partial"; fi' EXIT
echo "growth: databases in $BENCH_DIR; cores $(nproc); $(uptime)"
for n in $SIZES; do
  echo "=== $n messages already stored"
  cache="$BENCH_DIR/seed-$n.db"
  rm -f "$cache" "$cache.stored"
  export BENCH_SEED_CACHE="$cache"
  BENCH_STORED=$n cargo bench --bench serve_load
  BENCH_STORED=$n cargo bench --bench drain
  if [ "$n" -ge 200000 ]; then
    BENCH_STORED=$n cargo bench --bench growth
  fi
  rm -f "$cache" "$cache.stored"
  echo "load: $(uptime)"
done

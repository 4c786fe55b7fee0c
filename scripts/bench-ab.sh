#!/usr/bin/env bash
# Two builds of the serve_load bench, alternately in one sitting (A, B, A, B, ...), each run's
# load average beside its figures: on a shared machine only figures from the same sitting
# compare. Each argument is a built bench executable (`cargo bench --bench serve_load
# --no-run` prints its path; copy the baseline's away before building the change).
#
#   scripts/bench-ab.sh ROUNDS BASELINE_EXE CHANGE_EXE     (BENCH_* variables pass through)
#
# Prints, per run: which build, the load average before it, the burst's row and the no-op's,
# the SIGKILL check, and `wrk`'s rows. Full output of each run: $BENCH_AB_LOG (default
# /tmp/bench-ab-<time>.log).
set -euo pipefail
rounds=${1:?rounds}
a=${2:?baseline bench executable}
b=${3:?changed bench executable}
log=${BENCH_AB_LOG:-/tmp/bench-ab-$(date -u +%Y%m%dT%H%M%S).log}
: >"$log"
echo "A = $a"
echo "B = $b"
echo "log: $log; $(nproc) cores; $(date -u +%FT%TZ)"
for ((i = 1; i <= rounds; i++)); do
  for side in A B; do
    exe=$a
    [[ $side == B ]] && exe=$b
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    out=$("$exe" --bench 2>&1)
    {
      echo "=== round $i $side ($exe), load $load"
      echo "$out"
    } >>"$log"
    burst=$(grep -m1 '^| replaydesk serve' <<<"$out" || true)
    noop=$(grep -m1 '^| no-op' <<<"$out" || true)
    durable=$(grep -m1 '^durable:' <<<"$out" | cut -d' ' -f2-4 || true)
    wrk_rd=$(grep '^| replaydesk serve' <<<"$out" | sed -n 2p || true)
    wrk_noop=$(grep '^| no-op' <<<"$out" | sed -n 2p || true)
    echo "round $i $side | load $load | burst $burst | noop $noop | SIGKILL $durable | wrk $wrk_rd | wrk noop $wrk_noop"
  done
done

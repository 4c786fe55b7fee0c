#!/usr/bin/env bash
# Chaos, the long run: the same test as the short one in `cargo test` (tests/it/chaos.rs),
# bigger. `replaydesk serve`, a second worker (`replaydesk deliver`) on the same SQLite
# file and `replaydesk im-emulator` as separate processes; CLIENTS concurrent clients post
# timeline reports, class start/end and signed recording callbacks (with repeats) for
# SECS seconds while serve and deliver are SIGKILLed every KILL_MIN_MS..KILL_MAX_MS and
# restarted, the emulator injects error codes, HTTP 500s, lost responses, latency (and a
# 3 s spike of 1.5-3 s answers every SPIKE_SECS) and frequency errors, and the IM key is
# rotated every ROTATE_SECS. Then an independent checker reads every group through
# group_msg_get_simple and compares it with what the clients were told. Prints the report (JSON) and fails unless: at least MIN_KILLS kills
# and MIN_OPS operations, 0 lost, 0 duplicated, 0 invented, every Data as expected.
#
#   scripts/chaos.sh            (environment: SECS=480 CLIENTS=16 CLASSES=16 MIN_KILLS=10
#                                MIN_OPS=50000 ROTATE_SECS=120 KILL_MIN_MS=10000
#                                KILL_MAX_MS=30000 IM_GROUP_RATE=15 SPIKE_SECS=60
#                                SEED=random REPORT=chaos-report.json)
#
# A debug build (cargo test's); Linux or macOS. The short version is
# `cargo test -p replaydesk --test it -- chaos::` (30 s of load, kills every 2.5-5 s).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHAOS_SECS=${SECS:-480}
export CHAOS_CLIENTS=${CLIENTS:-16}
export CHAOS_CLASSES=${CLASSES:-16}
export CHAOS_MIN_KILLS=${MIN_KILLS:-10}
export CHAOS_MIN_OPS=${MIN_OPS:-50000}
export CHAOS_ROTATE_EVERY_SECS=${ROTATE_SECS:-120}
export CHAOS_KILL_MIN_MS=${KILL_MIN_MS:-10000}
export CHAOS_KILL_MAX_MS=${KILL_MAX_MS:-30000}
export CHAOS_SPIKE_EVERY_SECS=${SPIKE_SECS:-60}
export CHAOS_DRAIN_TIMEOUT_SECS=${DRAIN_TIMEOUT_SECS:-900}
# 16 groups share the load: a lower per-group limit at the emulator than the short run's 30,
# so the backlogs after kills and key switches meet real frequency errors (10023).
export CHAOS_IM_GROUP_RATE=${IM_GROUP_RATE:-15}
export CHAOS_REPORT=${REPORT:-$PWD/chaos-report.json}
[ -n "${SEED:-}" ] && export CHAOS_SEED=$SEED
cargo test -p replaydesk --test it -- chaos:: --nocapture
echo "chaos: report written to $CHAOS_REPORT"

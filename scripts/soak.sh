#!/usr/bin/env bash
# Soak: `replaydesk serve` (its own process) against `replaydesk im-emulator` (its own
# process, injecting faults: failures (10002 retry, 10023 frequency, 70001 expired UserSig,
# 10004 permanent: those become failed messages), HTTP 500s, lost responses, latency) under a steady
# mixed load for MINUTES (default 30): timeline reports from four clients, start/end,
# recording callbacks (new files and repeats), admin reads, and a bulk resend job of the
# failed messages every minute. Every SAMPLE_SECS (default 60) it samples the server's
# resident memory, open file descriptors, database size (with WAL) and the p99 / max
# latency of the requests of that interval, and prints them as a Markdown table (docs/testing.md, "Soak").
#
#   scripts/soak.sh [MINUTES]          (REPLAYDESK_BIN, default target/debug/replaydesk)
#
# Linux only (/proc). The load comes from curl loops: a steady load, not a throughput test.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
SAMPLE_SECS=${SAMPLE_SECS:-60}
BIN=${REPLAYDESK_BIN:-target/debug/replaydesk}
[ -x "$BIN" ] || { echo "soak: $BIN not found (cargo build -p replaydesk)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IM_PORT=$(free_port)
PORT=$(free_port)
APP=1400000000
IM_KEY=soak-im-secret-key-0123456789abcdef
ADMIN=soak-admin-token-0123456789
CB_KEY=soak-callback-key
BASE=http://127.0.0.1:$PORT
CLASS=soak
GROUP=soak_group

"$BIN" im-emulator --listen "127.0.0.1:$IM_PORT" --sdkappid $APP --secret-key "$IM_KEY" \
  --fail-rate 0.05 --fail-codes 10002,10023,70001,10004 --http500-rate 0.02 --lost-response-rate 0.02 \
  --latency-ms 20 --latency-jitter-ms 40 >"$work/emulator.log" 2>&1 &
pids+=($!)
# A load run: its reporters send many times faster than classroom clients (report limits off).
REPLAYDESK_LISTEN=127.0.0.1:$PORT REPLAYDESK_DB="$work/soak.db" REPLAYDESK_ADMIN_TOKEN=$ADMIN \
  REPLAYDESK_CALLBACK_KEY=$CB_KEY REPLAYDESK_IM_ENDPOINT=http://127.0.0.1:$IM_PORT \
  REPLAYDESK_IM_SDKAPPID=$APP REPLAYDESK_IM_SECRET_KEY=$IM_KEY \
  REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL=0 REPLAYDESK_LIMITS_REPORTS_PER_CLASS=0 \
  "$BIN" serve >"$work/serve.log" 2>&1 &
SERVE_PID=$!
pids+=("$SERVE_PID")
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$BASE/healthz" >/dev/null || { echo "soak: serve did not start"; cat "$work/serve.log"; exit 1; }

auth=(-H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json')
created=$(curl -sf "${auth[@]}" -d "{\"class_id\":\"$CLASS\",\"group_id\":\"$GROUP\",\"teacher_uid\":\"teacher\",\"create_group\":true}" "$BASE/v1/classes")
TEACHER=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["teacher_credential"])' <<<"$created")
cred() { curl -sf "${auth[@]}" -X POST "$BASE/v1/admin/classes/$CLASS/members/$1/credential" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"])'; }

# Every request's latency goes to $work/lat (seconds, one a line) and its status to $work/codes.
req() { curl -s -o /dev/null -w '%{time_total} %{http_code}\n' "$@" >>"$work/lat" || echo "30 000" >>"$work/lat"; }

reporter() { # uid credential
  local uid=$1 c=$2 ts=1000
  while :; do
    ts=$((ts + 250))
    req -H "Authorization: Bearer $c" -H 'Content-Type: application/json' \
      -d "{\"uid\":\"$uid\",\"timestamp\":$ts,\"rtt_ms\":12}" "$BASE/v1/classes/$CLASS/timeline"
    # Now and then the same report again (a client retry): the same message.
    if [ $((ts % 4000)) -eq 0 ]; then
      req -H "Authorization: Bearer $c" -H 'Content-Type: application/json' \
        -d "{\"uid\":\"$uid\",\"timestamp\":$ts,\"rtt_ms\":12}" "$BASE/v1/classes/$CLASS/timeline"
    fi
    sleep 0.05
  done
}

callbacks() {
  local n=0 userid
  userid=$(printf teacher | base64)
  while :; do
    n=$((n + 1))
    local t file
    t=$(date +%s)
    file=$(( n % 5 == 0 ? n - 1 : n )) # every fifth is a repeat of the one before
    sign=$(printf '%s%s' "$CB_KEY" "$t" | md5sum | cut -d' ' -f1)
    req -H 'Content-Type: application/json' -d "{\"event_type\":100,\"stream_id\":\"${APP}_${CLASS}_teacher_main\",\"stream_param\":\"groupid=$GROUP&userid=$userid\",\"file_id\":\"soak-$file\",\"video_url\":\"https://vod.example.invalid/$file.mp4\",\"start_time\":$((t - 60)),\"end_time\":$t,\"file_size\":1000,\"t\":$t,\"sign\":\"$sign\"}" "$BASE/v1/callbacks/recording"
    sleep 0.5
  done
}

admin_reads() {
  while :; do
    req -H "Authorization: Bearer $ADMIN" "$BASE/v1/admin/messages?limit=50"
    req -H "Authorization: Bearer $ADMIN" "$BASE/v1/admin/classes/$CLASS/messages?status=failed&limit=50"
    req -H "Authorization: Bearer $ADMIN" "$BASE/v1/admin/classes"
    req -H "Authorization: Bearer $ADMIN" "$BASE/v1/admin/callbacks?limit=20"
    req "$BASE/metrics"
    sleep 0.3
  done
}

bulk_job() {
  while :; do
    sleep 60
    local count
    count=$(curl -s "${auth[@]}" -d "{\"class_id\":\"$CLASS\",\"statuses\":[\"failed\"]}" "$BASE/v1/admin/resend/preview" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count",0))' 2>/dev/null || echo 0)
    if [ "${count:-0}" -gt 0 ]; then
      req "${auth[@]}" -d "{\"class_id\":\"$CLASS\",\"statuses\":[\"failed\"],\"confirm_count\":$count}" "$BASE/v1/admin/resend"
      echo "$(date +%s) $count" >>"$work/jobs"
    fi
  done
}

# The class starts; four members report; callbacks, reads and the job run beside them.
req -H "Authorization: Bearer $TEACHER" -H 'Content-Type: application/json' -d '{"uid":"teacher","timestamp":1}' "$BASE/v1/classes/$CLASS/start"
reporter teacher "$TEACHER" & pids+=($!)
for s in s1 s2 s3; do reporter "$s" "$(cred $s)" & pids+=($!); done
callbacks & pids+=($!)
admin_reads & pids+=($!)
bulk_job & pids+=($!)

metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
echo "| at (min) | requests | non-2xx | p99 ms | max ms | RSS MB | open fds | DB MB (with WAL) | sent | failed | bulk jobs |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
end=$(( $(date +%s) + MINUTES * 60 ))
i=0
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$SAMPLE_SECS"
  i=$((i + 1))
  mv "$work/lat" "$work/lat.$i" 2>/dev/null || touch "$work/lat.$i"
  n=$(wc -l <"$work/lat.$i")
  bad=$(awk '$2 !~ /^2/' "$work/lat.$i" | wc -l)
  p99=$(awk '{print $1 * 1000}' "$work/lat.$i" | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.0f", a[i]}')
  max=$(awk '{print $1 * 1000}' "$work/lat.$i" | sort -n | tail -n 1 | awk '{printf "%.0f", $1}')
  rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVE_PID/status")
  fds=$(ls "/proc/$SERVE_PID/fd" | wc -l)
  db=$(du -cb "$work"/soak.db* | tail -n 1 | awk '{printf "%.1f", $1 / 1048576}')
  sent=$(metric 'replaydesk_messages{status="sent"}')
  failed=$(metric 'replaydesk_messages{status="failed"}')
  jobs=0; [ -f "$work/jobs" ] && jobs=$(wc -l <"$work/jobs")
  at=$(awk -v i="$i" -v s="$SAMPLE_SECS" 'BEGIN {printf "%g", i * s / 60}')
  echo "| $at | $n | $bad | $p99 | $max | $rss | $fds | $db | ${sent:-?} | ${failed:-?} | $jobs |"
done

#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds, and runs ReplayDesk's main job:
# the desktop app when a display is available, otherwise `replaydesk serve` in sandbox
# mode (built-in IM emulator). Extra arguments go to `replaydesk serve`.
#
# Headless, it prints the console's address with a fresh admin token in it (once), and
# fills an empty sandbox server with demo data (`replaydesk demo --if-empty`) so that every
# console view has something to show. REPLAYDESK_DEMO=0 skips the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh
(cd ui && npm run --silent build)

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${REPLAYDESK_HEADLESS:-0}" != 1 ]; then
  echo "run: display found; starting the ReplayDesk desktop app"
  exec cargo run --locked -p replaydesk-desktop
fi

echo "run: no display; starting replaydesk serve"
cargo build --locked -p replaydesk
bin="${CARGO_TARGET_DIR:-target}/debug/replaydesk"

# Secrets this script makes up are only for settings nobody made: a configuration file
# (./replaydesk.toml or --config) or the environment wins, and env would beat a file.
uses_file=0
[ -f replaydesk.toml ] && uses_file=1
for a in "$@"; do case "$a" in --config|--config=*) uses_file=1 ;; esac; done
made_token=0
if [ "$uses_file" = 0 ] && [ -z "${REPLAYDESK_ADMIN_TOKEN:-}" ]; then
  REPLAYDESK_ADMIN_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export REPLAYDESK_ADMIN_TOKEN
  made_token=1
fi
if [ "$uses_file" = 0 ] && [ -z "${REPLAYDESK_CALLBACK_KEY:-}" ] && [ -z "${REPLAYDESK_IM_ENDPOINT:-}" ]; then
  # Sandbox: a callback key for this run, so the demo's recording callbacks are signed.
  REPLAYDESK_CALLBACK_KEY="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export REPLAYDESK_CALLBACK_KEY
fi
if [ "$uses_file" = 0 ] && [ -z "${REPLAYDESK_TRTC_CALLBACK_KEY:-}" ] && [ -z "${REPLAYDESK_IM_ENDPOINT:-}" ]; then
  # Sandbox: a TRTC callback key too (letters and digits, as TRTC's console takes), so the
  # demo's TRTC class is recorded through signed TRTC callbacks.
  REPLAYDESK_TRTC_CALLBACK_KEY="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export REPLAYDESK_TRTC_CALLBACK_KEY
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$bin" serve "$@" > >(tee "$out") &
serve=$!
trap 'kill -TERM "$serve" 2>/dev/null || true' INT TERM

url=""
for _ in $(seq 1 600); do
  url="$(sed -n 's/^console: //p' "$out" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$serve" 2>/dev/null || break
  sleep 0.1
done
if [ -n "$url" ]; then
  echo
  if [ "$made_token" = 1 ]; then
    echo "run: open the console (the admin token is in the address; the console keeps it for"
    echo "     the browser session and removes it from the address bar):"
    echo "       ${url}?token=${REPLAYDESK_ADMIN_TOKEN}"
  else
    echo "run: open the console at ${url} and sign in with your admin token"
  fi
  if [ "${REPLAYDESK_DEMO:-1}" != 0 ] && [ -n "${REPLAYDESK_ADMIN_TOKEN:-}" ]; then
    echo "run: adding demo data to an empty sandbox (REPLAYDESK_DEMO=0 skips this)"
    "$bin" demo --url "${url%/}" --if-empty || echo "run: no demo data (see above); the server keeps running"
  fi
  echo "run: serving until Ctrl-C"
fi
set +e
wait "$serve"
status=$?
# A signal interrupts the first wait; the second waits for the server to finish stopping.
kill -0 "$serve" 2>/dev/null && { wait "$serve"; status=$?; }
exit "$status"

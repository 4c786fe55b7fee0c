#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds, and runs ReplayDesk's main job:
# the desktop app when a display is available, otherwise `replaydesk serve` in sandbox
# mode (built-in IM emulator). Extra arguments go to `replaydesk serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh
(cd ui && npm run --silent build)

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${REPLAYDESK_HEADLESS:-0}" != 1 ]; then
  echo "run: display found; starting the ReplayDesk desktop app"
  exec cargo run --locked -p replaydesk-desktop
else
  echo "run: no display; starting replaydesk serve"
  exec cargo run --locked -p replaydesk -- serve "$@"
fi

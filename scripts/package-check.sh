#!/usr/bin/env bash
# CI's check of the Debian package (scripts/test.sh, step package), from the debug binary
# cargo test built:
#   1. builds it (scripts/package-deb.sh debug) and runs lintian on it: no E: tags;
#   2. rates the unit's hardening (systemd-analyze security --offline, no systemd needed);
#   3. unpacks it into a temporary root (dpkg-deb -x) and runs that binary's serve against
#      the packaged configuration layout as the unit would, then stops it with SIGTERM;
#   4. as root on a machine without ReplayDesk installed: installs it (dpkg -i), verifies
#      the installed unit (systemd-analyze verify), starts the installed server as the
#      unit would (its user, state directory, environment file and ExecStart; systemd itself
#      does not run here), takes a backup and checks /readyz, stops it, and purges it.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(bash scripts/package-deb.sh debug | tail -n 1)
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\|Installed-Size\):/  &/p'
if dpkg-deb --info "$deb" | grep -qiE 'webkit|gtk|libayatana'; then
  echo "package: depends on desktop libraries" >&2; exit 1
fi

echo "== lintian"
lintian --fail-on error --tag-display-limit 0 "$deb"

echo "== systemd-analyze security --offline"
systemd-analyze security --offline=true --threshold=20 --no-pager packaging/debian/replaydesk.service | tail -n 1

# Where ReplayDesk's serve answers, once it said so; "" if it exited first.
wait_ready() { # URL PID
  for _ in $(seq 1 300); do
    if curl -sf "$1/readyz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Sends SIGTERM and waits for a clean exit within the unit's TimeoutStopSec.
stop_clean() { # PID
  kill -TERM "$1"
  for _ in $(seq 1 450); do
    if ! kill -0 "$1" 2>/dev/null; then wait "$1"; return $?; fi
    sleep 0.1
  done
  echo "serve did not stop within TimeoutStopSec" >&2; kill -KILL "$1"; return 1
}

echo "== unpacked: serve with the packaged configuration"
root=$(mktemp -d /tmp/replaydesk-deb.XXXXXX)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
mkdir -p "$root/var/lib" && mkdir -m 0700 "$root/var/lib/replaydesk"
port=$(free_port)
# The packaged file's paths point into the real root: the state and the console are moved
# into the unpacked tree by the variables that override the file, as a drop-in would.
(
  cd "$root/var/lib/replaydesk"
  REPLAYDESK_ADMIN_TOKEN=package-check-admin-token-0001 \
  REPLAYDESK_LOG_FORMAT=json \
  REPLAYDESK_LISTEN=127.0.0.1:$port \
  REPLAYDESK_DB=$root/var/lib/replaydesk/replaydesk.db \
  REPLAYDESK_UI_DIR=$root/usr/share/replaydesk/ui \
  exec "$root/usr/bin/replaydesk" serve --config "$root/etc/replaydesk/replaydesk.toml"
) >"$root/serve.log" 2>&1 &
pid=$!
if ! wait_ready "http://127.0.0.1:$port" "$pid"; then cat "$root/serve.log"; exit 1; fi
curl -sf "http://127.0.0.1:$port/readyz"; echo
curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^replaydesk_ready 1$' \
  || { echo "package: /metrics has no replaydesk_ready 1" >&2; cat "$root/serve.log"; exit 1; }
if [ -f "$root/usr/share/replaydesk/ui/index.html" ]; then
  curl -sf "http://127.0.0.1:$port/" | grep -qi '<html' || { echo "package: the console is not served" >&2; exit 1; }
  echo "console served from the package"
fi
stop_clean "$pid"
echo "unpacked serve: started, ready, stopped cleanly"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else echo "== install: skipped (not root)"; exit 0; fi
fi
if dpkg-query -W -f='${Status}' replaydesk 2>/dev/null | grep -q "install ok installed" || [ -e /var/lib/replaydesk ]; then
  echo "== install: skipped (ReplayDesk is installed on this machine already; not touching it)"
  exit 0
fi
echo "== install"
$SUDO dpkg -i "$deb"
cleanup_install() {
  $SUDO dpkg --purge replaydesk >/dev/null || true
  $SUDO rm -rf /var/lib/replaydesk
  rm -rf "$root"
}
trap cleanup_install EXIT
systemd-analyze verify /lib/systemd/system/replaydesk.service
echo "unit verified"
stat -c '%a %U:%G %n' /etc/replaydesk /etc/replaydesk/replaydesk.toml /etc/replaydesk/secrets.env
[ "$(stat -c '%a' /etc/replaydesk/replaydesk.toml)" = 640 ]
[ "$(stat -c '%a' /etc/replaydesk/secrets.env)" = 640 ]
# As systemd would: the state directory (StateDirectory=, StateDirectoryMode=0700), the
# user, the environment file, the umask, the working directory and ExecStart.
$SUDO install -d -o replaydesk -g replaydesk -m 0700 /var/lib/replaydesk
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/replaydesk.service)
port=$(free_port)
$SUDO bash -c "set -a; . /etc/replaydesk/secrets.env; set +a; cd /var/lib/replaydesk; umask 0077; \
  exec setpriv --reuid=replaydesk --regid=replaydesk --init-groups --no-new-privs \
  env REPLAYDESK_LOG_FORMAT=json REPLAYDESK_LISTEN=127.0.0.1:$port $exec_start" >"$root/installed.log" 2>&1 &
pid=$!
if ! wait_ready "http://127.0.0.1:$port" "$pid"; then cat "$root/installed.log"; exit 1; fi
curl -sf "http://127.0.0.1:$port/readyz"; echo
token=$($SUDO sed -n 's/^REPLAYDESK_ADMIN_TOKEN=//p' /etc/replaydesk/secrets.env)
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/admin/classes" >/dev/null
echo "installed server answers its admin API with the token made at install"
$SUDO setpriv --reuid=replaydesk --regid=replaydesk --init-groups \
  /usr/bin/replaydesk backup --db /var/lib/replaydesk/replaydesk.db --to /var/lib/replaydesk/check-backup.db
for f in replaydesk.db check-backup.db; do
  got=$($SUDO stat -c '%a %U' "/var/lib/replaydesk/$f")
  [ "$got" = "600 replaydesk" ] || { echo "package: $f is $got, not 600 replaydesk" >&2; exit 1; }
done
# Run as root, backup and restore keep the store's ownership: the backup gets the store's
# owner, a restored store the owner of the state directory it lands in.
$SUDO /usr/bin/replaydesk backup --db /var/lib/replaydesk/replaydesk.db --to /var/lib/replaydesk/root-backup.db >/dev/null
$SUDO /usr/bin/replaydesk restore --from /var/lib/replaydesk/root-backup.db --db /var/lib/replaydesk/restored.db >/dev/null
for f in root-backup.db restored.db; do
  got=$($SUDO stat -c '%a %U' "/var/lib/replaydesk/$f")
  [ "$got" = "600 replaydesk" ] || { echo "package: $f made by root is $got, not 600 replaydesk" >&2; exit 1; }
done
# The token is in no log line.
if grep -qF "$token" "$root/installed.log"; then echo "the admin token was logged" >&2; exit 1; fi
stop_clean "$pid"
echo "installed server: started as replaydesk, ready, backed up, stopped cleanly"

#!/usr/bin/env bash
# Builds the Debian package of ReplayDesk's headless server (no desktop app, no WebKit) from
# a binary cargo has built, with dpkg-deb from a staging directory this script fills: no
# packaging tool to install beyond dpkg itself (docs/operations.md says why not cargo-deb).
#
#   scripts/package-deb.sh release   # target/release/replaydesk: the package to ship
#   scripts/package-deb.sh debug     # target/debug/replaydesk: what CI checks (faster)
#
# Build the binary first (cargo build --release -p replaydesk --bin replaydesk) and, for
# the console, the UI (cd ui && npm run build). Prints the .deb's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-release}
case $profile in
  release) compress=(-Zxz) ;;
  # A debug package is only checked and thrown away: fast compression.
  debug) compress=(-Zgzip -z1) ;;
  *) echo "usage: $0 [release|debug]" >&2; exit 2 ;;
esac
bin=target/$profile/replaydesk
if [ ! -x "$bin" ]; then
  echo "package-deb: $bin is missing; build it first (cargo build -p replaydesk --bin replaydesk, with --release for release)" >&2
  exit 1
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
arch=$(dpkg --print-architecture)
out_dir=target/debian
stage=$out_dir/replaydesk_${version}_${arch}
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 "$bin" "$stage/usr/bin/replaydesk"
# No debug symbols in the package (a debug build's line tables included).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/replaydesk"
install -D -m 0644 packaging/debian/replaydesk.service "$stage/lib/systemd/system/replaydesk.service"
install -D -m 0640 packaging/debian/replaydesk.toml "$stage/etc/replaydesk/replaydesk.toml"
install -D -m 0644 packaging/nginx/replaydesk.conf "$stage/usr/share/replaydesk/nginx/replaydesk.conf"
for f in replaydesk.rules.yml replaydesk.rules.test.yml replaydesk.dashboard.json; do
  install -D -m 0644 "monitoring/$f" "$stage/usr/share/replaydesk/monitoring/$f"
done
if [ -f ui/dist/index.html ]; then
  mkdir -p "$stage/usr/share/replaydesk/ui"
  cp -r ui/dist/. "$stage/usr/share/replaydesk/ui/"
else
  echo "package-deb: ui/dist is not built: the package serves the API without the console (cd ui && npm run build)" >&2
fi
doc=$stage/usr/share/doc/replaydesk
install -D -m 0644 docs/operations.md "$doc/operations.md"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: replaydesk

Files: *
Copyright: 2026 ReplayDesk contributors
License: MIT or Apache-2.0
 Licensed under either of the MIT license or the Apache License, Version 2.0, at your
 option. On Debian systems the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
chmod 0644 "$doc/copyright"
# A native package's changelog (the project's own history is CHANGELOG.md).
printf 'replaydesk (%s) unstable; urgency=medium\n\n  * Release %s; see CHANGELOG.md in the source.\n\n -- ReplayDesk maintainers <maintainers@replaydesk.org>  %s\n' \
  "$version" "$version" "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")" \
  | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage/usr/share/replaydesk" -type f -exec chmod 0644 {} +

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: replaydesk
Version: $version
Architecture: $arch
Maintainer: ReplayDesk maintainers <maintainers@replaydesk.org>
Installed-Size: $installed_size
Depends: libc6 (>= 2.34), libgcc-s1 (>= 4.2), adduser
Suggests: nginx, prometheus
Section: net
Priority: optional
Homepage: https://replaydesk.org
Description: business server for the classroom replay protocol
 ReplayDesk takes classroom clients' timeline reports and the streaming
 cloud's recording callbacks, stores them durably and delivers the replay
 protocol's messages to each class's IM ReplayGroup, with an admin console
 to audit and resend them. This package is the headless server alone, run
 by systemd as its own user (replaydesk.service).
CONTROL
echo "/etc/replaydesk/replaydesk.toml" >"$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

deb=$out_dir/replaydesk_${version}_${arch}.deb
dpkg-deb --build --root-owner-group "${compress[@]}" "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"

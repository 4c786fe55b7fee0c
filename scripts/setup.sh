#!/usr/bin/env bash
# Installs everything ReplayDesk needs on a Debian machine (12 "bookworm" or newer):
# system packages, the Rust toolchain if missing, tauri-driver for the end-to-end tests, the
# console's npm packages, and the Python package the interoperability tests compare against.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Tauri's build and runtime libraries, Xvfb + WebKitWebDriver for the window tests,
# Chromium for the console's browser tests, Python for interop checks, PostgreSQL for the
# store's second engine (scripts/test.sh starts a throwaway cluster of it for the tests),
# wrk for the serve_load benchmark's HTTP load (docs/benchmarks.md), dbus-daemon for the
# desktop test's private session bus (the app's single-instance hand-over goes over it),
# and for running it as a service (docs/operations.md): promtool (from prometheus) for the
# alerting rules' tests, nginx for the TLS proxy test, lintian for the Debian package.
# In a container Debian's policy-rc.d keeps nginx and prometheus from starting as services;
# on a machine with systemd they start (stop them if unwanted: the tests run their own).
PACKAGES=(
  build-essential pkg-config curl wget file ca-certificates git
  libwebkit2gtk-4.1-dev libdbus-1-dev libssl-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb webkit2gtk-driver imagemagick chromium dbus-daemon
  python3 python3-pip
  postgresql
  wrk
  prometheus nginx lintian openssl
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js $node_major found; the console's build (Vite) needs Node.js 20.19 or newer" >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
rustup component add clippy rustfmt >/dev/null 2>&1 || true
# The clock crate is type-checked for macOS and Windows too (scripts/test.sh, step
# clock-targets): only the standard library of those targets is needed, no C toolchain.
rustup target add aarch64-apple-darwin x86_64-pc-windows-gnu >/dev/null

# tauri-driver drives the desktop app over WebDriver in the end-to-end tests (it starts
# WebKitWebDriver, from webkit2gtk-driver above). Pinned; about a minute to build once.
TAURI_DRIVER_VERSION=2.1.0
if ! cargo install --list 2>/dev/null | grep -qxF "tauri-driver v$TAURI_DRIVER_VERSION:"; then
  echo "setup: tauri-driver $TAURI_DRIVER_VERSION (cargo install)"
  cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION" --quiet
fi

# The fuzz targets (fuzz/, scripts/fuzz.sh) need a nightly toolchain (libFuzzer's coverage
# instrumentation) and cargo-fuzz. Pinned; about three minutes to build once.
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "setup: Rust nightly toolchain (rustup)"
  rustup toolchain install nightly --profile minimal
fi
CARGO_FUZZ_VERSION=0.13.1
if ! cargo install --list 2>/dev/null | grep -qxF "cargo-fuzz v$CARGO_FUZZ_VERSION:"; then
  echo "setup: cargo-fuzz $CARGO_FUZZ_VERSION (cargo install)"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --quiet
fi

echo "setup: npm packages (ui/)"
(cd ui && npm ci --no-audit --no-fund --loglevel=error)

# Tencent's published UserSig generator, for the interop test. Installed into a private
# folder so no system Python is modified.
if ! PYTHONPATH=.tools/pydeps python3 -c 'import TLSSigAPIv2' >/dev/null 2>&1; then
  echo "setup: Python package tls-sig-api-v2 (into .tools/pydeps)"
  python3 -m pip install --quiet --disable-pip-version-check --target .tools/pydeps 'tls-sig-api-v2==1.1'
fi
echo "setup: done"

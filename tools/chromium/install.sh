#!/usr/bin/env bash
# Installs Chromium from Debian's `chromium` package for the browser end-to-end test
# (test/e2e/), which drives it with playwright-core. Never downloads a browser build. Idempotent.
set -euo pipefail
source "$(dirname "$0")/../apt-install.sh"

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "chromium: already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

apt_install chromium chromium
[ -x "$CHROMIUM" ] || { echo "chromium: the chromium package installed no $CHROMIUM" >&2; exit 1; }
echo "chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

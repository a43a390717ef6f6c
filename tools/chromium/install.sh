#!/usr/bin/env bash
# Installs Chromium from Debian's `chromium` package for the browser end-to-end test
# (test/e2e/), which drives it with playwright-core. Never downloads a browser build. Idempotent.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "chromium: already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

command -v apt-get >/dev/null || { echo "chromium: $CHROMIUM is missing and apt-get is missing; install Debian's chromium package" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "chromium: $CHROMIUM is missing, and installing it with apt-get needs root (or sudo)" >&2; exit 1; }
  sudo="sudo"
fi

if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; }; then
  echo "chromium: apt-get could not install the chromium package" >&2
  exit 1
fi
[ -x "$CHROMIUM" ] || { echo "chromium: the chromium package installed no $CHROMIUM" >&2; exit 1; }
echo "chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

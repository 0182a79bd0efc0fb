#!/usr/bin/env bash
# Screenshots of each tab (optional 3rd argument: a folder of run folders to compare in the Runs tab) of the real app on a 1440x900 Xvfb screen (Debian: xvfb, x11-apps, imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
Xvfb :97 -screen 0 1440x900x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb' EXIT
sleep 1
DISPLAY=:97 QT_QPA_PLATFORM=xcb .venv/bin/python docs/screenshots.py "$out" "${2:-8}" "${3:-}"
DISPLAY=:97 QT_QPA_PLATFORM=xcb .venv/bin/python docs/screenshots_sweeps.py "$out"

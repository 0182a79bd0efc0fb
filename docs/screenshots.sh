#!/usr/bin/env bash
# Screenshots of the real app on an Xvfb screen with openbox managing its window (Debian: xvfb, openbox, imagemagick, xdotool).
#   docs/screenshots.sh tabs [WxH]    every tab, on a 1440x900 screen unless WxH says otherwise: the numbered PNGs
#   docs/screenshots.sh screen WxH    `python main.py` as it opens on a WxH screen, then after a short run: screen-WxH*.png
# OUT (default docs/screenshots) and EPOCHS (default 8 for tabs, 3 for screen) come from the environment. Runs, settings
# and the sweep go to a temporary folder that is removed at the end; only data/ (the signal cache) is shared with the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-tabs}"
size="${2:-1440x900}"
out="$(realpath -m "${OUT:-docs/screenshots}")"
mkdir -p "$out"
work="$(mktemp -d)"
xvfb="" wm=""
trap '[ -z "$wm" ] || kill "$wm"; [ -z "$xvfb" ] || kill "$xvfb"; rm -rf "$work"' EXIT
Xvfb -displayfd 3 -screen 0 "${size}x24" -nolisten tcp 3>"$work/display" >/dev/null 2>&1 &
xvfb=$!
until [ -s "$work/display" ]; do sleep 0.1; done
export DISPLAY=":$(cat "$work/display")" QT_QPA_PLATFORM=xcb
openbox >/dev/null 2>&1 &
wm=$!
sleep 1
case "$mode" in
tabs)
  # a second group for the Runs tab to compare with the two seeds the window trains
  .venv/bin/python main.py train --runs-dir "$work/runs" --set training.num_epochs=3 --set model.hidden_size=64 --repeats 2 >/dev/null
  .venv/bin/python docs/screenshots.py "$out" "$work" "${EPOCHS:-8}"
  .venv/bin/python docs/screenshots_sweeps.py "$out" "$work"
  ;;
screen)
  .venv/bin/python docs/screenshots_screen.py "$out" "$work" "$size" "${EPOCHS:-3}"
  ;;
*)
  echo "usage: docs/screenshots.sh tabs [WxH] | screen WxH" >&2
  exit 2
  ;;
esac

#!/usr/bin/env bash
# Packaging check (CI runs it): build the wheel, install it into a fresh venv with the pinned set,
# then, from an empty folder with an empty home, run the CLI self-test, --version, and the GUI entry
# offscreen for a few seconds. Proves resources come from package data, not the working directory.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" wheel --no-deps -c "$repo/constraints.txt" -w "$work/dist" "$repo" 2>/dev/null
"${pip[@]}" install -c "$repo/constraints.txt" "$work"/dist/lstm_workbench-*.whl
mkdir "$work/empty" && cd "$work/empty"
export HOME="$work/home" XDG_DATA_HOME="$work/home/data" QT_QPA_PLATFORM=offscreen
"$work/venv/bin/lstm-workbench-cli" --self-test
"$work/venv/bin/lstm-workbench" --version
set +e
timeout 8 "$work/venv/bin/lstm-workbench" 2> "$work/gui.log"
code=$?
set -e
if [ "$code" -ne 124 ] || grep -q Traceback "$work/gui.log"; then
    echo "GUI entry: exit $code (expected 124: still running when stopped)" >&2
    cat "$work/gui.log" >&2
    exit 1
fi
test -f "$XDG_DATA_HOME/lstm-workbench/config.yaml" || { echo "GUI entry: no user config in $XDG_DATA_HOME" >&2; exit 1; }
echo "packaging check OK: wheel installs, self-test passes, GUI ran 8 s offscreen with its home in $XDG_DATA_HOME/lstm-workbench"

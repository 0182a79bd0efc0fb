#!/usr/bin/env bash
# One entry point for people and CI:  ./dev.sh app | test | setup
set -euo pipefail
cd "$(dirname "$0")"

PIP_ARGS=(-c constraints.txt -e ".[dev]")
STAMP=.venv/.setup-stamp  # what the last successful install was made from; delete it to force a reinstall

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }

# The inputs of the install: the venv's Python, the pip arguments, and the files they read.
# (The install is editable: changes to the code itself need no reinstall.)
setup_inputs() {
    .venv/bin/python -V
    echo "pip install ${PIP_ARGS[*]}"
    sha256 pyproject.toml constraints.txt
}

setup() {
    if [ ! -x .venv/bin/python ]; then
        rm -f "$STAMP"
        python3 -m venv .venv
    fi
    local inputs
    inputs="$(setup_inputs)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs" ]; then
        return 0  # nothing pip installs from has changed: skip it (pip takes seconds even with nothing to do)
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "${PIP_ARGS[@]}"
    printf '%s\n' "$inputs" >"$STAMP"  # only after a successful install (set -e stops before on failure)
}

case "${1:-app}" in
    setup) setup ;;
    app) setup; exec .venv/bin/python main.py "${@:2}" ;;
    test) setup; exec .venv/bin/python -m pytest "${@:2}" ;;
    *) echo "usage: ./dev.sh [app|test|setup]" >&2; exit 2 ;;
esac

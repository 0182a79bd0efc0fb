#!/usr/bin/env bash
# One entry point for people and CI:  ./dev.sh app | test | setup
set -euo pipefail
cd "$(dirname "$0")"

setup() {
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
}

case "${1:-app}" in
    setup) setup ;;
    app) setup; exec .venv/bin/python main.py "${@:2}" ;;
    test) setup; exec .venv/bin/python -m pytest "${@:2}" ;;
    *) echo "usage: ./dev.sh [app|test|setup]" >&2; exit 2 ;;
esac

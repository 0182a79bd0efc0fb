#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller, run its --self-test, report size and time.
#   bash packaging/build_bundle.sh        -> build/bundle/dist/lstm-workbench/lstm-workbench
set -euo pipefail
cd "$(dirname "$0")/.."
./dev.sh setup
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[bundle]"
started=$(date +%s)
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath build/bundle/dist --workpath build/bundle/work packaging/lstm-workbench.spec
seconds=$(( $(date +%s) - started ))
app=build/bundle/dist/lstm-workbench
(cd /tmp && QT_QPA_PLATFORM=offscreen "$OLDPWD/$app/lstm-workbench" --self-test)
"$app/lstm-workbench" --version
if find "$app" -name 'libcudart*' -o -name 'libcublas*' | grep -q .; then echo "CUDA libraries found in the bundle" >&2; exit 1; fi
echo "bundle: $app, $(du -sh "$app" | cut -f1) on disk, built in ${seconds} s"

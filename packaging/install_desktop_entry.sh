#!/usr/bin/env bash
# Put the launcher and its icons where Linux desktops look (per user, no root needed).
# Exec=lstm-workbench must be on PATH: pip install . (or link the bundle's executable there).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
for png in "$here"/../resources/icons/lstm-workbench-*.png; do
    size="$(basename "$png" .png)"; size="${size##*-}"
    install -D -m 644 "$png" "$data/icons/hicolor/${size}x${size}/apps/lstm-workbench.png"
done
install -D -m 644 "$here/lstm-workbench.desktop" "$data/applications/lstm-workbench.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed $data/applications/lstm-workbench.desktop and icons under $data/icons/hicolor"

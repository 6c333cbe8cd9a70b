#!/bin/sh
# Build the learners' JupyterLab extension (labextension/) with JupyterLab's own toolchain
# (@jupyterlab/builder, pinned by labextension/package-lock.json) into the Python package, at
# src/sunaba/courses/labextension/, so that the install that follows ships it.
#   usage: deploy/local/build-labextension.sh PREFIX     (PREFIX/venv has JupyterLab)
set -eu
PREFIX=${1:?usage: build-labextension.sh PREFIX}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EXT="$SRC/labextension"
if ! command -v npm >/dev/null 2>&1; then
    echo "npm が見つかりません。Node.js と npm を入れてから、もう一度実行してください（Debian: apt-get install npm）。" >&2
    exit 1
fi
cd "$EXT"
# `npm ci` starts from an empty node_modules each time: only when the lock file changed.
lock_digest=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.sunaba-lock
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_digest" ]; then
    echo "JupyterLab 拡張機能のビルドに必要なパッケージを入れています（npm ci）…"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_digest" > "$stamp"
fi
echo "JupyterLab 拡張機能（@sunaba/assignment-list）をビルドしています…"
"$PREFIX/venv/bin/jupyter" labextension build . >/dev/null

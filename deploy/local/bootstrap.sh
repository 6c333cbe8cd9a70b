#!/bin/sh
# Create the runtime venv under PREFIX from a Python every Unix user can execute (never a
# Python under /root), and install this checkout into it. Safe to run again: pip only changes
# what is out of date.
#   usage: deploy/local/bootstrap.sh PREFIX [EXTRAS]      e.g. /opt/sunaba dev
set -eu
PREFIX=${1:?usage: bootstrap.sh PREFIX [EXTRAS]}
EXTRAS=${2:-}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${SUNABA_PYTHON:-/usr/bin/python3}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
    command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing="$missing nftables"
    if [ -n "$missing" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    fi
fi

mkdir -p "$PREFIX"
chmod 755 "$PREFIX"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
    "$PYTHON" -m venv "$PREFIX/venv"
    "$PREFIX/venv/bin/pip" install -q --upgrade pip
fi
TARGET="$SRC"
[ -n "$EXTRAS" ] && TARGET="$SRC[$EXTRAS]"
# setuptools builds in the checkout's build/ and never empties it: a module moved or removed
# since the last install would still be packaged and stay importable from the prefix.
rm -rf "$SRC/build"
# A regular (not editable) install: sandboxes import Sunaba from the prefix, and the checkout
# may sit in a directory they cannot read. The constraints give every install the same versions.
"$PREFIX/venv/bin/pip" install -q --disable-pip-version-check -c "$SRC/deploy/constraints.txt" "$TARGET"
# The learners' JupyterLab extension is built with the JupyterLab just installed, into the
# package that the next line installs again.
"$SRC/deploy/local/build-labextension.sh" "$PREFIX"
"$PREFIX/venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$SRC"
chmod -R a+rX "$PREFIX/venv"

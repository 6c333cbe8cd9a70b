#!/bin/sh
# Debian packages the test suite drives: a real browser, Japanese fonts for its screenshots,
# and the servers the deploy tests start. Installed only when missing, and only as root.
set -eu
PACKAGES="chromium fonts-ipafont-gothic fonts-ipaexfont-gothic bubblewrap nginx slapd ldap-utils postgresql-client systemd openssl nftables iproute2"
[ "$(id -u)" = 0 ] || { echo "test-tools: not root, assuming the packages are present"; exit 0; }
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

#!/usr/bin/env bash
# Make sure the Debian programs the tests drive are installed: etcd (consortium mode),
# Chromium (explorer browser tests) and a CJK font (the explorer's Chinese pages and PDF).
# As root with apt-get, missing ones are installed; otherwise this says what to install and
# fails, so tests never silently skip them.
set -euo pipefail

# binary or file                                   Debian package
REQUIRED="
etcd                                               etcd-server
etcdctl                                            etcd-client
chromium                                           chromium
/usr/share/fonts/truetype/wqy/wqy-microhei.ttc     fonts-wqy-microhei
"

missing=()
while read -r binary package; do
    [ -z "${binary}" ] && continue
    if [ "${binary#/}" != "${binary}" ]; then
        [ -e "${binary}" ] || missing+=("${package}")
    else
        command -v "${binary}" >/dev/null 2>&1 || missing+=("${package}")
    fi
done <<< "${REQUIRED}"

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi

echo "amchain tests need these Debian packages: ${missing[*]}" >&2
echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
exit 1

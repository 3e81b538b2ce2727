#!/usr/bin/env bash
# package-test.sh builds the packages and checks them the way a distribution
# would: lintian on the .deb (errors fail, warnings are shown), `rpm -qlp` on
# the .rpm, then, as root, `dpkg -i`, the installed units through
# `systemd-analyze --user verify`, `dpkg -r` and `dpkg -P`. lintian and rpm
# are installed through apt when root and missing; otherwise those checks
# are skipped with the reason.
#
# Usage: scripts/package-test.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf -- '--- %s\n' "$*"; }
apt_get() {
	[ "$(id -u)" -eq 0 ] || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

scripts/package.sh >/dev/null
deb=$(ls dist/xaad_*.deb)
rpm=$(ls dist/xaad-*.rpm)
say "built $deb and $rpm"

if command -v lintian >/dev/null || apt_get lintian; then
	# lintian warns about running as root; that line is noise here.
	out=$(lintian --fail-on error "$deb" 2>&1) || { echo "$out"; echo "lintian found errors"; exit 1; }
	say "lintian: no errors"
	[ -z "$out" ] || echo "$out" | grep -v 'running with root privileges' || true
else
	say "SKIP lintian: not installed and cannot install it (not root)"
fi

want="/etc/xaad/config.toml
/usr/bin/xaactl
/usr/bin/xaad
/usr/lib/systemd/user/xaad.service
/usr/lib/systemd/user/xaad.socket"
if command -v rpm >/dev/null || apt_get rpm; then
	files=$(rpm -qlp "$rpm" 2>/dev/null)
	for f in $want; do
		grep -qx "$f" <<<"$files" || { echo "$rpm lacks $f:"; echo "$files"; exit 1; }
	done
	rpm -qp --configfiles "$rpm" 2>/dev/null | grep -qx /etc/xaad/config.toml || { echo "/etc/xaad/config.toml is not a config file in $rpm"; exit 1; }
	say "rpm -qlp: binaries, units and the config file are there"
else
	say "SKIP rpm -qlp: rpm is not installed and cannot be installed (not root)"
fi

if [ "$(id -u)" -ne 0 ]; then
	say "SKIP dpkg -i / -r: needs root"
	exit 0
fi
if dpkg -s xaad >/dev/null 2>&1; then
	echo "a xaad package is already installed on this machine; not touching it"; exit 1
fi
tmp=$(mktemp -d)
trap 'dpkg -P xaad >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
dpkg -i "$deb" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
grep -q 'systemctl --user enable --now xaad.socket' "$tmp/install.log" || { echo "postinst did not explain how to enable xaad:"; cat "$tmp/install.log"; exit 1; }
for f in $want; do [ -e "$f" ] || { echo "dpkg -i did not install $f"; exit 1; }; done
/usr/bin/xaad version
/usr/bin/xaactl --help >/dev/null 2>&1 || /usr/bin/xaactl help >/dev/null
# The installed units, as installed (recipe D: any output fails).
mkdir -p -m 700 "$tmp/rt"
out=$(cd /usr/lib/systemd/user && XDG_RUNTIME_DIR="$tmp/rt" HOME="$tmp" systemd-analyze --user verify --man=no xaad.socket xaad.service 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "systemd-analyze verify on the installed units:"; echo "$out"; exit 1; }
say "dpkg -i: installed; the installed units verify cleanly"

dpkg -r xaad >/dev/null
for f in /usr/bin/xaad /usr/bin/xaactl /usr/lib/systemd/user/xaad.service /usr/lib/systemd/user/xaad.socket; do
	[ ! -e "$f" ] || { echo "dpkg -r left $f"; exit 1; }
done
[ -e /etc/xaad/config.toml ] || { echo "dpkg -r removed the administrator's /etc/xaad/config.toml"; exit 1; }
dpkg -P xaad >/dev/null
[ ! -e /etc/xaad ] || { echo "dpkg -P left /etc/xaad"; ls -la /etc/xaad; exit 1; }
say "dpkg -r removed the files and kept the config; dpkg -P removed the config"

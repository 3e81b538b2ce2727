#!/usr/bin/env bash
# package-test.sh builds the packages and checks them the way a distribution
# would: lintian on the .deb (errors fail, warnings are shown), `rpm -qlp` on
# the .rpm, then, as root, `dpkg -i`, the installed units through
# `systemd-analyze --user verify`, the installed man pages (`man
# --warnings`) and completions, `dpkg -r` and `dpkg -P`. lintian, rpm,
# man-db and groff-base are installed through apt when root and missing;
# otherwise those checks are skipped with the reason (under CI=true a skip
# fails: scripts/lib.sh). The packaged xaad must hold no testbed: it is
# built with -tags nodemo, and its `demo` says how to run the demo from
# source.
#
# Usage: scripts/package-test.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/lib.sh
say() { printf -- '--- %s\n' "$*"; }

# The generated man pages and completions (internal/cmd/xaad-gendocs): its
# test renders the pages through man and groff, which come from man-db and
# groff-base (installed here when root and missing; the test skips without,
# and fails under CI=true).
command -v man >/dev/null && command -v groff >/dev/null || apt_install man-db groff-base || true
go test -count=1 ./internal/cmd/xaad-gendocs/ >/dev/null || { go test -count=1 -v ./internal/cmd/xaad-gendocs/; exit 1; }
say "man pages and completions: generated, render without warnings, document every command and flag"

scripts/package.sh >/dev/null
deb=$(ls dist/xaad_*.deb)
rpm=$(ls dist/xaad-*.rpm)
say "built $deb and $rpm"

# The packaged daemon carries no testbed (a token-minting fake IdP and
# authorization server): built with -tags nodemo, it holds none of
# internal/testbed's code, and its demo command points to the source.
bin=dist/stage/xaad
go version -m "$bin" | grep -q -- '-tags=nodemo' || { echo "$bin was not built with -tags nodemo:"; go version -m "$bin"; exit 1; }
if grep -q -a 'xaad-dev/xaad/internal/testbed' "$bin"; then
	echo "$bin contains internal/testbed code"; exit 1
fi
if out=$("$bin" demo 2>&1) || ! grep -q 'go run ./cmd/xaad demo' <<<"$out"; then
	echo "$bin demo did not refuse with the way to run the demo from source:"; echo "$out"; exit 1
fi
say "the packaged xaad has no testbed; its demo command says how to run the demo from source"

if command -v lintian >/dev/null || apt_install lintian; then
	# lintian warns about running as root; that line is noise here.
	out=$(lintian --fail-on error "$deb" 2>&1) || { echo "$out"; echo "lintian found errors"; exit 1; }
	say "lintian: no errors"
	# The man pages are generated (internal/cmd/xaad-gendocs); lintian must
	# find one for each binary and no error in them.
	if grep -E 'no-manual-page|manpage-has-errors|manpage-has-bad-whatis|groff-message' <<<"$out"; then
		echo "lintian: the man pages are missing or broken"; exit 1
	fi
	[ -z "$out" ] || echo "$out" | grep -v 'running with root privileges' || true
else
	skip "lintian" "lintian is not installed and cannot be installed (not root)"
fi

# The man pages and completions internal/cmd/xaad-gendocs writes.
docs="/usr/share/man/man1/xaad.1.gz
/usr/share/man/man1/xaactl.1.gz
/usr/share/bash-completion/completions/xaad
/usr/share/bash-completion/completions/xaactl
/usr/share/zsh/vendor-completions/_xaad
/usr/share/zsh/vendor-completions/_xaactl
/usr/share/fish/vendor_completions.d/xaad.fish
/usr/share/fish/vendor_completions.d/xaactl.fish"
want="/etc/xaad/config.toml
/usr/bin/xaactl
/usr/bin/xaad
/usr/lib/systemd/user/xaad.service
/usr/lib/systemd/user/xaad.socket
$docs"
if command -v rpm >/dev/null || apt_install rpm; then
	files=$(rpm -qlp "$rpm" 2>/dev/null)
	for f in $want; do
		grep -qx "$f" <<<"$files" || { echo "$rpm lacks $f:"; echo "$files"; exit 1; }
	done
	rpm -qp --configfiles "$rpm" 2>/dev/null | grep -qx /etc/xaad/config.toml || { echo "/etc/xaad/config.toml is not a config file in $rpm"; exit 1; }
	grep -qx /usr/share/licenses/xaad/LICENSE <<<"$files" || { echo "$rpm lacks the license"; exit 1; }
	[ "$(rpm -qp --queryformat '%{LICENSE}' "$rpm" 2>/dev/null)" = Apache-2.0 ] || { echo "$rpm: License is not Apache-2.0"; exit 1; }
	say "rpm -qlp: binaries, units, config file, man pages, completions and license are there"
else
	skip "rpm -qlp" "rpm is not installed and cannot be installed (not root)"
fi

if [ "$(id -u)" -ne 0 ]; then
	skip "dpkg -i / -r" "installing the .deb needs root"
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
grep -q 'License: Apache-2.0' /usr/share/doc/xaad/copyright || { echo "/usr/share/doc/xaad/copyright does not say Apache-2.0"; exit 1; }
if command -v man >/dev/null || apt_install man-db; then
	for p in xaad xaactl; do
		out=$(MANWIDTH=80 man --warnings -E UTF-8 "$p" 2>&1 >/dev/null) || { echo "man $p failed: $out"; exit 1; }
		[ -z "$out" ] || { echo "man --warnings $p:"; echo "$out"; exit 1; }
	done
	say "man xaad, man xaactl: installed, no warnings"
else
	skip "man xaad" "man-db is not installed and cannot be installed"
fi
bash -c '. /usr/share/bash-completion/completions/xaactl && complete -p xaactl' >/dev/null || { echo "the bash completion of xaactl does not load"; exit 1; }
/usr/bin/xaad version
/usr/bin/xaactl --help >/dev/null 2>&1 || /usr/bin/xaactl help >/dev/null
# The installed units, as installed (recipe D: any output fails).
mkdir -p -m 700 "$tmp/rt"
out=$(cd /usr/lib/systemd/user && XDG_RUNTIME_DIR="$tmp/rt" HOME="$tmp" systemd-analyze --user verify --man=no xaad.socket xaad.service 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "systemd-analyze verify on the installed units:"; echo "$out"; exit 1; }
say "dpkg -i: installed; the installed units verify cleanly"

dpkg -r xaad >/dev/null
for f in /usr/bin/xaad /usr/bin/xaactl /usr/lib/systemd/user/xaad.service /usr/lib/systemd/user/xaad.socket $docs; do
	[ ! -e "$f" ] || { echo "dpkg -r left $f"; exit 1; }
done
[ -e /etc/xaad/config.toml ] || { echo "dpkg -r removed the administrator's /etc/xaad/config.toml"; exit 1; }
dpkg -P xaad >/dev/null
[ ! -e /etc/xaad ] || { echo "dpkg -P left /etc/xaad"; ls -la /etc/xaad; exit 1; }
say "dpkg -r removed the files and kept the config; dpkg -P removed the config"

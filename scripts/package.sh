#!/usr/bin/env bash
# package.sh builds the .deb and the .rpm of xaad into dist/: static binaries
# for the host architecture (or $GOARCH), the systemd user units, the example
# /etc/xaad/config.toml and the docs, packed by nfpm (packaging/nfpm.yaml).
# nfpm v2.45.2 is installed into ${XAAD_CACHE:-.cache}/bin when missing
# (v2.48.0 cannot be installed here: docs/toolchain.md §1).
#
# Usage: scripts/package.sh   (XAAD_VERSION=1.2.3 sets the version; default
# 0.1.0 with a ~dev.<commit> pre-release suffix)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${XAAD_CACHE:-$root/.cache}
mkdir -p "$cache/bin"
nfpm="$cache/bin/nfpm"
if [ ! -x "$nfpm" ] || ! "$nfpm" --version 2>/dev/null | grep -q 'v2.45.2'; then
	echo "installing nfpm v2.45.2 into $cache/bin (about 30 s, once)"
	GOBIN="$cache/bin" go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
fi

export GOARCH=${GOARCH:-$(go env GOARCH)}
export XAAD_VERSION=${XAAD_VERSION:-0.1.0}
if [ -z "${XAAD_PRERELEASE+x}" ]; then
	XAAD_PRERELEASE="dev.$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
fi
export XAAD_PRERELEASE
full=$XAAD_VERSION${XAAD_PRERELEASE:+~$XAAD_PRERELEASE}

stage=dist/stage
rm -rf "$stage"
mkdir -p "$stage"
# Static, reproducible binaries: no cgo (the packages then need no libc of a
# given version), no build paths, the version stamped in. PIE for address
# randomization; it also tells lintian the static link is deliberate (its
# Go exemption looks only at a source package's Build-Depends). -tags
# nodemo leaves the testbed (a fake IdP and authorization server that mint
# tokens) out of xaad: its demo runs from the source only
# (cmd/xaad/demo_nodemo.go; scripts/package-test.sh checks the result).
for cmd in xaad xaactl; do
	CGO_ENABLED=0 go build -tags nodemo -trimpath -buildvcs=false -buildmode=pie \
		-ldflags "-s -w -X main.version=$full" -o "$stage/$cmd" "./cmd/$cmd"
done
# Man pages and shell completions from the command lines; Debian wants the
# man pages gzipped. (The generator runs on this machine, whatever $GOARCH.)
GOARCH=$(go env GOHOSTARCH) go run ./internal/cmd/xaad-gendocs -out "$stage/docs" -version "$full"
gzip -9n "$stage"/docs/man1/*.1
# Debian wants compressed docs and a changelog, both with fixed timestamps.
gzip -9n <README.md >"$stage/README.md.gz"
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'xaad (%s) unstable; urgency=medium\n\n  * Build of commit %s.\n\n -- xaad developers <xaad-dev@users.noreply.github.com>  %s\n' \
	"$full" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$date" | gzip -9n >"$stage/changelog.gz"

rm -f dist/xaad*.deb dist/xaad*.rpm
for fmt in deb rpm; do
	"$nfpm" package --config packaging/nfpm.yaml --packager "$fmt" --target dist/
done
ls -l dist/*.deb dist/*.rpm

#!/usr/bin/env bash
# test.sh is the project's one test command: formatting, vet, staticcheck,
# the generated-code check, every Go test with the race detector, the
# TypeScript SDK client test of xaactl proxy, DPoP proofs against
# oidc-provider, and the official MCP conformance scenario. It installs
# what it needs when missing: Debian packages when run as root, Go tools
# and npm packages into .cache/.
#
# Usage: scripts/test.sh [--quick]   (--quick skips staticcheck, the TypeScript
#                                     client test, the DPoP interop check and
#                                     conformance)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${XAAD_CACHE:-$root/.cache}
mkdir -p "$cache/bin"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
	# Installs Debian packages when root; refreshes the index once if the
	# first attempt fails (a fresh machine may have none).
	[ "$(id -u)" -eq 0 ] || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then
	echo "these files need gofmt:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

if [ "$quick" -eq 0 ]; then
	step "staticcheck"
	if [ ! -x "$cache/bin/staticcheck" ]; then
		echo "installing staticcheck v0.8.2 into $cache/bin (about a minute, once)"
		GOBIN="$cache/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	fi
	"$cache/bin/staticcheck" ./...

	step "generated protobuf code matches proto/"
	if command -v protoc >/dev/null 2>&1 && [ -f /usr/include/google/protobuf/timestamp.proto ] ||
		apt_install protobuf-compiler libprotobuf-dev; then
		scripts/checkproto.sh
	else
		# CI runs as root and always makes this check.
		echo "skipped: protoc is missing and cannot be installed without root (apt-get install protobuf-compiler libprotobuf-dev)"
	fi
fi

# The browser sign-in test drives a real headless Chromium; it skips, and
# says why, where chromium is missing and cannot be installed.
if ! command -v chromium >/dev/null 2>&1; then
	apt_install chromium || echo "chromium is missing and cannot be installed (not root): the real-browser sign-in test will skip"
fi

# The Secret Service key provider is tested against a real headless
# gnome-keyring (daemon/keys_keyring_test.go); without it that test skips.
if ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
	apt_install --no-install-recommends gnome-keyring libsecret-tools ||
		echo "gnome-keyring is missing and cannot be installed (not root): TestKeyringProvider will skip"
fi

step "go test -race ./..."
go test -race -count=1 ./... 2>&1 | tee "$cache/gotest.log"

if [ "$quick" -eq 0 ]; then
	step "TypeScript SDK client through xaactl proxy"
	scripts/ts-client-test.sh
fi

if [ "$quick" -eq 0 ]; then
	step "DPoP proofs checked by an independent verifier (oidc-provider)"
	scripts/dpop-interop.sh
fi

if [ "$quick" -eq 0 ]; then
	step "MCP conformance: auth/cross-app-access-complete-flow"
	scripts/conformance.sh
fi

if [ "$quick" -eq 0 ]; then
	step "packages: .deb and .rpm, lintian, rpm -qlp, dpkg -i / -r (root)"
	scripts/package-test.sh
fi

step "all checks passed"

#!/usr/bin/env bash
# test.sh is the project's one test command: formatting, vet, staticcheck,
# the generated-code check, every Go test with the race detector, and the
# official MCP conformance scenario. It installs what it needs when missing:
# Debian packages when run as root, Go tools and npm packages into .cache/.
#
# Usage: scripts/test.sh [--quick]   (--quick skips staticcheck and conformance)
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
	if ! command -v protoc >/dev/null 2>&1 || [ ! -f /usr/include/google/protobuf/timestamp.proto ]; then
		apt_install protobuf-compiler libprotobuf-dev || { echo "protoc is missing and cannot be installed (not root)"; exit 1; }
	fi
	scripts/checkproto.sh
fi

step "go test -race ./..."
go test -race -count=1 ./... 2>&1 | tee "$cache/gotest.log"

if [ "$quick" -eq 0 ]; then
	step "MCP conformance: auth/cross-app-access-complete-flow"
	scripts/conformance.sh
fi

step "all checks passed"

#!/usr/bin/env bash
# test.sh is the project's one test command: formatting, vet, staticcheck,
# the generated-code check, every Go test with the race detector, the
# TypeScript SDK client test of xaactl proxy, Claude Code, Codex and the MCP
# Inspector with the snippets of docs/clients.md, DPoP proofs against
# oidc-provider, the official MCP conformance scenarios and the .deb/.rpm
# checks. It installs what it needs when missing: Debian packages when run
# as root, Go tools and npm packages into .cache/.
# It ends with the list of every skipped test or check and why, and the
# time each step took.
#
# Usage: scripts/test.sh [--quick]   (--quick: gofmt, vet and go test only)
#
# Under CI=true (.ci/run sets it) nothing may be skipped for a missing tool
# or privilege: such a test or check fails instead (internal/testenv).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/lib.sh
cache=${XAAD_CACHE:-$root/.cache}
mkdir -p "$cache/bin"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

export XAAD_SKIPS=$cache/skips.tsv
: >"$XAAD_SKIPS"
timings=()
current=""
started=$SECONDS

step() {
	[ -z "$current" ] || timings+=("$(printf '%5ss  %s' $((SECONDS - step_start)) "$current")")
	current=$*
	step_start=$SECONDS
	[ -z "$current" ] || printf '\n==> %s\n' "$current"
}

# The summary is printed however the run ends, so a failure still shows
# what was skipped before it.
summary() {
	local rc=$?
	step ""
	printf '\n==> skipped tests and checks\n'
	if [ -s "$XAAD_SKIPS" ]; then
		awk -F'\t' '{ printf "  [%s] %s: %s\n", $1, $2, $3 }' "$XAAD_SKIPS"
	else
		echo "  none"
	fi
	printf '\n==> time per step\n'
	printf '  %s\n' "${timings[@]}"
	printf '%7ss  total\n' $((SECONDS - started))
	if [ "$rc" -eq 0 ]; then
		printf '\n==> all checks passed\n'
	else
		printf '\n==> FAILED (exit %s)\n' "$rc"
	fi
}
trap summary EXIT

# Debian packages the tests need, as "program package" pairs: a program
# that is missing gets its package installed. Without root nothing is
# installed and the tests that need it skip (or fail under CI=true).
needs=(
	"gcc gcc" "/usr/include/stdio.h libc6-dev" # go test -race needs cgo
	"systemd-socket-activate systemd" "systemd-analyze systemd" "systemctl systemd" "/lib/systemd/systemd systemd"
	"dbus-daemon dbus" "dbus-run-session dbus" "dbus-send dbus-bin" "unshare util-linux"
	"chromium chromium" "gnome-keyring-daemon gnome-keyring"
	"man man-db" "groff groff-base" "zsh zsh" "fish fish"
)
if [ "$quick" -eq 0 ]; then
	needs+=(
		"protoc protobuf-compiler" "/usr/include/google/protobuf/timestamp.proto libprotobuf-dev"
		"lintian lintian" "rpm rpm" "npm npm"
	)
fi

step "Debian packages the tests need"
missing=()
for need in "${needs[@]}"; do
	read -r prog pkg <<<"$need"
	if ! command -v "$prog" >/dev/null 2>&1 && [ ! -e "$prog" ]; then
		[[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "all installed"
elif apt_install "${missing[@]}"; then
	echo "installed ${missing[*]}"
else
	skip "Debian packages" "${missing[*]} missing and not installable (not root): the tests that need them skip"
fi

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
	if command -v protoc >/dev/null 2>&1 && [ -f /usr/include/google/protobuf/timestamp.proto ]; then
		scripts/checkproto.sh
	else
		skip "generated protobuf code" "protoc is missing (apt-get install protobuf-compiler libprotobuf-dev)"
	fi
fi

step "go test -race ./..."
# The JSON stream is kept whole in $cache/gotest.json; xaad-testreport
# prints what plain go test would, and collects the skips.
go build -o "$cache/bin/xaad-testreport" ./internal/cmd/xaad-testreport
go test -race -count=1 -json ./... 2>&1 | tee "$cache/gotest.json" | "$cache/bin/xaad-testreport" -skips "$XAAD_SKIPS"

if [ "$quick" -eq 0 ]; then
	step "fuzz targets, a few thousand inputs each (scripts/fuzz.sh -t 10m for a long run)"
	scripts/fuzz.sh
fi

if [ "$quick" -eq 0 ]; then
	step "TypeScript SDK client through xaactl proxy"
	scripts/ts-client-test.sh

	step "Claude Code, Codex and the MCP Inspector with the snippets of docs/clients.md"
	scripts/clients-test.sh

	step "DPoP proofs checked by an independent verifier (oidc-provider)"
	scripts/dpop-interop.sh

	step "MCP conformance: the EMA scenario and the transport scenarios through xaactl proxy"
	scripts/conformance.sh

	step "packages: .deb and .rpm, lintian, rpm -qlp, dpkg -i / -r (root)"
	scripts/package-test.sh
fi

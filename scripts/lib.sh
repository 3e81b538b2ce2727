# lib.sh: shell helpers for the test scripts; source it, don't run it.
#
#   apt_install PKG...     install Debian packages (root only; returns 1 otherwise)
#   skip WHAT WHY          record a skipped check; under CI=true fail instead
#   bg NAME CMD...         start CMD in the background (needs $XAAD_BG, a folder)
#   bg_wait NAME           wait for it, show its output; its exit status
#   bg_keep NAME           bg_stop waits for NAME instead of stopping it
#   bg_stop                stop the background jobs still running
#
# skip appends "script<TAB>WHAT<TAB>WHY" to $XAAD_SKIPS when that is set
# (scripts/test.sh sets it and lists every skip at the end of the run).

apt_install() {
	# A fresh machine may have no package index: install, and if that
	# fails refresh the index once and try again. apt's chatter goes to a
	# log that is shown only when it fails.
	[ "$(id -u)" -eq 0 ] || return 1
	local log rc=0
	log=$(mktemp)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >"$log" 2>&1 ||
		{ apt-get update -q >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1; } ||
		rc=$?
	[ "$rc" -eq 0 ] || { echo "apt-get install $* failed:"; tail -n 20 "$log"; }
	rm -f "$log"
	return "$rc"
}

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 was not checked: $2 (CI=true makes a skipped check a failure)" >&2
		exit 1
	fi
	echo "SKIP $1: $2"
	if [ -n "${XAAD_SKIPS:-}" ]; then
		printf 'script\t%s\t%s\n' "$1" "$2" >>"$XAAD_SKIPS"
	fi
}

# Background jobs: scripts/test.sh starts installs that need the network and
# little CPU (npm packages, Go tools) early, so they overlap the Go steps,
# and the step that needs one waits for it. A job's output goes to
# $XAAD_BG/NAME.log and is shown by bg_wait, in full, in the step that waits
# for it; its exit status and time go to $XAAD_BG/NAME.rc when it ends.
# Each job runs in a session of its own (setsid), so bg_stop can end it and
# its children by their process group when the run stops early.
bg() {
	local name=$1
	shift
	rm -f "$XAAD_BG/$name.rc" "$XAAD_BG/$name.shown"
	# The rc file appears whole (mv), so a waiter never reads half of it.
	setsid bash -c '"$@" >"$0.log" 2>&1; echo "$? $SECONDS" >"$0.rc.tmp"; mv "$0.rc.tmp" "$0.rc"' \
		"$XAAD_BG/$name" "$@" </dev/null &
	echo "$!" >"$XAAD_BG/$name.pid"
}

bg_wait() {
	local name=$1 rc secs waited=$SECONDS
	[ -f "$XAAD_BG/$name.pid" ] || { echo "bg_wait: no background job $name" >&2; return 2; }
	while [ ! -f "$XAAD_BG/$name.rc" ]; do
		if ! kill -0 "$(cat "$XAAD_BG/$name.pid")" 2>/dev/null && [ ! -f "$XAAD_BG/$name.rc" ]; then
			echo "background job $name ended without a status (killed?); its output:"
			cat "$XAAD_BG/$name.log"
			return 1
		fi
		sleep 0.5
	done
	read -r rc secs <"$XAAD_BG/$name.rc"
	if [ ! -f "$XAAD_BG/$name.shown" ]; then
		: >"$XAAD_BG/$name.shown"
		printf -- '--- background: %s, %ss (waited %ss here), exit %s; its output:\n' "$name" "$secs" $((SECONDS - waited)) "$rc"
		sed 's/^/  | /' "$XAAD_BG/$name.log"
	fi
	return "$rc"
}

bg_keep() {
	: >"$XAAD_BG/$1.keep"
}

bg_stop() {
	local f pid
	for f in "$XAAD_BG"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ ! -f "${f%.pid}.rc" ] || continue
		if [ -f "${f%.pid}.keep" ]; then
			# Stopping it half way would leave it broken (apt's dpkg).
			echo "waiting for the background job $(basename "${f%.pid}") to finish ..."
			while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
		else
			kill -TERM -- "-$pid" 2>/dev/null || true
		fi
	done
}

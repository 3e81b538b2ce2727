# lib.sh: shell helpers for the test scripts; source it, don't run it.
#
#   apt_install PKG...     install Debian packages (root only; returns 1 otherwise)
#   skip WHAT WHY          record a skipped check; under CI=true fail instead
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

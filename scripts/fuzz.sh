#!/usr/bin/env bash
# fuzz.sh runs every Go native fuzz target of the module for a short, fixed
# time each (the seeds under testdata/fuzz/ are replayed by plain `go test`
# already; this step looks for new inputs). A failure leaves the crashing
# input under the package's testdata/fuzz/<Target>/ for `go test` to replay.
#
# Usage: scripts/fuzz.sh [-t FUZZTIME] [PACKAGE...]
#   -t FUZZTIME  how long each target runs, as go test's -fuzztime takes it:
#                a count of inputs (default $XAAD_FUZZTIME or 3000x) or a
#                duration (-t 10m for a long run). A count, not a duration, by
#                default: go's fuzzer fails with "context deadline exceeded"
#                when a duration ends while it still replays the corpus, which
#                a loaded machine makes likely for short durations.
#   PACKAGE      limit to these packages (default: every package with a
#                Fuzz function)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${XAAD_FUZZTIME:-3000x}
if [ "${1:-}" = "-t" ]; then
	fuzztime=$2
	shift 2
fi
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi

n=0
failed=()
for pkg in "${pkgs[@]}"; do
	# The targets from the source, not `go test -list`, which builds and
	# links a test binary per package only to print names. A name found here
	# that the build leaves out (a build constraint) makes go test say "no
	# fuzz tests to fuzz", which fails below.
	mapfile -t targets < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p' "$pkg"/*_test.go | sort -u)
	[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no Fuzz function found in $pkg"; failed+=("$pkg (none found)"); }
	for t in "${targets[@]}"; do
		n=$((n + 1))
		# -fuzzminimizetime keeps a short run from spending its time
		# minimising the first new input it finds.
		if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime 1s "$pkg" >/tmp/xaad-fuzz.$$ 2>&1 ||
			grep -q 'no fuzz tests to fuzz' /tmp/xaad-fuzz.$$; then
			cat /tmp/xaad-fuzz.$$
			failed+=("$pkg $t")
		else
			printf '  %-40s %s\n' "$t" "$pkg"
		fi
	done
done
rm -f /tmp/xaad-fuzz.$$
echo "fuzz: $n targets, $fuzztime each, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf '  FAILED: %s\n' "${failed[@]}"
	exit 1
fi

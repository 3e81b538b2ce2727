#!/usr/bin/env bash
# Regenerate the figures of docs/fleet.md: every line of the doc that
# starts with "xaad fleet-sim " is run with the xaad built from this tree,
# and its JSON summary and PNG plot are kept under docs/fleet/ (the CSV is
# dropped: it is large and the JSON and the plot say what the doc needs).
# Each run's wall time is printed, for the doc's table of run times.
#
# Usage: scripts/fleet-figures.sh [PATTERN]   (only the runs whose line matches PATTERN)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/xaad" ./cmd/xaad
grep -E '^xaad fleet-sim ' docs/fleet.md | grep -e "${1:-}" | while read -r line; do
	read -ra args <<<"${line#xaad }"
	start=$(date +%s.%N)
	"$bin/xaad" "${args[@]}" --quiet >/dev/null
	end=$(date +%s.%N)
	out=$(sed -E 's/.*--out ([^ ]+).*/\1/' <<<"$line")
	rm -f "$out.csv"
	printf '%6.1f s  %s\n' "$(echo "$end - $start" | bc)" "$line"
done

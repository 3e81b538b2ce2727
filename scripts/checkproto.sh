#!/usr/bin/env bash
# checkproto.sh fails when the committed generated code in proto/ is not what
# scripts/genproto.sh produces from the committed .proto files: someone edited
# a .proto without regenerating, or edited generated code by hand.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scripts/genproto.sh "$tmp"

status=0
while IFS= read -r gen; do
	rel=${gen#"$tmp"/}
	if ! diff -u "proto/$rel" "$gen" >"$tmp/diff.txt" 2>&1; then
		cat "$tmp/diff.txt"
		status=1
	fi
done < <(find "$tmp" -name '*.pb.go' | LC_ALL=C sort)

# A committed generated file with no .proto behind it is stale too.
while IFS= read -r have; do
	rel=${have#proto/}
	if [ ! -f "$tmp/$rel" ]; then
		echo "stale generated file with no .proto source: $have"
		status=1
	fi
done < <(find proto -name '*.pb.go' | LC_ALL=C sort)

if [ "$status" -ne 0 ]; then
	echo "checkproto: generated code in proto/ is out of date; run scripts/genproto.sh and commit the result" >&2
	exit 1
fi
echo "checkproto: generated code is up to date"

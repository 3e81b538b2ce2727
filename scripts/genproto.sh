#!/usr/bin/env bash
# genproto.sh regenerates the Go code in proto/ from the .proto files.
#
# The generated *.pb.go files are committed, so building and testing need no
# protoc; run this only after editing a .proto file. The plugins come from the
# tool block of go.mod so every machine generates byte-identical code, and
# Debian's protoc 3.21 writes the same version into every header.
#
# Usage: scripts/genproto.sh [OUT_DIR]
#   OUT_DIR defaults to proto/ (next to the sources); checkproto.sh passes a
#   temporary directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-proto}

. scripts/lib.sh
if ! command -v protoc >/dev/null 2>&1 || ! [ -f /usr/include/google/protobuf/timestamp.proto ]; then
	echo "genproto: installing protoc (protobuf-compiler, libprotobuf-dev)" >&2
	if ! apt_install protobuf-compiler libprotobuf-dev; then
		echo "genproto: protoc or the well-known types are missing." >&2
		echo "  install them with: sudo apt-get install -y protobuf-compiler libprotobuf-dev" >&2
		exit 1
	fi
fi

# Build the plugins at the versions pinned in go.mod's tool block.
mkdir -p .bin
go build -o .bin/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

mkdir -p "$out"
# Sorted so the file order, and with it the output, never depends on the
# filesystem.
mapfile -t files < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
(
	cd proto
	PATH="$root/.bin:$PATH" protoc -I . -I /usr/include \
		--go_out="$(cd "$root" && realpath "$out")" --go_opt=paths=source_relative \
		--go-grpc_out="$(cd "$root" && realpath "$out")" --go-grpc_opt=paths=source_relative \
		"${files[@]}"
)

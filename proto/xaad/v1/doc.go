// Package xaadv1 is the Go code generated from xaad.proto, the gRPC API of the
// xaad daemon. The .proto file is the API reference; regenerate with
// scripts/genproto.sh and never edit the *.pb.go files by hand.
//
// It imports nothing from xaad, so any MCP client may depend on it.
package xaadv1

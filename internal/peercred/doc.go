// Package peercred identifies the process at the other end of a Unix socket
// by its kernel-reported credentials (SO_PEERCRED) and carries them into gRPC.
//
// On the server, wrap the listener in a [Listener] so credentials are read
// once, at accept time, serve it with [TransportCredentials], and refuse other
// users with [UIDInterceptor]:
//
//	unary, stream := peercred.UIDInterceptor(uint32(os.Getuid()), logger)
//	srv := grpc.NewServer(
//		grpc.Creds(peercred.TransportCredentials()),
//		grpc.ChainUnaryInterceptor(unary),
//		grpc.ChainStreamInterceptor(stream),
//	)
//	srv.Serve(peercred.Listener{Listener: ln, Logger: logger})
//
// A [Limiter] in the Listener bounds the connections held open, per process,
// for other uids and in total, at accept time before the process is pinned
// (see [Limits]); [ConnInterceptors] then tell a refused caller why and keep
// busy connections from being closed to make room.
//
// Handlers read the caller with [FromContext]. A client dialing with
// [TransportCredentials] learns the server's credentials the same way (pass
// grpc.Peer to a call), so it can check the daemon runs as its own user.
//
// # Caveats
//
// The pid is the peer's at connect time. A process can exit and its pid be
// reused while the connection lives on, so treat the pid as a hint for logs
// and later executable checks, not as proof of identity; the uid is reliable.
package peercred

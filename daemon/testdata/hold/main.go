// Command hold opens connections to a daemon and keeps them until its
// standard input closes: a stand-in for a greedy process in the limit
// tests. Usage: hold SOCKET CONNS STREAMS, where each connection makes one
// health Check and then opens STREAMS health Watch streams (0: it stays
// idle). It prints one line, "held C connections, S streams", or the
// first refusal, "refused: CODE REASON: MESSAGE", and then waits.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func main() {
	conns, _ := strconv.Atoi(os.Args[2])
	streams, _ := strconv.Atoi(os.Args[3])
	ctx := context.Background()
	held, opened := 0, 0
	for range conns {
		cc, err := grpc.NewClient("unix://"+os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			refused(err)
		}
		hc := healthpb.NewHealthClient(cc)
		if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			refused(err)
		}
		held++
		for range streams {
			w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				_, err = w.Recv()
			}
			if err != nil {
				refused(err)
			}
			opened++
		}
	}
	fmt.Printf("held %d connections, %d streams\n", held, opened)
	io.Copy(io.Discard, os.Stdin)
}

// refused reports the first refusal and holds what it has.
func refused(err error) {
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			reason = ei.GetReason()
		}
	}
	fmt.Printf("refused: %s %s: %s\n", st.Code(), reason, st.Message())
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

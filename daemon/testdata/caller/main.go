// Command caller asks a daemon for a token once and prints the outcome: a
// stand-in for an MCP client in the caller-policy tests, built into two
// paths so that one is allowed and the other is not, and in the limit
// tests. Usage: caller SOCKET URL [force]; with force, the request forces
// a refresh and "ok" is followed by the token's fingerprint.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, os.Args[1])
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(2)
	}
	defer c.Close()
	force := len(os.Args) > 3 && os.Args[3] == "force"
	tok, err := c.Raw().GetToken(ctx, &xaadv1.GetTokenRequest{Resource: os.Args[2], ForceRefresh: force})
	switch {
	case err == nil && force:
		sum := sha256.Sum256([]byte(tok.GetAccessToken()))
		fmt.Println("ok", hex.EncodeToString(sum[:4])) // as broker.Fingerprint
		return
	case err == nil:
		fmt.Println("ok")
		return
	}
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			reason = ei.GetReason()
		}
	}
	fmt.Printf("code=%s reason=%s msg=%s\n", st.Code(), reason, st.Message())
}

package daemon

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// listServers converts servers for a Status or ListServers reply, as many
// as fit in maxListedServers and maxListedBytes, so a reply never grows
// with what the broker holds (a Status of 40 servers with 4 MiB URLs used
// to build a 503 MB reply). A server too large for what is left is skipped
// and counted, like those past the count.
func listServers(all []broker.ServerInfo) (list []*xaadv1.ServerStatus, omitted uint32) {
	size := 0
	for i, si := range all {
		if len(list) == maxListedServers {
			return list, omitted + uint32(len(all)-i)
		}
		p := serverProto(si)
		if n := proto.Size(p); size+n <= maxListedBytes {
			list, size = append(list, p), size+n
			continue
		}
		omitted++
	}
	return list, omitted
}

// omittedWarning is Status's sentence about servers listServers left out.
func omittedWarning(omitted uint32) string {
	return fmt.Sprintf("%d servers are not listed here: a reply lists at most %d servers and %d KiB of them (docs/limits.md); remove those you no longer use with `xaactl server rm URL`",
		omitted, maxListedServers, maxListedBytes>>10)
}

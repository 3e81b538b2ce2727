package socket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/coreos/go-systemd/v22/activation"
)

// FDName is the FileDescriptorName= the xaad.socket unit gives its socket.
const FDName = "grpc"

// FromSystemd returns the listening socket systemd passed in by socket
// activation. It prefers the one named [FDName]; otherwise it takes the only
// one passed. ok is false when the process was not socket-activated. It is an
// error if several sockets were passed and none is named FDName, if none of
// the passed descriptors is a stream listener, or if the chosen one is not a
// Unix socket (peer credentials exist only there).
//
// The LISTEN_* variables are unset on return so child processes don't inherit
// them. The listener does not remove the socket file on Close: it belongs to
// systemd, which keeps listening for the next activation.
func FromSystemd() (ln net.Listener, ok bool, err error) {
	// Read before activation unsets it: it tells "not activated" apart
	// from "activated with nothing usable".
	activated := os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) && os.Getenv("LISTEN_FDS") != ""
	byName, err := activation.ListenersWithNames()
	if err != nil {
		return nil, false, fmt.Errorf("systemd sockets: %w", err)
	}
	var all []net.Listener
	for _, lns := range byName {
		all = append(all, lns...)
	}
	if len(all) == 0 {
		if activated {
			return nil, false, errors.New("systemd sockets: none of the passed descriptors is a stream listener")
		}
		return nil, false, nil
	}
	switch named := byName[FDName]; {
	case len(named) == 1:
		ln = named[0]
	case len(named) > 1:
		err = fmt.Errorf("systemd sockets: %d sockets are named %q; expected one", len(named), FDName)
	case len(all) == 1:
		ln = all[0]
	default:
		err = fmt.Errorf("systemd sockets: %d sockets passed and none is named %q; set FileDescriptorName=%s", len(all), FDName, FDName)
	}
	// Close what we will not serve so the descriptors don't leak.
	for _, l := range all {
		if l != ln {
			l.Close()
		}
	}
	if err != nil {
		return nil, false, err
	}
	if _, isUnix := ln.(*net.UnixListener); !isUnix {
		ln.Close()
		return nil, false, fmt.Errorf("systemd socket %s is not a Unix socket; xaad needs one to check peer credentials", ln.Addr())
	}
	return ln, true, nil
}

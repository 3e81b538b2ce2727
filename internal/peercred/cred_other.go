//go:build !linux

package peercred

import (
	"errors"
	"fmt"
)

var errUnsupported = fmt.Errorf("SO_PEERCRED: %w", errors.ErrUnsupported)

// getsockoptCred fails closed where SO_PEERCRED does not exist, so code that
// imports this package (the client) still builds there.
func getsockoptCred(int) (Cred, error) { return Cred{}, errUnsupported }

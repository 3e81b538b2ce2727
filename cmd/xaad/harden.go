package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// errRoot explains the refusal to run as root: xaad holds one person's
// credentials and serves only the uid it runs as, so as root it would serve
// root's processes alone while its files become root's.
var errRoot = errors.New("refusing to run as root: xaad holds one person's credentials and should run as that person (systemctl --user start xaad); pass --allow-root for a container or CI where root is the only user")

// harden applies the process-wide protections before any secret is read:
//   - PR_SET_DUMPABLE=0 (and no core size): no core dump carries a token,
//     and other processes of the same user cannot ptrace the daemon or read
//     its /proc/<pid>/mem and environ;
//   - umask 077: every file xaad creates (database, audit log, key file,
//     socket) is private even where code forgets an explicit mode.
//
// It is a function of the process, so it lives here in main and not in
// daemon.Run, which tests and the demo call in their own processes.
func harden(euid int, allowRoot bool) error {
	if euid == 0 && !allowRoot {
		return errRoot
	}
	unix.Umask(0o077)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}

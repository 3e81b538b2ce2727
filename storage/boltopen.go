package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// flockRetry is how often a held lock is tried again, as bbolt does.
const flockRetry = 50 * time.Millisecond

// openBolt opens the bbolt file at path, creating it unless readOnly, once
// checkFile has accepted it. The lock is taken first, on the descriptor
// that bbolt is then handed, so that no other xaad writes the file between
// the check and the mapping: a file read while another process commits to
// it could look damaged, and a damaged file gets moved aside. An empty file
// is new and not checked (bbolt writes its first pages). Every file opened
// is added to files, for recovering to close should bbolt fault midway.
func openBolt(path string, readOnly bool, timeout time.Duration, files *fileSet) (*bolt.DB, error) {
	flag := os.O_RDWR | os.O_CREATE
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, err
	}
	files.add(f)
	if err := lockFile(f, !readOnly, timeout); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	heal := false
	if fi.Size() > 0 {
		if heal, err = checkFile(f, fi.Size()); err != nil {
			f.Close()
			return nil, err
		}
	}
	// bbolt takes the lock again on the same open file description, which
	// flock grants: it is this process's own lock.
	b, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: readOnly,
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err == nil && heal && !readOnly {
		if err = healMetas(b); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, err
}

// healMetas rewrites both meta pages of a file one of whose metas is
// damaged: each commit writes the meta page of its txid's parity, header
// and all, so two empty ones cover both, the damaged one whichever it is.
// The data is the valid meta's; only the lost commit (if the damaged meta
// was the newer) stays lost. A reader (Inspect) does not need this: only
// bbolt's consistency check reads the meta pages' headers.
func healMetas(b *bolt.DB) error {
	for range 2 {
		if err := b.Update(func(*bolt.Tx) error { return nil }); err != nil {
			return fmt.Errorf("rewrite the damaged meta page: %w", err)
		}
	}
	return nil
}

// lockFile is bbolt's flock: exclusive for a writer, shared for a reader,
// retried until timeout, then berrors.ErrTimeout.
func lockFile(f *os.File, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if !time.Now().Add(flockRetry).Before(deadline) {
			return berrors.ErrTimeout
		}
		time.Sleep(flockRetry)
	}
}

// fileSet remembers the files openBolt opened.
type fileSet struct{ files []*os.File }

func (s *fileSet) add(f *os.File) {
	if s != nil {
		s.files = append(s.files, f)
	}
}

// closeAll closes the files directly, never through bbolt, whose state a
// fault may have left half done; that releases the descriptors and the
// locks. bbolt's mapping of a file that faulted stays: a few pages of
// address space, once. Closing a file bbolt already closed is harmless.
func (s *fileSet) closeAll() {
	for _, f := range s.files {
		f.Close()
	}
}

// recovering runs fn and turns a panic, or a memory fault on bbolt's
// mapping, into an error wrapping [ErrCorrupt]; onPanic (if not nil) runs
// first. Without debug.SetPanicOnFault a SIGBUS on a mapped page past the
// end of a file kills the process; with it, the fault is a panic in this
// goroutine. checkFile keeps bbolt from faulting: this is the second line,
// for what the checker does not foresee. Goroutines bbolt starts itself are
// not covered, which is why the checker must hold.
func recovering(what string, onPanic func(), fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if onPanic != nil {
			onPanic()
		}
		err = fmt.Errorf("%s: %w (bbolt failed reading it: %v)", what, ErrCorrupt, r)
	}()
	return fn()
}

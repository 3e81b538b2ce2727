package peercred

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// soPeerPidfd is SO_PEERPIDFD (Linux 6.5+; asm-generic value, used by
// amd64 and arm64), not yet in x/sys/unix: a pidfd for the process that
// called connect, immune to pid reuse.
const soPeerPidfd = 77

// maxExeSize bounds the hashing work one caller can cause, as SPIRE's
// workload_size_limit does.
const maxExeSize = 1 << 30

// handle pins the peer process: its pidfd (or -1) and a descriptor of its
// /proc directory, both opened at accept time.
type handle struct {
	pidfd, dirfd int
	start        uint64
	exeDev       uint64
	exeIno       uint64
	err          error
	// mu keeps close from releasing the descriptors while a check reads
	// through them: a closed descriptor's number is soon another's (a
	// new connection's pin), and must never be read as this caller's.
	mu     sync.RWMutex
	closed bool
}

// errClosed is Alive's answer once the connection, and its pin, closed.
var errClosed = errors.New("the caller's connection has closed")

// pin runs in Accept: a few syscalls, no hashing.
func pin(sockfd int, pid int32) *handle {
	h := &handle{pidfd: -1, dirfd: -1}
	if fd, err := unix.GetsockoptInt(sockfd, unix.SOL_SOCKET, soPeerPidfd); err == nil {
		h.pidfd = fd
	} else if errors.Is(err, unix.ESRCH) {
		h.err = ErrExited
		return h
	}
	dirfd, err := unix.Open("/proc/"+strconv.Itoa(int(pid)), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		h.err = procErr(err)
		return h
	}
	h.dirfd = dirfd
	// With a pidfd, the process being alive now proves the directory just
	// opened is its own: a pid is not reused while its process lives.
	if err := h.signal0(); err != nil {
		h.err = err
		return h
	}
	if h.start, err = startTime(dirfd); err != nil {
		h.err = procErr(err)
	}
	return h
}

func (h *handle) signal0() error {
	if h.pidfd < 0 {
		return nil
	}
	if err := unix.PidfdSendSignal(h.pidfd, 0, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrExited
		}
		return fmt.Errorf("check the calling process: %w", err)
	}
	return nil
}

// alive re-checks the pin: still running (pidfd), same start time (the
// directory still belongs to it), same executable file (no exec since).
func (h *handle) alive() error {
	if h == nil || h.dirfd < 0 {
		return errors.New("caller not identified")
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.aliveLocked()
}

func (h *handle) aliveLocked() error {
	if h.closed {
		return errClosed
	}
	if err := h.signal0(); err != nil {
		return err
	}
	st, err := startTime(h.dirfd)
	if err != nil {
		return procErr(err)
	}
	if st != h.start {
		return ErrExited
	}
	var s unix.Stat_t
	if err := unix.Fstatat(h.dirfd, "exe", &s, 0); err != nil {
		return procErr(err)
	}
	if s.Dev != h.exeDev || s.Ino != h.exeIno {
		return errors.New("the calling process now runs another executable (exec after connecting)")
	}
	return nil
}

func (h *handle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, fd := range []int{h.pidfd, h.dirfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// identify reads the executable's path and hash through the pin, then
// checks the pin again: a process that exited (or exec'd) meanwhile yields
// an error, never another process's identity.
func identify(h *handle, pid int32, cache *hashCache) *Process {
	p := &Process{PID: pid, h: h, StartTime: h.start}
	if h.err != nil {
		p.Err = h.err
		return p
	}
	h.mu.RLock()
	exe, sum, err := "", "", errClosed
	if !h.closed {
		exe, sum, err = readExe(h, cache)
	}
	if err == nil {
		err = h.aliveLocked()
	}
	h.mu.RUnlock()
	if err != nil {
		p.Err = err
		return p
	}
	p.Exe, p.SHA256 = exe, sum
	return p
}

func readExe(h *handle, cache *hashCache) (string, string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(h.dirfd, "exe", buf)
	if err != nil {
		return "", "", procErr(err)
	}
	exe := string(buf[:n])
	fd, err := unix.Openat(h.dirfd, "exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", "", procErr(err)
	}
	f := os.NewFile(uintptr(fd), exe)
	defer f.Close()
	var s unix.Stat_t
	if err := unix.Fstat(fd, &s); err != nil {
		return "", "", err
	}
	h.exeDev, h.exeIno = s.Dev, s.Ino
	id := fileID{dev: s.Dev, ino: s.Ino, size: s.Size, mtime: s.Mtim.Nano(), ctime: s.Ctim.Nano()}
	if sum, ok := cache.get(id); ok {
		return exe, sum, nil
	}
	if s.Size > maxExeSize {
		return "", "", fmt.Errorf("executable %s is larger than %d bytes; not hashed", exe, maxExeSize)
	}
	d := sha256.New()
	if _, err := io.Copy(d, io.LimitReader(f, maxExeSize)); err != nil {
		return "", "", fmt.Errorf("hash %s: %w", exe, err)
	}
	sum := hex.EncodeToString(d.Sum(nil))
	cache.put(id, sum)
	return exe, sum, nil
}

// startTime reads field 22 of stat through the /proc directory descriptor.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'.
func startTime(dirfd int) (uint64, error) {
	fd, err := unix.Openat(dirfd, "stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 1024)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return 0, err
	}
	s := string(buf[:n])
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, errors.New("short /proc stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// procErr explains the /proc errors a caller can cause.
func procErr(err error) error {
	switch {
	case errors.Is(err, unix.ESRCH), errors.Is(err, unix.ENOENT):
		return ErrExited
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("/proc refused to describe the calling process (is it non-dumpable?): %w", err)
	}
	return fmt.Errorf("read /proc for the calling process: %w", err)
}

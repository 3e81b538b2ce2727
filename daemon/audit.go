package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditFile is the audit log in the state folder. Older entries rotate to
// AuditFile.1 (newest) ... AuditFile.<auditKeep> (oldest).
const AuditFile = "audit.jsonl"

const (
	auditMaxSize = 4 << 20 // bytes before rotating: about 20,000 events
	auditKeep    = 5
)

// AuditEvent is one line of the audit log: who asked for what and how it
// went. It holds a short fingerprint of a token handed out
// (broker.Fingerprint), never the token. xaactl audit reads these lines
// (cmd/xaactl/cli/audit.go keeps its own copy of the shape, so the CLI
// links none of the daemon); fields are only ever added.
type AuditEvent struct {
	Time      time.Time   `json:"time"`
	Operation string      `json:"op"`
	Server    string      `json:"server,omitempty"`
	Outcome   string      `json:"outcome"` // ok, denied or error
	Reason    string      `json:"reason,omitempty"`
	Caller    AuditCaller `json:"caller"`
	TokenFP   string      `json:"token_fp,omitempty"`
}

// AuditCaller is the calling process as the daemon saw it at accept.
type AuditCaller struct {
	PID    int32  `json:"pid"`
	UID    uint32 `json:"uid"`
	Exe    string `json:"exe,omitempty"`
	SHA256 string `json:"exe_sha256,omitempty"`
	// ExeError says why Exe is missing (the caller exited first, ...).
	ExeError string `json:"exe_error,omitempty"`
}

// auditLog appends JSON lines to a 0600 file and rotates it by size. It is
// safe for concurrent use. A write failure is logged and does not fail the
// request: the audit log records, the policy decides.
// auditLog appends events from a writer goroutine: a request only encodes
// its line and queues it, so the audit costs the cached GetToken path no
// system call; the writer batches whatever is queued into one write. A
// crash loses at most the lines queued in the last moment, never half a
// line.
type auditLog struct {
	// mu guards closed and the sends on lines: Close waits for senders.
	mu     sync.RWMutex
	closed bool
	lines  chan []byte
	done   chan struct{}

	// Owned by the writer goroutine (and Close after it ended).
	path    string
	f       *os.File
	size    int64
	maxSize int64
	log     *slog.Logger
}

// auditQueue bounds the lines waiting for the writer; a full queue makes
// requests wait rather than drop an audit event.
const auditQueue = 1024

func openAudit(stateDir string, log *slog.Logger) (*auditLog, error) {
	a := &auditLog{path: filepath.Join(stateDir, AuditFile), maxSize: auditMaxSize, log: log,
		lines: make(chan []byte, auditQueue), done: make(chan struct{})}
	if err := a.open(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	go a.run()
	return a, nil
}

func (a *auditLog) open() error {
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	a.f, a.size = f, st.Size()
	return nil
}

func (a *auditLog) write(ev AuditEvent) {
	line, err := json.Marshal(ev)
	if err != nil {
		return // plain strings and numbers: cannot happen
	}
	line = append(line, '\n')
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		a.lines <- line
	}
}

// run writes queued lines until Close, each batch in one write (O_APPEND:
// a reader never sees half a line from this process).
func (a *auditLog) run() {
	defer close(a.done)
	var batch []byte
	for line := range a.lines {
		batch = append(batch[:0], line...)
	more:
		for len(batch) < 64<<10 {
			select {
			case l, ok := <-a.lines:
				if !ok {
					break more
				}
				batch = append(batch, l...)
			default:
				break more
			}
		}
		a.append(batch)
	}
}

// append writes batch (whole lines), rotating first whenever the next line
// would take the file past maxSize; the lines that fit go in one write.
func (a *auditLog) append(batch []byte) {
	for len(batch) > 0 && a.f != nil {
		n := 0 // bytes of batch that fit in the current file
		for n < len(batch) {
			end := n + bytes.IndexByte(batch[n:], '\n') + 1
			if a.size+int64(end) > a.maxSize && (a.size > 0 || n > 0) {
				break
			}
			n = end
		}
		if n == 0 {
			if err := a.rotate(); err != nil {
				a.log.Error("cannot rotate the audit log", slog.String("path", a.path), slog.Any("error", err))
			}
			continue
		}
		w, err := a.f.Write(batch[:n])
		a.size += int64(w)
		if err != nil {
			a.log.Error("cannot write the audit log", slog.String("path", a.path), slog.Any("error", err))
			return
		}
		batch = batch[n:]
	}
}

// rotate shifts AuditFile.N to .N+1 (dropping the oldest) and starts a new
// file. Called by the writer goroutine.
func (a *auditLog) rotate() error {
	a.f.Close()
	a.f = nil
	os.Remove(fmt.Sprintf("%s.%d", a.path, auditKeep))
	for i := auditKeep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", a.path, i), fmt.Sprintf("%s.%d", a.path, i+1))
	}
	if err := os.Rename(a.path, a.path+".1"); err != nil {
		return err
	}
	return a.open()
}

// Close writes what is queued and closes the file.
func (a *auditLog) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.lines)
	a.mu.Unlock()
	<-a.done
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}

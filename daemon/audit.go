package daemon

import (
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
type auditLog struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	maxSize int64
	log     *slog.Logger
}

func openAudit(stateDir string, log *slog.Logger) (*auditLog, error) {
	a := &auditLog{path: filepath.Join(stateDir, AuditFile), maxSize: auditMaxSize, log: log}
	if err := a.open(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
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
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return
	}
	if a.size > 0 && a.size+int64(len(line)) > a.maxSize {
		if err := a.rotate(); err != nil {
			a.log.Error("cannot rotate the audit log", slog.String("path", a.path), slog.Any("error", err))
		}
	}
	// One write per line, O_APPEND: a reader never sees half a line from
	// this process, and a crash loses at most the line being written.
	n, err := a.f.Write(line)
	a.size += int64(n)
	if err != nil {
		a.log.Error("cannot write the audit log", slog.String("path", a.path), slog.Any("error", err))
	}
}

// rotate shifts AuditFile.N to .N+1 (dropping the oldest) and starts a new
// file. Called with a.mu held.
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

func (a *auditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}

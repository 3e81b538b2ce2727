package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/internal/auditlog"
	"github.com/xaad-dev/xaad/internal/clock"
)

// auditMaxSize is the size at which the log rotates: with Keep old files,
// the history is 24 MiB, about 100,000 events.
const auditMaxSize = 4 << 20

// auditRotateRetry is how long the log waits, after a rotation failed
// (a rename refused, a full disk), before it tries again; meanwhile it
// goes on writing to the current file, past auditMaxSize.
const auditRotateRetry = time.Minute

// auditQueue bounds the events waiting for the writer; a full queue makes
// requests wait rather than drop an audit event.
const auditQueue = 1024

// auditLog appends records (internal/auditlog) to a 0600 file from a writer
// goroutine, [auditLog.Run]: a request only encodes its record and queues
// it, so the audit costs the cached GetToken path no system call; the
// writer batches whatever is queued into one write. A crash loses at most
// the records queued in the last moment, never half a line. A write
// failure is logged and does not fail the request: the audit log records,
// the policy decides. What one caller can fill is bounded (auditBudget),
// so a flood cannot rotate the history away.
type auditLog struct {
	// mu guards closed and the sends on queue: closing waits for senders.
	mu     sync.RWMutex
	closed bool
	queue  chan auditItem

	// Owned by the writer goroutine (and close, once it has ended).
	path    string
	f       *os.File
	size    int64
	maxSize int64
	clock   clock.Clock
	log     *slog.Logger
	budget  *auditBudget
	// rotateErr is the last rotation failure, logged once, until a
	// rotation succeeds; none is tried before rotateAfter.
	rotateErr   error
	rotateAfter time.Time
}

// auditItem is a queued event, cleaned, and its encoded line.
type auditItem struct {
	ev   auditlog.Event
	line []byte
}

func newAuditLog(stateDir string, c clock.Clock, log *slog.Logger) (*auditLog, error) {
	a := &auditLog{path: filepath.Join(stateDir, auditlog.File), maxSize: auditMaxSize, clock: c, log: log,
		queue: make(chan auditItem, auditQueue), budget: newAuditBudget()}
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

// write queues ev. It is safe for concurrent use, and a no-op once the
// log is closed.
func (a *auditLog) write(ev auditlog.Event) {
	ev = ev.Clean()
	it := auditItem{ev: ev, line: auditlog.EncodeClean(ev)}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		a.queue <- it
	}
}

// Run writes queued records until ctx ends, then writes what is still
// queued and closes the file. Each window of the clock it writes what the
// budget folded.
func (a *auditLog) Run(ctx context.Context) error {
	window := a.clock.NewTicker(auditWindow)
	defer window.Stop()
	stop := context.AfterFunc(ctx, a.closeQueue)
	defer stop()
	var batch []byte
	for {
		select {
		case it, ok := <-a.queue:
			if !ok {
				a.flushFolded()
				a.closeFile()
				return nil
			}
			batch = a.take(batch[:0], it)
			a.append(batch)
		case <-window.C():
			a.flushFolded()
		}
	}
}

// take adds it and whatever else is queued (up to 64 KiB) to batch,
// leaving out what the budget folds.
func (a *auditLog) take(batch []byte, it auditItem) []byte {
	for {
		if a.budget.admit(it.ev, len(it.line)) {
			batch = append(batch, it.line...)
		} else if a.budget.foldedNow == 1 {
			a.log.Warn("a caller exceeds its share of the audit log; folding its repeated events into counted records",
				slog.Int("pid", int(it.ev.Caller.PID)), slog.String("exe", it.ev.Caller.Exe))
		}
		if len(batch) >= 64<<10 {
			return batch
		}
		var ok bool
		select {
		case it, ok = <-a.queue:
			if !ok {
				return batch
			}
		default:
			return batch
		}
	}
}

// flushFolded writes the counted records of the window that ended.
func (a *auditLog) flushFolded() {
	var batch []byte
	for _, ev := range a.budget.endWindow() {
		batch = append(batch, auditlog.EncodeClean(ev)...)
	}
	a.append(batch)
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
			if a.rotate() {
				continue
			}
			// Losing records is worse than a file past its size: the
			// batch goes to the current file.
			n = len(batch)
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

// rotate shifts File.N to .N+1 (dropping the oldest) and starts a new
// file, reporting whether it did. On failure the current file stays open,
// so writing goes on, and the failure is logged once; rotation is tried
// again after auditRotateRetry. Called by the writer goroutine.
func (a *auditLog) rotate() bool {
	now := a.clock.Now()
	if a.rotateErr != nil && now.Before(a.rotateAfter) {
		return false
	}
	if err := a.rotateFiles(); err != nil {
		if a.rotateErr == nil {
			a.log.Error("cannot rotate the audit log; writing on to the current file, and trying again later",
				slog.String("path", a.path), slog.Any("error", err))
		}
		a.rotateErr, a.rotateAfter = err, now.Add(auditRotateRetry)
		return false
	}
	if a.rotateErr != nil {
		a.log.Info("the audit log rotates again", slog.String("path", a.path))
		a.rotateErr = nil
	}
	return true
}

// rotateFiles renames the files and opens a new current one; the old one
// is closed only once the new one is open, so a failure leaves a file to
// write to (the renamed one, if only the open failed).
func (a *auditLog) rotateFiles() error {
	dir := filepath.Dir(a.path)
	// Renamed by a try whose open failed: the history is shifted already.
	if _, err := os.Lstat(a.path); !errors.Is(err, fs.ErrNotExist) {
		os.Remove(auditlog.Path(dir, auditlog.Keep))
		for i := auditlog.Keep - 1; i >= 1; i-- {
			os.Rename(auditlog.Path(dir, i), auditlog.Path(dir, i+1)) // a gap in the history is no reason to stop
		}
		if err := os.Rename(a.path, auditlog.Path(dir, 1)); err != nil {
			return err
		}
	}
	old := a.f
	if err := a.open(); err != nil {
		return err
	}
	old.Close()
	return nil
}

// closeQueue makes write a no-op and ends Run once the queue is drained.
func (a *auditLog) closeQueue() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
}

func (a *auditLog) closeFile() {
	if a.f != nil {
		if err := a.f.Close(); err != nil {
			a.log.Error("cannot close the audit log", slog.String("path", a.path), slog.Any("error", err))
		}
		a.f = nil
	}
}

// close is for a log whose Run never ran (a daemon built and not run).
func (a *auditLog) close() {
	a.closeQueue()
	a.closeFile()
}

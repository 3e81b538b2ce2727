package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"
)

// The checker reads bbolt's on-disk format (go.etcd.io/bbolt, format
// version 2) with ordinary reads, before bbolt maps the file. bbolt trusts
// every offset and page id it finds in the mapping: a page id past the end
// of a truncated file is a SIGBUS, an element offset past its page a SIGSEGV
// or a wild read, a wrong page header a panic in a goroutine of bbolt's own
// that no recover reaches. checkFile refuses every file in which any of that
// could happen, so that bbolt only ever maps a file whose every reachable
// byte lies inside it.
//
// bbolt writes its structures in the machine's byte order.
var boltOrder = binary.NativeEndian

// Layout of bbolt's format (internal/common of go.etcd.io/bbolt).
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	metaSize         = 64 // magic, version, page size, flags u32; root bucket; freelist, pgid, txid, checksum u64
	metaSummed       = 56 // the checksum covers the meta up to itself

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01 // leaf element flag: the value is a nested bucket

	boltMagic   = 0xED0CDAED
	boltVersion = 2
	noFreelist  = ^uint64(0) // the freelist is not stored (NoFreelistSync)
	// freelistBigCount in a freelist page's count means the real count is
	// the first id slot.
	freelistBigCount = 0xFFFF

	// bbolt uses the OS page size; 1 KiB to 64 KiB covers every platform.
	minPageSize = 1 << 10
	maxPageSize = 64 << 10
	// maxDepth bounds the recursion over trees and the buckets nested in
	// them: with two children per branch, 2^64 keys take 64 levels, and
	// xaad nests no buckets.
	maxDepth = 128
)

// damagedf makes a finding of the checker; every one wraps ErrCorrupt.
func damagedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// boltMeta is one of the two meta pages: bbolt writes them in turn, each
// commit to the one of its txid's parity, and uses the valid one with the
// higher txid. The other is the previous commit, kept so that a write torn
// by a power cut falls back to it.
type boltMeta struct {
	headerOK bool // page header says "meta page <index>"
	valid    bool // magic, version and checksum as bbolt's Validate
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // the high-water mark: pages [0, pgid) are in use
	txid     uint64
}

// readMeta reads the meta page at off, which should be meta page index.
// ok is false when the file ends first; err is a read error, which is not
// damage: a disk that fails to read says nothing about the bytes on it.
func readMeta(r io.ReaderAt, off int64, index uint64) (m boltMeta, ok bool, err error) {
	buf, err := readFull(r, pageHeaderSize+metaSize, off)
	if errors.Is(err, errShort) {
		return boltMeta{}, false, nil
	}
	if err != nil {
		return boltMeta{}, false, err
	}
	b := buf[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(b[:metaSummed])
	return boltMeta{
		headerOK: boltOrder.Uint64(buf[0:]) == index && boltOrder.Uint16(buf[8:]) == metaPage,
		valid: boltOrder.Uint32(b[0:]) == boltMagic && boltOrder.Uint32(b[4:]) == boltVersion &&
			boltOrder.Uint64(b[metaSummed:]) == h.Sum64(),
		pageSize: boltOrder.Uint32(b[8:]),
		root:     boltOrder.Uint64(b[16:]),
		freelist: boltOrder.Uint64(b[32:]),
		pgid:     boltOrder.Uint64(b[40:]),
		txid:     boltOrder.Uint64(b[48:]),
	}, true, nil
}

// pageSizeOf finds the page size as bbolt does (getPageSize): from meta 0
// if it is valid, else from the first valid meta found at 1 KiB, 2 KiB, ...
// where meta 1 would be for that page size.
func pageSizeOf(r io.ReaderAt, size int64) (int64, error) {
	m, ok, err := readMeta(r, 0, 0)
	if err != nil {
		return 0, err
	}
	if ok && m.valid {
		return checkPageSize(m.pageSize)
	}
	for pos := int64(minPageSize); pos <= maxPageSize && pos < size-minPageSize; pos <<= 1 {
		m, ok, err := readMeta(r, pos, 1)
		if err != nil {
			return 0, err
		}
		if ok && m.valid {
			return checkPageSize(m.pageSize)
		}
	}
	return 0, damagedf("neither meta page is valid (not a bbolt file, or both copies of its header are destroyed)")
}

func checkPageSize(ps uint32) (int64, error) {
	if ps < minPageSize || ps > maxPageSize || ps&(ps-1) != 0 {
		return 0, damagedf("page size %d is not a power of two between %d and %d", ps, minPageSize, maxPageSize)
	}
	return int64(ps), nil
}

// checkFile checks a bbolt file of size bytes (size > 0) through r and
// returns nil only if bbolt can map it and walk everything the current meta
// page reaches without touching a byte outside the file, and bbolt's own
// consistency check would find nothing once the file is healed: heal says
// a meta page is damaged (healMetas rewrites it). Every error wraps
// [ErrCorrupt].
func checkFile(r io.ReaderAt, size int64) (heal bool, err error) {
	ps, err := pageSizeOf(r, size)
	if err != nil {
		return false, err
	}
	if size < 2*ps {
		return false, damagedf("the file is %d bytes, shorter than its two %d-byte meta pages", size, ps)
	}
	cur, heal, err := currentMeta(r, size, ps)
	if err != nil {
		return false, err
	}
	w := &walker{r: r, ps: ps, hwm: cur.pgid, state: make([]pageState, cur.pgid)}
	return heal, w.walk(cur)
}

// currentMeta checks both meta pages and returns the one bbolt will use,
// and whether the other is damaged. bbolt writes the two in turn, so that a
// write torn by a power cut, or a page zeroed, costs at most the last
// commit: it opens the file with the valid meta (DB.mmap refuses it only
// when both fail validation) and the checker does too. A damaged page
// header (which bbolt's Open never reads, but its Tx.Check asserts, in a
// goroutine no recover reaches) is reported as heal, for the writer to
// rewrite before anything checks. Every valid meta must describe a file
// that fits in size.
func currentMeta(r io.ReaderAt, size, ps int64) (m boltMeta, heal bool, err error) {
	var metas [2]boltMeta
	for i := range metas {
		m, ok, err := readMeta(r, int64(i)*ps, uint64(i))
		if err != nil {
			return boltMeta{}, false, err
		}
		if !ok {
			return boltMeta{}, false, damagedf("meta page %d is cut short", i)
		}
		if m.valid {
			if err := checkMetaFields(m, i, size, ps); err != nil {
				return boltMeta{}, false, err
			}
		}
		heal = heal || !m.headerOK || !m.valid
		metas[i] = m
	}
	// bbolt's DB.meta: the higher txid wins if valid, else the other.
	a, b := metas[0], metas[1]
	if b.txid > a.txid {
		a, b = b, a
	}
	switch {
	case a.valid:
		return a, heal, nil
	case b.valid:
		return b, heal, nil
	}
	return boltMeta{}, false, damagedf("neither meta page is valid")
}

func checkMetaFields(m boltMeta, index int, size, ps int64) error {
	switch {
	case int64(m.pageSize) != ps:
		return damagedf("meta page %d: page size %d, the file's is %d", index, m.pageSize, ps)
	case m.pgid < 4 || m.pgid > uint64(size/ps):
		// The smallest file bbolt writes has 4 pages: two metas, a
		// freelist and an empty root leaf.
		return damagedf("meta page %d: %d pages in use, the file holds %d whole pages of %d bytes (truncated?)",
			index, m.pgid, size/ps, ps)
	case m.root < 2 || m.root >= m.pgid:
		return damagedf("meta page %d: root page %d outside pages 2..%d", index, m.root, m.pgid-1)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid || m.freelist == m.root):
		return damagedf("meta page %d: freelist page %d outside pages 2..%d or on the root", index, m.freelist, m.pgid-1)
	}
	return nil
}

// errShort is returned by readFull when the file ends early.
var errShort = errors.New("the file ends first")

func readFull(r io.ReaderAt, n, off int64) ([]byte, error) {
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if int64(got) == n {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = errShort
	}
	return nil, err
}

// readPage is readFull for a page: the file ending early is damage, a read
// error is not.
func readPage(r io.ReaderAt, id uint64, n, off int64) ([]byte, error) {
	buf, err := readFull(r, n, off)
	if errors.Is(err, errShort) {
		return nil, damagedf("page %d: %v", id, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	return buf, nil
}

// CheckFile checks the file at path as [Open] and [Inspect] do before bbolt
// maps it, under a shared lock ([ErrLocked] while a daemon holds the
// file), and returns an error wrapping [ErrCorrupt] if bbolt could not map
// and read it safely, or its consistency check would fail. A missing or
// empty file is not damaged: Open makes it a new database.
func CheckFile(path string, lockTimeout time.Duration) error {
	if lockTimeout <= 0 {
		lockTimeout = defaultLockTimeout
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f, false, lockTimeout); err != nil {
		return openError(path, err)
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	if _, err := checkFile(f, fi.Size()); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return nil
}

package storage

import (
	"bytes"
	"io"
)

type pageState uint8

const (
	pageUnseen pageState = iota
	pageInUse
	pageFree
)

// treeKind says which entries a tree may hold.
type treeKind uint8

const (
	// rootTree is the root bucket's: buckets only, as bbolt's API allows.
	rootTree treeKind = iota
	// bucketTree is a nested bucket's: values and buckets.
	bucketTree
	// inlineTree is an inline bucket's leaf: values only, since bbolt
	// inlines a bucket only without sub-buckets and its check does not
	// look inside one.
	inlineTree
)

// walker follows everything the current meta page reaches: the freelist and
// the tree of buckets. Its rules are bbolt's consistency check (tx_check.go:
// every page below the high-water mark in use exactly once or free, keys in
// order) plus what bbolt assumes without checking: page headers name their
// own id and a known type, every element lies inside its page, a bucket
// value holds a bucket header and, inline, a leaf page.
type walker struct {
	r     io.ReaderAt
	ps    int64
	hwm   uint64
	state []pageState // indexed by page id, len hwm
}

func (w *walker) walk(m boltMeta) error {
	if m.freelist != noFreelist {
		if err := w.freelist(m.freelist); err != nil {
			return err
		}
	}
	w.state[0], w.state[1] = pageInUse, pageInUse
	if _, err := w.tree(m.root, nil, nil, 0, rootTree); err != nil {
		return err
	}
	for id, st := range w.state {
		if st == pageUnseen {
			return damagedf("page %d is neither in use nor free", id)
		}
	}
	return nil
}

// page reads page id with its overflow pages after checking its header.
func (w *walker) page(id uint64) (flags, count uint16, buf []byte, err error) {
	if id < 2 || id >= w.hwm {
		return 0, 0, nil, damagedf("a reference to page %d, outside pages 2..%d", id, w.hwm-1)
	}
	hdr, err := readPage(w.r, id, pageHeaderSize, int64(id)*w.ps)
	if err != nil {
		return 0, 0, nil, err
	}
	if got := boltOrder.Uint64(hdr); got != id {
		return 0, 0, nil, damagedf("page %d calls itself page %d", id, got)
	}
	overflow := uint64(boltOrder.Uint32(hdr[12:]))
	if id+overflow >= w.hwm {
		return 0, 0, nil, damagedf("page %d runs %d pages past the %d in use", id, id+overflow+1-w.hwm, w.hwm)
	}
	if buf, err = readPage(w.r, id, int64(1+overflow)*w.ps, int64(id)*w.ps); err != nil {
		return 0, 0, nil, err
	}
	return boltOrder.Uint16(hdr[8:]), boltOrder.Uint16(hdr[10:]), buf, nil
}

// use marks the pages of a tree page in use, each exactly once.
func (w *walker) use(id uint64, buf []byte) error {
	for p := id; p < id+uint64(int64(len(buf))/w.ps); p++ {
		switch w.state[p] {
		case pageInUse:
			return damagedf("page %d is used twice", p)
		case pageFree:
			return damagedf("page %d is in use and on the freelist", p)
		}
		w.state[p] = pageInUse
	}
	return nil
}

func (w *walker) freelist(id uint64) error {
	flags, count, buf, err := w.page(id)
	if err != nil {
		return err
	}
	if flags != freelistPage {
		return damagedf("freelist page %d has type %#x", id, flags)
	}
	n, first := uint64(count), uint64(0)
	body := uint64(len(buf)-pageHeaderSize) / 8
	if count == freelistBigCount {
		n, first = boltOrder.Uint64(buf[pageHeaderSize:]), 1
	}
	if n > body-first {
		return damagedf("freelist page %d lists %d pages, it has room for %d", id, n, body-first)
	}
	for i := range n {
		p := boltOrder.Uint64(buf[pageHeaderSize+8*(first+i):])
		if p < 2 || p >= w.hwm {
			return damagedf("freelist page %d lists page %d, outside pages 2..%d", id, p, w.hwm-1)
		}
		if w.state[p] == pageFree {
			return damagedf("freelist page %d lists page %d twice", id, p)
		}
		w.state[p] = pageFree
	}
	// As bbolt's check: the freelist's own pages are in use.
	for p := id; p < id+uint64(int64(len(buf))/w.ps); p++ {
		w.state[p] = pageInUse
	}
	return nil
}

// tree walks the B+tree rooted at page id, whose keys must lie in [lo, hi)
// (nil: unbounded), and returns its greatest key.
func (w *walker) tree(id uint64, lo, hi []byte, depth int, kind treeKind) ([]byte, error) {
	if depth > maxDepth {
		return nil, damagedf("page %d is nested more than %d levels deep", id, maxDepth)
	}
	flags, count, buf, err := w.page(id)
	if err != nil {
		return nil, err
	}
	if err := w.use(id, buf); err != nil {
		return nil, err
	}
	switch flags {
	case branchPage:
		return w.branch(id, buf, int(count), lo, hi, depth, kind)
	case leafPage:
		return w.leaf(id, buf, int(count), lo, hi, depth, kind)
	}
	return nil, damagedf("page %d has type %#x where a branch or leaf page belongs", id, flags)
}

func (w *walker) branch(id uint64, buf []byte, count int, lo, hi []byte, depth int, kind treeKind) ([]byte, error) {
	if count == 0 {
		return nil, damagedf("branch page %d is empty", id)
	}
	keys, children := make([][]byte, count), make([]uint64, count)
	for i := range count {
		e, ok := element(buf, i)
		if !ok {
			return nil, damagedf("branch page %d: element %d lies outside the page", id, i)
		}
		if keys[i], ok = slot(buf, e, boltOrder.Uint32(buf[e:]), uint64(boltOrder.Uint32(buf[e+4:]))); !ok {
			return nil, damagedf("branch page %d: key %d lies outside the page", id, i)
		}
		children[i] = boltOrder.Uint64(buf[e+8:])
	}
	run, greatest := lo, []byte(nil)
	for i := range count {
		if err := keyOrder(id, i, keys[i], run, hi); err != nil {
			return nil, err
		}
		next := hi
		if i+1 < count {
			next = keys[i+1]
		}
		var err error
		if greatest, err = w.tree(children[i], keys[i], next, depth+1, kind); err != nil {
			return nil, err
		}
		run = greatest
	}
	return greatest, nil
}

func (w *walker) leaf(id uint64, buf []byte, count int, lo, hi []byte, depth int, kind treeKind) ([]byte, error) {
	run := lo
	for i := range count {
		e, ok := element(buf, i)
		if !ok {
			return nil, damagedf("leaf page %d: element %d lies outside the page", id, i)
		}
		ks, vs := boltOrder.Uint32(buf[e+8:]), boltOrder.Uint32(buf[e+12:])
		kv, ok := slot(buf, e, boltOrder.Uint32(buf[e+4:]), uint64(ks)+uint64(vs))
		if !ok {
			return nil, damagedf("leaf page %d: entry %d lies outside the page", id, i)
		}
		key, value := kv[:ks], kv[ks:]
		if err := keyOrder(id, i, key, run, hi); err != nil {
			return nil, err
		}
		run = key
		isBucket := boltOrder.Uint32(buf[e:])&bucketLeaf != 0
		if kind == rootTree && !isBucket {
			return nil, damagedf("leaf page %d: entry %d of the root bucket is not a bucket", id, i)
		}
		if kind == inlineTree && isBucket {
			return nil, damagedf("leaf page %d: an inline bucket holds bucket %d", id, i)
		}
		if isBucket {
			if err := w.bucket(id, value, depth+1); err != nil {
				return nil, err
			}
		}
	}
	if count == 0 {
		return nil, nil
	}
	return run, nil
}

// bucket checks a nested bucket's value: its header, then its tree, which
// is inline (a leaf page inside the value) when the root page id is 0.
func (w *walker) bucket(at uint64, v []byte, depth int) error {
	if len(v) < bucketHeaderSize {
		return damagedf("leaf page %d: a bucket value of %d bytes", at, len(v))
	}
	if root := boltOrder.Uint64(v); root != 0 {
		_, err := w.tree(root, nil, nil, depth, bucketTree)
		return err
	}
	inline := v[bucketHeaderSize:]
	if len(inline) < pageHeaderSize || boltOrder.Uint16(inline[8:]) != leafPage {
		return damagedf("leaf page %d: an inline bucket without a leaf page", at)
	}
	if depth > maxDepth {
		return damagedf("leaf page %d: buckets nested more than %d levels deep", at, maxDepth)
	}
	_, err := w.leaf(at, inline, int(boltOrder.Uint16(inline[10:])), nil, nil, depth, inlineTree)
	return err
}

// element returns the offset of element i of a page in buf.
func element(buf []byte, i int) (uint64, bool) {
	e := uint64(pageHeaderSize + i*elementSize)
	return e, e+elementSize <= uint64(len(buf))
}

// slot returns the n bytes at pos past the element at offset e, as bbolt
// addresses keys and values, or false if they leave buf.
func slot(buf []byte, e uint64, pos uint32, n uint64) ([]byte, bool) {
	start := e + uint64(pos)
	end := start + n
	if end > uint64(len(buf)) {
		return nil, false
	}
	return buf[start:end:end], true
}

// keyOrder is bbolt's verifyKeyOrder: keys ascend strictly within a page,
// the first key of a page is not below the key that leads to it, and every
// key is below the next key of the parent.
func keyOrder(id uint64, i int, key, prev, hi []byte) error {
	switch {
	case i == 0 && prev != nil && bytes.Compare(prev, key) > 0,
		i > 0 && bytes.Compare(prev, key) >= 0:
		return damagedf("page %d: key %d is out of order", id, i)
	case hi != nil && bytes.Compare(key, hi) >= 0:
		return damagedf("page %d: key %d is not below its parent's next key", id, i)
	}
	return nil
}

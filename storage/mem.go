package storage

import "sync"

// Mem is an in-memory [Store] with the same semantics as [DB] (it passes the
// same storagetest suite), for tests of packages that need a store. It does
// not seal. Create one with [NewMem]; it is safe for concurrent use.
type Mem struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte // nil once closed
}

var _ Store = (*Mem)(nil)

// NewMem returns an empty, open Mem.
func NewMem() *Mem {
	return &Mem{buckets: map[string]map[string][]byte{}}
}

// Get implements [Store].
func (m *Mem) Get(bucket, key string) ([]byte, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.buckets == nil {
		return nil, ErrClosed
	}
	v, ok := m.buckets[bucket][key]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(v), nil
}

// Put implements [Store].
func (m *Mem) Put(bucket, key string, value []byte) error {
	return m.PutMany(bucket, map[string][]byte{key: value})
}

// PutMany implements [Store].
func (m *Mem) PutMany(bucket string, kv map[string][]byte) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	for k := range kv {
		if err := checkKey(bucket, k); err != nil {
			return err
		}
	}
	if len(kv) == 0 {
		return nil // as DB: an empty batch does no work at all
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		return ErrClosed
	}
	b := m.buckets[bucket]
	if b == nil {
		b = map[string][]byte{}
		m.buckets[bucket] = b
	}
	for k, v := range kv {
		b[k] = clone(v)
	}
	return nil
}

// Delete implements [Store].
func (m *Mem) Delete(bucket, key string) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		return ErrClosed
	}
	delete(m.buckets[bucket], key)
	return nil
}

// List implements [Store].
func (m *Mem) List(bucket string) (map[string][]byte, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.buckets == nil {
		return nil, ErrClosed
	}
	out := make(map[string][]byte, len(m.buckets[bucket]))
	for k, v := range m.buckets[bucket] {
		out[k] = clone(v)
	}
	return out, nil
}

// DeleteBucket implements [Store].
func (m *Mem) DeleteBucket(bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		return ErrClosed
	}
	delete(m.buckets, bucket)
	return nil
}

// Close implements [Store].
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buckets = nil
	return nil
}

// clone returns a non-nil copy, so an empty value reads back as empty, not
// nil, as it does from DB.
func clone(v []byte) []byte {
	return append([]byte{}, v...)
}

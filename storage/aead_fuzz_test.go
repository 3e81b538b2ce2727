package storage

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSealedValue checks the sealing of a value against its slot: it opens
// under the bucket, key, data key and schema version it was sealed for and
// under nothing else; any changed, cut or extended byte fails; arbitrary
// bytes never open; sealed and plain values are never taken for each
// other. Seeds: testdata/fuzz/FuzzSealedValue (written by
// TestWriteFuzzSeeds).
func FuzzSealedValue(f *testing.F) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := newAEADSealer(key, SchemaVersion)
	if err != nil {
		f.Fatal(err)
	}
	others := otherSealers(f, key)
	f.Fuzz(func(t *testing.T, plain []byte, bucket, k, bucket2, k2 string, tamper []byte) {
		sealed, err := s.Seal(bucket, k, plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Open(bucket, k, bytes.Clone(sealed)); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open of a sealed value = %q, %v", got, err)
		}
		if bucket2 != bucket || k2 != k {
			expectNotOpened(t, s, bucket2, k2, sealed, "another slot")
		}
		for name, o := range others {
			expectNotOpened(t, o, bucket, k, sealed, name)
		}
		if changed := xorMask(sealed, tamper); !bytes.Equal(changed, sealed) {
			expectNotOpened(t, s, bucket, k, changed, "changed bytes")
		}
		if len(sealed) > 0 {
			expectNotOpened(t, s, bucket, k, sealed[:len(sealed)-1], "a cut value")
		}
		// Arbitrary bytes: the fuzzer cannot forge a GCM tag.
		expectNotOpened(t, s, bucket, k, bytes.Clone(tamper), "arbitrary bytes")
		if _, err := (PlainSealer{}).Open(bucket, k, bytes.Clone(sealed)); !errors.Is(err, ErrUnknownFormat) {
			t.Fatalf("PlainSealer opened a sealed value: %v", err)
		}
		framed, _ := PlainSealer{}.Seal(bucket, k, plain)
		if _, err := s.Open(bucket, k, framed); !errors.Is(err, ErrUnknownFormat) {
			t.Fatalf("a plain value opened as sealed: %v", err)
		}
		if (bucket != bucket2 || k != k2) && bytes.Equal(s.aad(bucket, k), s.aad(bucket2, k2)) {
			t.Fatalf("slots %q/%q and %q/%q share additional data", bucket, k, bucket2, k2)
		}
	})
}

// otherSealers are sealers that must open nothing the main one sealed: a
// different data key, and the same key for other schema versions.
func otherSealers(t testing.TB, key []byte) map[string]*aeadSealer {
	other := bytes.Clone(key)
	other[0] ^= 1
	out := map[string]*aeadSealer{}
	for name, c := range map[string]struct {
		key     []byte
		version int
	}{"another key": {other, SchemaVersion}, "schema 1": {key, 1}, "schema 3": {key, 3}} {
		s, err := newAEADSealer(c.key, c.version)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

func expectNotOpened(t *testing.T, s *aeadSealer, bucket, key string, v []byte, what string) {
	t.Helper()
	got, err := s.Open(bucket, key, bytes.Clone(v))
	if err == nil {
		t.Fatalf("%s opened, as %q", what, got)
	}
	if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("%s: %v, want ErrTampered or ErrUnknownFormat", what, err)
	}
}

// xorMask returns v XORed with mask; mask bytes past v's end are appended.
func xorMask(v, mask []byte) []byte {
	out := bytes.Clone(v)
	for i, m := range mask {
		if i < len(out) {
			out[i] ^= m
		} else {
			out = append(out, m)
		}
	}
	return out
}

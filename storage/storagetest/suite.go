package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/storage"
)

// Run checks the storage.Store contract. open must return a new, empty store
// for each call; Run closes it at the end of each subtest.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Roundtrip", testRoundtrip},
		{"EmptyValue", testEmptyValue},
		{"CopiesNotAliases", testCopies},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"PutMany", testPutMany},
		{"DeleteBucket", testDeleteBucket},
		{"InvalidNames", testInvalidNames},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

func mustPut(t *testing.T, s storage.Store, bucket, key, value string) {
	t.Helper()
	if err := s.Put(bucket, key, []byte(value)); err != nil {
		t.Fatalf("Put(%q, %q): %v", bucket, key, err)
	}
}

func wantValue(t *testing.T, s storage.Store, bucket, key, want string) {
	t.Helper()
	got, err := s.Get(bucket, key)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", bucket, key, err)
	}
	if string(got) != want {
		t.Fatalf("Get(%q, %q) = %q, want %q", bucket, key, got, want)
	}
}

func wantNotFound(t *testing.T, s storage.Store, bucket, key string) {
	t.Helper()
	if v, err := s.Get(bucket, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q, %q) = %q, %v; want ErrNotFound", bucket, key, v, err)
	}
}

func testRoundtrip(t *testing.T, s storage.Store) {
	mustPut(t, s, "b", "k", "v1")
	wantValue(t, s, "b", "k", "v1")
	mustPut(t, s, "b", "k", "v2")
	wantValue(t, s, "b", "k", "v2")
	// Same key in another bucket is another slot.
	mustPut(t, s, "c", "k", "other")
	wantValue(t, s, "b", "k", "v2")
	binary := []byte{0, 1, 0xff, 0}
	if err := s.Put("b", "bin", binary); err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "b", "bin", string(binary))
}

func testEmptyValue(t *testing.T, s storage.Store) {
	for _, v := range [][]byte{nil, {}} {
		if err := s.Put("b", "k", v); err != nil {
			t.Fatalf("Put(%v): %v", v, err)
		}
		got, err := s.Get("b", "k")
		if err != nil || len(got) != 0 {
			t.Fatalf("Get = %q, %v; want empty value", got, err)
		}
	}
}

func testCopies(t *testing.T, s storage.Store) {
	in := []byte("secret")
	if err := s.Put("b", "k", in); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X' // the store must have copied on Put
	got, err := s.Get("b", "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "secret" {
		t.Fatalf("Put kept an alias of the caller's slice: got %q", got)
	}
	got[0] = 'Y' // and on Get
	wantValue(t, s, "b", "k", "secret")
	list, err := s.List("b")
	if err != nil {
		t.Fatal(err)
	}
	list["k"][0] = 'Z' // and on List
	wantValue(t, s, "b", "k", "secret")
}

func testNotFound(t *testing.T, s storage.Store) {
	wantNotFound(t, s, "nobucket", "k")
	mustPut(t, s, "b", "k", "v")
	wantNotFound(t, s, "b", "missing")
}

func testDelete(t *testing.T, s storage.Store) {
	mustPut(t, s, "b", "k", "v")
	mustPut(t, s, "b", "keep", "v")
	for range 2 { // the second delete finds nothing and must not fail
		if err := s.Delete("b", "k"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	wantNotFound(t, s, "b", "k")
	wantValue(t, s, "b", "keep", "v")
	if err := s.Delete("nobucket", "k"); err != nil {
		t.Fatalf("Delete in a missing bucket: %v", err)
	}
}

func testList(t *testing.T, s storage.Store) {
	got, err := s.List("nobucket")
	if err != nil || len(got) != 0 {
		t.Fatalf("List(missing) = %v, %v; want empty", got, err)
	}
	want := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": {}}
	for k, v := range want {
		if err := s.Put("l", k, v); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, "other", "x", "y")
	got, err = s.List("l")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func testPutMany(t *testing.T, s storage.Store) {
	if err := s.PutMany("b", nil); err != nil {
		t.Fatalf("PutMany(nil): %v", err)
	}
	kv := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	if err := s.PutMany("b", kv); err != nil {
		t.Fatal(err)
	}
	kv["a"][0] = 'X'
	wantValue(t, s, "b", "a", "1")
	wantValue(t, s, "b", "b", "2")
	// One bad key refuses the whole batch.
	err := s.PutMany("b", map[string][]byte{"c": []byte("3"), "": []byte("bad")})
	if !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("PutMany with an empty key = %v, want ErrInvalidName", err)
	}
	wantNotFound(t, s, "b", "c")
}

func testDeleteBucket(t *testing.T, s storage.Store) {
	mustPut(t, s, "b", "k1", "v")
	mustPut(t, s, "b", "k2", "v")
	mustPut(t, s, "keep", "k1", "v")
	for range 2 {
		if err := s.DeleteBucket("b"); err != nil {
			t.Fatalf("DeleteBucket: %v", err)
		}
	}
	wantNotFound(t, s, "b", "k1")
	if got, err := s.List("b"); err != nil || len(got) != 0 {
		t.Fatalf("List after DeleteBucket = %v, %v", got, err)
	}
	wantValue(t, s, "keep", "k1", "v")
	mustPut(t, s, "b", "k1", "again") // the bucket can be used again
	wantValue(t, s, "b", "k1", "again")
}

func testInvalidNames(t *testing.T, s storage.Store) {
	long := strings.Repeat("x", 32769)
	calls := []struct {
		name string
		err  error
	}{
		{"Put empty bucket", s.Put("", "k", nil)},
		{"Put empty key", s.Put("b", "", nil)},
		{"Put long key", s.Put("b", long, nil)},
		{"Put reserved bucket", s.Put("_meta", "schema_version", []byte("9"))},
		{"Delete empty key", s.Delete("b", "")},
		{"DeleteBucket reserved", s.DeleteBucket("_meta")},
		{"PutMany long bucket", s.PutMany(long, map[string][]byte{"k": nil})},
	}
	for _, c := range calls {
		if !errors.Is(c.err, storage.ErrInvalidName) {
			t.Errorf("%s: err = %v, want ErrInvalidName", c.name, c.err)
		}
	}
	if _, err := s.Get("_meta", "schema_version"); !errors.Is(err, storage.ErrInvalidName) {
		t.Errorf("Get reserved bucket: err = %v, want ErrInvalidName", err)
	}
	if _, err := s.List(""); !errors.Is(err, storage.ErrInvalidName) {
		t.Errorf("List empty bucket: err = %v, want ErrInvalidName", err)
	}
}

// testConcurrent is meant to be run with -race: writers, readers and
// listers share one bucket, then the final state is checked exactly.
func testConcurrent(t *testing.T, s storage.Store) {
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*3)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Put("c", key, []byte(key)); err != nil {
					errs <- err
					continue
				}
				if v, err := s.Get("c", key); err != nil || string(v) != key {
					errs <- fmt.Errorf("Get(%s) = %q, %v", key, v, err)
				}
				if _, err := s.List("c"); err != nil {
					errs <- err
				}
				if i%2 == 1 {
					if err := s.Delete("c", key); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.List("c")
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * rounds / 2; len(got) != want {
		t.Fatalf("after concurrent writes List has %d entries, want %d", len(got), want)
	}
}

func testClosed(t *testing.T, s storage.Store) {
	mustPut(t, s, "b", "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get("b", "k"); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := s.Put("b", "k", nil); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if _, err := s.List("b"); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("List after Close: %v, want ErrClosed", err)
	}
}

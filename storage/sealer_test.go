package storage_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/xaad-dev/xaad/storage"
)

func TestPlainSealerFrames(t *testing.T) {
	s, err := storage.PlainSealer{}.Seal("b", "k", []byte("value"))
	if err != nil || !bytes.Equal(s, append([]byte{storage.FormatPlain}, "value"...)) {
		t.Fatalf("Seal = %q, %v", s, err)
	}
	if p, err := (storage.PlainSealer{}).Open("b", "k", s); err != nil || string(p) != "value" {
		t.Fatalf("Open = %q, %v", p, err)
	}
}

// A value in another format (here a sealed one) is refused, never returned
// as if it were plaintext.
func TestPlainSealerRefusesOtherFormats(t *testing.T) {
	for _, v := range [][]byte{{storage.FormatAESGCM, 'c', 't'}, {}} {
		if _, err := (storage.PlainSealer{}).Open("b", "k", v); !errors.Is(err, storage.ErrUnknownFormat) {
			t.Fatalf("Open(%q) = %v, want ErrUnknownFormat", v, err)
		}
	}
}

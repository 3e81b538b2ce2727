package storage

import (
	"errors"
	"fmt"
)

// Sealer protects values at rest. Seal is applied to every value before it is
// written and Open to every value read back; bucket and key are passed so an
// implementation can bind them as additional data (a value copied to another
// slot then fails to open). Implementations must be safe for concurrent use,
// must not retain plaintext, and must start every sealed value with a format
// tag byte of their own so formats can coexist and be told apart.
//
// Open is always given a private copy of the stored bytes, so it may return a
// slice that aliases sealed.
type Sealer interface {
	Seal(bucket, key string, plaintext []byte) ([]byte, error)
	Open(bucket, key string, sealed []byte) ([]byte, error)
}

// Format tags: the first byte of every stored value.
const (
	// FormatPlain marks a value stored as is, behind the tag byte.
	FormatPlain byte = 0x00
	// FormatAESGCM (0x01, aead.go) marks AES-256-GCM sealed values.
)

// ErrUnknownFormat is returned when a stored value carries a format tag the
// configured Sealer cannot open, for example a sealed value read without its
// key.
var ErrUnknownFormat = errors.New("value has an unknown storage format")

// PlainSealer does not encrypt, it only frames a value with [FormatPlain]:
// the format of schema 1, kept to read such files during their migration.
// The zero value is ready to use.
type PlainSealer struct{}

// Seal returns plaintext behind the FormatPlain tag, in a new slice.
func (PlainSealer) Seal(_, _ string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+len(plaintext))
	out[0] = FormatPlain
	copy(out[1:], plaintext)
	return out, nil
}

// Open strips the FormatPlain tag. Any other tag is refused rather than
// handed out, so sealed bytes can never be mistaken for plaintext.
func (PlainSealer) Open(_, _ string, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, fmt.Errorf("empty value: %w", ErrUnknownFormat)
	}
	if sealed[0] != FormatPlain {
		return nil, fmt.Errorf("format tag 0x%02x: %w", sealed[0], ErrUnknownFormat)
	}
	return sealed[1:], nil
}

package storage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeySize is the length of a data key: AES-256.
const KeySize = 32

// FormatAESGCM marks a value sealed with AES-256-GCM: the tag, a 12-byte
// random nonce, then the ciphertext and its 16-byte authentication tag.
const FormatAESGCM byte = 0x01

var (
	// ErrNoKey is returned by Open when no data key was given: every value
	// of an xaad database is sealed, so nothing can be read or written
	// without one.
	ErrNoKey = errors.New("no data key given")
	// ErrWrongKey is returned by Open when the key given is not the one the
	// database was sealed with. Nothing is written to the file.
	ErrWrongKey = errors.New("the data key does not open this database")
	// ErrTampered is returned when a sealed value fails authentication under
	// the right key: its bytes were changed, or it was moved from another
	// bucket or key.
	ErrTampered = errors.New("sealed value failed authentication (changed, or moved from another slot)")
)

// KeyID is a short public handle for a data key, stored in the database so
// a wrong key can be told apart from a damaged file and named in messages.
// It is a domain-separated SHA-256, so it reveals nothing usable about a
// random 256-bit key.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("xaad data key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// NewKey returns a fresh random data key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // crypto/rand.Read never fails on Linux (Go 1.24+)
	return k
}

// aeadSealer is the [Sealer] of schema 2 and later. The additional data
// binds each value to its bucket, its key and the schema version, so a value
// copied to another slot, or a file rolled back to an older layout, fails to
// open instead of being misread.
type aeadSealer struct {
	gcm     cipher.AEAD
	id      string
	version int
}

func newAEADSealer(key []byte, version int) (*aeadSealer, error) {
	if len(key) == 0 {
		return nil, ErrNoKey
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &aeadSealer{gcm: gcm, id: KeyID(key), version: version}, nil
}

// aad is length-prefixed so that no two (bucket, key) pairs share bytes:
// "a"+"bc" and "ab"+"c" must differ.
func (s *aeadSealer) aad(bucket, key string) []byte {
	out := make([]byte, 0, 32+len(bucket)+len(key))
	out = append(out, "xaad storage v2\x00"...)
	out = binary.BigEndian.AppendUint32(out, uint32(s.version))
	out = binary.BigEndian.AppendUint32(out, uint32(len(bucket)))
	out = append(out, bucket...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(key)))
	return append(out, key...)
}

// Seal implements [Sealer]. Nonces are random: a key seals far fewer than
// the 2^32 values after which random 96-bit nonces become a concern.
func (s *aeadSealer) Seal(bucket, key string, plaintext []byte) ([]byte, error) {
	ns := s.gcm.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.gcm.Overhead())
	out[0] = FormatAESGCM
	rand.Read(out[1 : 1+ns])
	return s.gcm.Seal(out, out[1:1+ns], plaintext, s.aad(bucket, key)), nil
}

// Open implements [Sealer].
func (s *aeadSealer) Open(bucket, key string, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, fmt.Errorf("empty value: %w", ErrUnknownFormat)
	}
	if sealed[0] != FormatAESGCM {
		return nil, fmt.Errorf("format tag 0x%02x: %w", sealed[0], ErrUnknownFormat)
	}
	ns := s.gcm.NonceSize()
	if len(sealed) < 1+ns+s.gcm.Overhead() {
		return nil, fmt.Errorf("sealed value is %d bytes, too short: %w", len(sealed), ErrTampered)
	}
	p, err := s.gcm.Open(sealed[1+ns:1+ns], sealed[1:1+ns], sealed[1+ns:], s.aad(bucket, key))
	if err != nil {
		return nil, ErrTampered
	}
	return p, nil
}

package grant

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// maxKeyFile bounds the key file read: a PEM private key is a few KiB.
const maxKeyFile = 64 << 10

// LoadPrivateKey reads a PEM private key (PKCS#8, SEC 1 "EC PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY") for private_key_jwt; see [ParsePrivateKey].
func LoadPrivateKey(path string) (crypto.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s is larger than %d KiB; it is not a PEM private key", path, maxKeyFile>>10)
	}
	return ParsePrivateKey(b)
}

// ParsePrivateKey parses the one private key in the PEM blocks of b, which
// must be an EC P-256 key or an RSA key of at least 2048 bits. EC PARAMETERS
// blocks (which `openssl ecparam -genkey` writes before the key) are
// skipped. Public keys, certificates, encrypted keys, files without a key
// and files with two are refused, each with the reason.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	var key crypto.Signer
	rest := b
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = r
		k, err := parseBlock(block)
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue
		}
		if key != nil {
			return nil, errors.New("the file holds more than one private key; keep only the one for private_key_jwt")
		}
		key = k
	}
	if key == nil {
		return nil, errors.New("no PEM private key found (want a block of PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
	}
	return key, nil
}

// parseBlock returns the key of a private key block, nil for a block that
// carries none and is harmless (EC PARAMETERS), or an error.
func parseBlock(block *pem.Block) (crypto.Signer, error) {
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("the private key is encrypted; xaad needs it unencrypted in a file only you can read (decrypt it with `openssl pkey -in KEY -out KEY.plain`)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PARAMETERS":
		return nil, nil
	default:
		if strings.Contains(block.Type, "PUBLIC KEY") || block.Type == "CERTIFICATE" {
			return nil, fmt.Errorf("the PEM block is a %s, not a private key; private_key_jwt signs with the private key (the authorization server holds the public one)", httpx.Clip(block.Type))
		}
		return nil, fmt.Errorf("unsupported PEM block %q (want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)", httpx.Clip(block.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	if _, err := signingAlg(s); err != nil {
		return nil, err
	}
	return s, nil
}

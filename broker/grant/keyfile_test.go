package grant_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker/grant"
)

func ecKeyPEM(t *testing.T, typ string) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	switch typ {
	case "EC PRIVATE KEY":
		der, err = x509.MarshalECPrivateKey(k)
	case "PUBLIC KEY":
		der, err = x509.MarshalPKIXPublicKey(&k.PublicKey)
	default:
		der, err = x509.MarshalPKCS8PrivateKey(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// `openssl ecparam -genkey` writes an EC PARAMETERS block before the key;
// such a file used to be refused for its first block.
func TestParsePrivateKeySkipsECParameters(t *testing.T) {
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	if _, err := grant.ParsePrivateKey(append(params, ecKeyPEM(t, "EC PRIVATE KEY")...)); err != nil {
		t.Fatal(err)
	}
}

// A file with two keys is ambiguous (the first used to win silently);
// public keys, certificates and encrypted keys are refused with the reason.
func TestParsePrivateKeyRefusals(t *testing.T) {
	enc := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}})
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"two keys":        {append(ecKeyPEM(t, "PRIVATE KEY"), ecKeyPEM(t, "PRIVATE KEY")...), "more than one private key"},
		"public key":      {ecKeyPEM(t, "PUBLIC KEY"), "not a private key"},
		"certificate":     {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "not a private key"},
		"encrypted":       {enc, "encrypted"},
		"encrypted PKCS8": {pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted"},
		"garbage":         {[]byte("not a key"), "no PEM private key"},
		"odd block":       {pem.EncodeToMemory(&pem.Block{Type: "X\u202eY", Bytes: []byte{1}}), "unsupported PEM block"},
	} {
		_, err := grant.ParsePrivateKey(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, tc.want)
		}
	}
}

func TestLoadPrivateKeyBoundsTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	big := append(ecKeyPEM(t, "PRIVATE KEY"), make([]byte, 70<<10)...)
	if err := os.WriteFile(p, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := grant.LoadPrivateKey(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a 70 KiB file: err = %v", err)
	}
}

package daemon_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/xaad-dev/xaad/daemon"
)

// FuzzParseConfig feeds configuration files to daemon.ParseConfig.
// "@SECRET@" in an input stands for a client secret file and "@KEY@" for
// a private key file that exist with mode 0600, so the fuzzer can reach
// valid configurations. Refused: the problems are reported as valid UTF-8.
// Accepted: the configuration, written back as TOML, parses again to the
// same configuration, so what check-config accepts is stable and
// re-validates.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`[idp]
issuer = "https://idp.example.com"
client_id = "idp-client"
client_secret_file = "@SECRET@"

[[authorization_server]]
issuer = "https://as.example.com/"
client_id = "mcp-client"
auth_method = "private_key_jwt"
private_key_file = "@KEY@"
key_id = "k1"

[[server]]
url = "https://mcp.example.com/mcp"
scopes = ["repo.read"]
keep_warm = true
`,
		`[daemon]
log_level = "debug"
allow_unlisted_servers = false
key_provider = "file"
key_file = "/tmp/x.key"
[idp]
issuer = "http://127.0.0.1:9"
client_id = "c"
auth_method = "none"
[default_client]
client_id = "d"
client_secret_file = "@SECRET@"
issuers = ["http://127.0.0.1:8/"]
`,
		`[idp]
issuer = "http://localhost./"
client_id = "c"
client_secret_file = "@SECRET@"
`,
		"[idp]\nissuer = \"https://idp.example/\\u0000\"\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	secret := filepath.Join(dir, "secret")
	key := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(key, newKeyPEM(f), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		text = strings.ReplaceAll(strings.ReplaceAll(text, "@SECRET@", secret), "@KEY@", key)
		fc, err := daemon.ParseConfig([]byte(text))
		if err != nil {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("problems are not valid UTF-8: %q", err.Error())
			}
			return
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(fc); err != nil {
			t.Fatalf("an accepted configuration does not encode: %v", err)
		}
		again, err := daemon.ParseConfig(buf.Bytes())
		if err != nil {
			t.Fatalf("an accepted configuration, written back, is refused: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(fc, again) {
			t.Fatalf("written back and parsed again, the configuration changed:\n%+v\n%+v", fc, again)
		}
	})
}

// newKeyPEM makes a P-256 key for private_key_jwt, PKCS#8 PEM.
func newKeyPEM(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

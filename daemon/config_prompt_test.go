package daemon

import (
	"strings"
	"testing"
)

// [idp] prompt takes the OIDC Core §3.1.2.1 values a browser sign-in can
// use; "none" (no page at all) and unknown values are refused.
func TestIdPPrompt(t *testing.T) {
	base := "[idp]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nauth_method = \"none\"\n"
	fc, err := ParseConfig([]byte(base + "prompt = \"consent select_account\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if bc, err := fc.BrokerConfig(); err != nil || bc.IdP.Prompt != "consent select_account" {
		t.Errorf("broker prompt %q (%v)", bc.IdP.Prompt, err)
	}
	for _, bad := range []string{"none", "consnet"} {
		_, err := ParseConfig([]byte(base + "prompt = \"" + bad + "\"\n"))
		if err == nil || !strings.Contains(err.Error(), "idp.prompt") {
			t.Errorf("prompt %q: err = %v", bad, err)
		}
	}
}

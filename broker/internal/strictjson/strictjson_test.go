package strictjson

import (
	"strings"
	"testing"
)

type doc struct {
	Resource string   `json:"resource"`
	Servers  []string `json:"authorization_servers"`
	Skipped  string   `json:"-"`
}

func TestDecodeRefusesWhatEncodingJSONAccepts(t *testing.T) {
	for _, in := range []string{
		`{"resource":"a"}{"resource":"b"}`,
		`{"resource":"a"} x`,
		`{"resource":"a"} null`,
		`{"resource":"a","RESOURCE":"b"}`,
		`{"Resource":"a"}`,
		`{"reſource":"a"}`, // long s folds to s in encoding/json
		`{"resource":"a","resource":"b"}`,
		`["resource"]`,
		`null`,
		``,
		`{"resource":"a"`,
		`{"resource":"a",}`,
	} {
		var d doc
		if err := Decode([]byte(in), &d); err == nil {
			t.Errorf("Decode(%q) accepted: %+v", in, d)
		}
	}
}

func TestDecodeAcceptsExactDocuments(t *testing.T) {
	var d doc
	in := " \n{\"resource\":\"https://mcp.example/mcp\",\"authorization_servers\":[\"https://as\"],\"Unknown\":{\"RESOURCE\":1},\"x\":[1,2],\"Skipped\":\"no\"}\r\n "
	if err := Decode([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Resource != "https://mcp.example/mcp" || len(d.Servers) != 1 || d.Skipped != "" {
		t.Errorf("decoded %+v", d)
	}
	if err := Decode([]byte(`{"resource":5}`), &d); err == nil || !strings.Contains(err.Error(), "cannot unmarshal") {
		t.Errorf("a wrongly typed member: %v", err)
	}
}

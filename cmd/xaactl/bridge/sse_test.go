package bridge

import (
	"strings"
	"testing"
	"time"
)

func TestReadEvents(t *testing.T) {
	stream := ": ok\n\n" +
		"id: s_0\nevent: prime\n\n" +
		"id: s_1\nevent: message\ndata: {\"a\":\ndata: 1}\n\n" +
		"retry: 2500\ndata:{\"b\":2}\n\n" +
		"data: unterminated"
	var got []event
	err := readEvents(strings.NewReader(stream), func(ev event) error {
		got = append(got, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []event{
		{id: "s_0", name: "prime"},
		{id: "s_1", name: "message", data: []byte("{\"a\":\n1}")},
		{data: []byte(`{"b":2}`), retry: 2500 * time.Millisecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].id != want[i].id || got[i].name != want[i].name || string(got[i].data) != string(want[i].data) || got[i].retry != want[i].retry {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestBackoff(t *testing.T) {
	if backoff(0) != time.Second || backoff(1) != 1500*time.Millisecond || backoff(100) != sseMaxDelay {
		t.Errorf("backoff: %v %v %v", backoff(0), backoff(1), backoff(100))
	}
}

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// writeProtoJSON writes m as indented JSON with proto field names and every
// field present, so scripts see the same keys whatever the values.
//
// protojson deliberately varies its whitespace between builds to stop
// byte-for-byte reliance on it; re-indenting with encoding/json makes the
// output stable, which `--json` promises.
func writeProtoJSON(w io.Writer, m proto.Message) error {
	raw, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	return writeIndented(w, raw)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	return writeIndented(w, raw)
}

func writeIndented(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("indent JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// relTime renders t relative to now: "in 5m", "3h02m ago", "-" when unset.
func relTime(ts *timestamppb.Timestamp, now time.Time) string {
	if ts == nil {
		return "-"
	}
	d := ts.AsTime().Sub(now)
	if d < 0 {
		return shortDuration(-d) + " ago"
	}
	return "in " + shortDuration(d)
}

// shortDuration renders d at the precision a person needs for an expiry.
func shortDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// enumName strips the enum's type prefix: SERVER_STATE_READY -> READY.
func enumName(name, prefix string) string {
	if name == prefix+"UNSPECIFIED" {
		return "-"
	}
	return strings.TrimPrefix(name, prefix)
}

func serverState(s xaadv1.ServerState) string {
	return enumName(s.String(), "SERVER_STATE_")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table cell on one line and within n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// timestamp converts back to the proto form relTime takes; zero is unset.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

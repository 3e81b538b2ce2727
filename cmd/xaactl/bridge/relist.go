package bridge

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
)

// relist asks the server for tools/list again after it refused a
// tools/call with HeaderMismatch: the tool's x-mcp-header declarations may
// have changed since the client's last list (SEP-2243, "Client Behavior":
// the client SHOULD list again, then retry with the right headers). It
// reports whether the tool is still listed with valid declarations, so one
// retry is worth it. The list is read by the bridge alone; the client's
// own list stays as it was.
func (b *bridge) relist(ctx context.Context, c *call, m *msg) bool {
	var p struct {
		Name string                     `json:"name"`
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(m.params, &p) != nil || p.Name == "" {
		return false
	}
	// 2026-07-28 requests carry the protocol version and the client's
	// identity and capabilities in _meta; the list needs them too, but not
	// the call's progress token.
	delete(p.Meta, "progressToken")
	cursor := ""
	for range maxRelistPages {
		params := map[string]any{}
		if p.Meta != nil {
			params["_meta"] = p.Meta
		}
		if cursor != "" {
			params["cursor"] = cursor
		}
		list := &msg{method: json.RawMessage(strconv.Quote(methodToolsList)), name: methodToolsList, params: mustMarshal(params)}
		lc := &call{remote: b.seq.Add(1), method: methodToolsList, version: c.version}
		ans := b.exchange(ctx, lc, list, func(*msg) {})
		if ans.resp == nil || ans.resp.result == nil {
			return false
		}
		_, names, next := b.tools.learn(ans.resp.result, b.log)
		if slices.Contains(names, p.Name) {
			return true
		}
		if next == "" {
			return false
		}
		cursor = next
	}
	return false
}

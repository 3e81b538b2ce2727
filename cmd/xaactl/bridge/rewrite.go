package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// metaClientCapabilities is where 2026-07-28 requests carry the client's
// capabilities.
const metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"

// EMAExtension is the extension capability the bridge announces for the
// client (Enterprise-Managed Authorization, docs/protocol.md §2 step 0).
const EMAExtension = "io.modelcontextprotocol/enterprise-managed-authorization"

// addEMACapability returns params with the EMA extension among the client's
// capabilities, where the message carries them: initialize's capabilities,
// and the per-request _meta capabilities of protocol 2026-07-28. Settings a
// client already sent for the extension are kept. Params that do not parse
// are passed on unchanged, for the server to judge.
func addEMACapability(method string, params json.RawMessage) json.RawMessage {
	// Most messages carry no capabilities; skip parsing them (every
	// tools/call passes here).
	if len(params) == 0 || (method != methodInitialize && !bytes.Contains(params, []byte(metaClientCapabilities))) {
		return params
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil || p == nil {
		return params
	}
	changed := false
	if method == methodInitialize {
		changed = withExtension(p, "capabilities") || changed
	}
	if raw, ok := p["_meta"]; ok {
		var meta map[string]json.RawMessage
		if json.Unmarshal(raw, &meta) == nil && meta != nil && meta[metaClientCapabilities] != nil {
			if withExtension(meta, metaClientCapabilities) {
				p["_meta"] = mustMarshal(meta)
				changed = true
			}
		}
	}
	if !changed {
		return params
	}
	return mustMarshal(p)
}

// withExtension sets obj[key].extensions[EMAExtension] = {} unless present,
// and reports whether obj changed.
func withExtension(obj map[string]json.RawMessage, key string) bool {
	caps := map[string]json.RawMessage{}
	if raw, ok := obj[key]; ok && json.Unmarshal(raw, &caps) != nil {
		return false
	}
	if caps == nil { // "capabilities": null
		caps = map[string]json.RawMessage{}
	}
	ext := map[string]json.RawMessage{}
	if raw, ok := caps["extensions"]; ok && json.Unmarshal(raw, &ext) != nil {
		return false
	}
	if ext == nil {
		ext = map[string]json.RawMessage{}
	}
	if _, ok := ext[EMAExtension]; ok {
		return false
	}
	ext[EMAExtension] = json.RawMessage(`{}`)
	caps["extensions"] = mustMarshal(ext)
	obj[key] = mustMarshal(caps)
	return true
}

// mustMarshal marshals maps of raw JSON that came from json.Unmarshal, which
// cannot fail.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bridge: re-encoding parsed JSON: %v", err))
	}
	return b
}

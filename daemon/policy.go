package daemon

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/xaad-dev/xaad/internal/peercred"
)

// ReasonPeerNotAllowed is the ErrorInfo reason of a caller refused by the
// per-server policy (proto: REASON_PEER_NOT_ALLOWED).
const ReasonPeerNotAllowed = "PEER_NOT_ALLOWED"

// policy is the optional per-server caller policy: [[server]]
// allowed_clients lists the executables that may get that server's tokens,
// each an absolute path ("/usr/bin/code") or a hash ("sha256:<64 hex>").
// A server without the key serves every caller of the daemon's uid, as
// before. Paths are compared with the kernel's /proc/<pid>/exe (symlinks
// resolved), hashes with the SHA-256 of the bytes the process runs; a hash
// pins one build, a path trusts whatever the file holds.
type policy struct {
	rules map[string][]clientRule // by [[server]] url, byte for byte as the broker matches it
}

type clientRule struct {
	path   string // absolute; matched against Process.Exe
	sha256 string // lowercase hex
}

func (r clientRule) matches(p *peercred.Process) bool {
	if r.sha256 != "" {
		return p.SHA256 == r.sha256
	}
	return p.Exe == r.path
}

func parseClientRule(s string) (clientRule, error) {
	if h, ok := strings.CutPrefix(s, "sha256:"); ok {
		h = strings.ToLower(h)
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			return clientRule{}, fmt.Errorf("%q: want sha256: and 64 hex digits", s)
		}
		return clientRule{sha256: h}, nil
	}
	if !filepath.IsAbs(s) || filepath.Clean(s) != s {
		return clientRule{}, fmt.Errorf("%q: want an absolute, clean path or sha256:<hex>", s)
	}
	// /proc/<pid>/exe shows the resolved file: /usr/bin/python3 runs as
	// /usr/bin/python3.11. Resolve now; a missing file is kept as written
	// (it may be installed later).
	if r, err := filepath.EvalSymlinks(s); err == nil {
		s = r
	}
	return clientRule{path: s}, nil
}

func checkAllowedClients(where string, list []string) Problems {
	var p Problems
	if list != nil && len(list) == 0 {
		p = append(p, where+".allowed_clients is empty: no program could get this server's tokens; remove the key to allow all")
	}
	for _, s := range list {
		if _, err := parseClientRule(s); err != nil {
			p = append(p, fmt.Sprintf("%s.allowed_clients: %v", where, err))
		}
	}
	return p
}

func newPolicy(servers []ServerSection) *policy {
	p := &policy{rules: map[string][]clientRule{}}
	for _, s := range servers {
		if s.AllowedClients == nil {
			continue
		}
		rules := []clientRule{}
		for _, c := range s.AllowedClients {
			if r, err := parseClientRule(c); err == nil { // validated with the file
				rules = append(rules, r)
			}
		}
		p.rules[s.URL] = rules
	}
	return p
}

// errPeerNotAllowed carries the reason a caller was refused, in words for
// that caller: what xaad saw of it, never what the policy lists.
type errPeerNotAllowed struct{ msg string }

func (e *errPeerNotAllowed) Error() string { return e.msg }

// decide is the whole policy decision, a pure function of the server asked
// for and the caller's process (the uid was checked before). It re-checks
// that the process is still the one identified at accept (Alive) after
// matching, so a decision is never acted on for a pid since reused.
func (p *policy) decide(server string, proc *peercred.Process) error {
	rules, ok := p.rules[server]
	if !ok {
		return nil
	}
	deny := func(format string, args ...any) error {
		return &errPeerNotAllowed{fmt.Sprintf(format, args...) +
			"; ask your administrator to add it to allowed_clients of this server in the xaad configuration"}
	}
	if proc == nil {
		return deny("%s accepts only listed programs, and xaad could not identify the calling process", server)
	}
	if proc.Err != nil {
		return deny("%s accepts only listed programs, and xaad could not identify the calling process (pid %d): %v", server, proc.PID, proc.Err)
	}
	allowed := false
	for _, r := range rules {
		if r.matches(proc) {
			allowed = true
			break
		}
	}
	if !allowed {
		return deny("%s accepts only listed programs, and %s (sha256:%s, pid %d) is not one of them", server, proc.Exe, proc.SHA256, proc.PID)
	}
	if err := proc.Alive(); err != nil {
		return deny("%s accepts only listed programs, and the calling process (pid %d) changed after it was identified: %v", server, proc.PID, err)
	}
	return nil
}

// decideAudience covers GetAssertion by audience (an authorization server,
// not an MCP server): xaad cannot tell which server's policy applies, so
// while any server has a policy it refuses and asks for the resource form.
func (p *policy) decideAudience() error {
	if len(p.rules) == 0 {
		return nil
	}
	return &errPeerNotAllowed{"a caller policy is configured, so assertions are only given for a resource (an MCP server URL), not for a bare audience"}
}

func isPeerNotAllowed(err error) bool {
	var e *errPeerNotAllowed
	return errors.As(err, &e)
}

package broker

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/xaad-dev/xaad/broker/discovery"
)

// A browser sign-in always asks for offline_access, to get a refresh token
// and renew the ID token without the person. OIDC Core §11: "When offline
// access is requested, a prompt parameter value of consent MUST be used
// unless other conditions for processing the request permitting offline
// access to the requested resources are in place." Many IdPs have such
// conditions (an admin's consent for the client); a strict one has none
// and silently drops offline_access. So when a sign-in got no refresh
// token, did not send prompt=consent, and the IdP lists consent in
// prompt_values_supported, the next browser sign-in sends it. [idp]
// prompt sets it for every sign-in instead.

// promptKey is the record of what sign-ins learnt, in the identity
// bucket: it is the IdP's trait, not the person's, and outlives a logout.
const promptKey = "prompt"

type promptRecord struct {
	V      int    `json:"v"`
	Issuer string `json:"issuer"`
	// Prompt is the value the next browser sign-in adds ("consent").
	Prompt string `json:"prompt"`
	Reason string `json:"reason"`
}

// next is the prompt to add and why; empty without a record.
func (r *promptRecord) next() (prompt, reason string) {
	if r == nil {
		return "", ""
	}
	return r.Prompt, r.Reason
}

// loadPrompt reads the stored record; one of another IdP says nothing of
// this one.
func loadPrompt(raw []byte, issuer string) *promptRecord {
	var r promptRecord
	if raw == nil || json.Unmarshal(raw, &r) != nil || r.V != recordVersion || r.Issuer != issuer || r.Prompt == "" {
		return nil
	}
	return &r
}

// browserPrompt is the prompt of the next browser sign-in: the configured
// values, plus what a sign-in learnt the IdP needs.
func (b *Broker) browserPrompt(configured string) string {
	values := strings.Fields(configured)
	b.mu.RLock()
	learnt, _ := b.prompt.next()
	b.mu.RUnlock()
	if learnt != "" && !slices.Contains(values, learnt) {
		values = append(values, learnt)
	}
	return strings.Join(values, " ")
}

// learnPrompt updates the record after a browser sign-in that sent prompt
// and did or did not get a refresh token. Once consent proved to be what
// brings a refresh token, every browser sign-in sends it: the IdP would
// drop offline_access again without it.
func (b *Broker) learnPrompt(meta *discovery.AuthServer, sent string, gotRefresh bool) {
	consentSent := slices.Contains(strings.Fields(sent), "consent")
	b.mu.RLock()
	had := b.prompt
	b.mu.RUnlock()
	var next *promptRecord
	switch {
	case gotRefresh && consentSent && had != nil:
		next = &promptRecord{V: recordVersion, Issuer: meta.Issuer, Prompt: "consent",
			Reason: "the IdP gives a refresh token only when asked with prompt=consent (OIDC Core §11), so every browser sign-in asks; [idp] prompt = \"consent\" makes that explicit"}
	case gotRefresh:
	case consentSent:
		b.log.Warn("the IdP gave no refresh token even with prompt=consent: its policy for xaad's client does not allow offline access; sign-ins last as long as their ID token")
	case slices.Contains(meta.PromptValues, "consent"):
		next = &promptRecord{V: recordVersion, Issuer: meta.Issuer, Prompt: "consent",
			Reason: "the last browser sign-in asked for offline_access but got no refresh token, and the IdP supports prompt=consent, which OIDC Core §11 requires for offline access; run `xaactl login` again to get one"}
		b.log.Info("the IdP gave no refresh token; the next browser sign-in sends prompt=consent")
	}
	b.mu.Lock()
	b.prompt = next
	b.mu.Unlock()
	switch {
	case next != nil && (had == nil || *had != *next):
		b.persist(bucketIdentity, promptKey, next)
	case next == nil && had != nil:
		b.unpersist(bucketIdentity, promptKey)
	}
}

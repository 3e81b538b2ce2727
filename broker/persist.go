package broker

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// Buckets and record versions. A record carries its version so a later
// release can migrate it; unknown versions are skipped, never guessed at.
const (
	bucketIdentity = "identity"
	bucketServers  = "servers"
	bucketTokens   = "tokens"
	identityKey    = "current"
	recordVersion  = 1
)

type identityRecord struct {
	V            int       `json:"v"`
	IDToken      string    `json:"id_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Issuer       string    `json:"issuer"`
	Subject      string    `json:"subject"`
	ExpiresAt    time.Time `json:"expires_at"`
	Verified     bool      `json:"verified"`
	SignedInAt   time.Time `json:"signed_in_at"`
	// The sign-in state (broker/signin*.go, idrefresh.go); new fields are
	// optional, so version 1 records stay readable.
	signinFields
	// DPoPKey is the sign-in's private DPoP key as a JWK (dpop_key.go);
	// the store seals it with the rest of the record. key is it parsed.
	DPoPKey json.RawMessage `json:"dpop_key,omitempty"`
	key     *dpop.Key
}

type serverRecord struct {
	V        int      `json:"v"`
	URL      string   `json:"url"`
	Scopes   []string `json:"scopes,omitempty"`
	KeepWarm bool     `json:"keep_warm,omitempty"`
	// ByUse marks a server registered because it yielded a token (so it
	// may be evicted), Added one added by hand (never evicted). A record
	// with neither is from before them: registered on first use, or by
	// hand; it is evictable once it holds no token (legacyLocked).
	ByUse bool `json:"by_use,omitempty"`
	Added bool `json:"added,omitempty"`
}

type tokenRecord struct {
	V               int       `json:"v"`
	ServerURL       string    `json:"server_url"`
	RequestedScopes []string  `json:"requested_scopes,omitempty"`
	AccessToken     string    `json:"access_token"`
	Type            string    `json:"type"`
	ExpiresAt       time.Time `json:"expires_at"`
	RefreshedAt     time.Time `json:"refreshed_at"`
	Scopes          []string  `json:"scopes,omitempty"`
	Resource        string    `json:"resource"`
	AuthServer      string    `json:"auth_server"`
	// Subject is "issuer sub" of the identity the token was minted for;
	// empty in records written before it existed.
	Subject string `json:"subject,omitempty"`
	// JKT is the thumbprint of the key a DPoP token is bound to.
	JKT string `json:"jkt,omitempty"`
	// LastUsed is when a request last asked for the token, stored at
	// shutdown when that was after RefreshedAt (lastused.go); zero when
	// not known.
	LastUsed time.Time `json:"last_used,omitempty"`
}

func tokenKey(serverURL, scopes string) string { return serverURL + "\x00" + scopes }

func (b *Broker) load() error {
	st := b.cfg.Store
	ids, err := st.List(bucketIdentity)
	if err != nil {
		return err
	}
	srvs, err := st.List(bucketServers)
	if err != nil {
		return err
	}
	toks, err := st.List(bucketTokens)
	if err != nil {
		return err
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prompt = loadPrompt(ids[promptKey], b.cfg.IdP.Issuer)
	if raw, ok := ids[identityKey]; ok {
		var r identityRecord
		if err := json.Unmarshal(raw, &r); err != nil || r.V != recordVersion {
			b.log.Warn("stored identity is unreadable; sign in again", slog.Any("error", errText(err)))
		} else if r.Issuer != b.cfg.IdP.Issuer {
			b.log.Warn("stored identity belongs to another IdP; ignoring it", slog.String("issuer", r.Issuer))
		} else {
			if b.loadDPoPKey(&r) {
				_ = b.persist(bucketIdentity, identityKey, &r)
			}
			b.ident = &r
		}
	}
	var legacy []string
	for key, raw := range srvs {
		var r serverRecord
		if err := json.Unmarshal(raw, &r); err != nil || r.V != recordVersion || r.URL != key {
			b.log.Warn("skipping unreadable server record", slog.String("server", key))
			continue
		}
		if _, ok := b.servers[r.URL]; ok {
			continue // the configuration defines it
		}
		if !b.cfg.AllowUnlisted {
			b.log.Info("dropping a user-added server the configuration no longer allows", slog.String("server", r.URL))
			continue
		}
		b.addServerLocked(&server{url: r.URL, scopes: r.Scopes, keepWarm: r.KeepWarm, origin: OriginUser, byUse: r.ByUse, tokens: map[string]*Token{}})
		if !r.ByUse && !r.Added {
			legacy = append(legacy, r.URL)
		}
	}
	// After the tokens are loaded (or not: signed out, none is served).
	defer func() { b.forget(b.legacyLocked(legacy)) }()
	if b.ident == nil {
		return nil // tokens of an unknown identity are not served
	}
	defer b.warmLocked()
	for key, raw := range toks {
		var r tokenRecord
		if err := json.Unmarshal(raw, &r); err != nil || r.V != recordVersion {
			b.log.Warn("skipping unreadable token record")
			continue
		}
		srv, ok := b.servers[r.ServerURL]
		if !ok || !r.ExpiresAt.After(now) || key != tokenKey(r.ServerURL, scopeKey(r.RequestedScopes)) ||
			(r.Subject != "" && r.Subject != b.ident.Issuer+" "+b.ident.Subject) || !b.boundToCurrentKeyLocked(r.JKT) {
			continue
		}
		srv.tokens[scopeKey(r.RequestedScopes)] = &Token{
			AccessToken: r.AccessToken, Type: r.Type, JKT: r.JKT, ExpiresAt: r.ExpiresAt, RefreshedAt: r.RefreshedAt,
			Scopes: r.Scopes, Resource: r.Resource, AuthServer: r.AuthServer, ServerURL: r.ServerURL, Source: SourceDisk,
		}
		// Used when obtained, as far as anyone knows, unless the last
		// shutdown stored a later use: the idle rule counts from there.
		used := r.RefreshedAt
		if r.LastUsed.After(used) {
			used = r.LastUsed
		}
		b.queue.Adopt(planKey(srv, scopeKey(r.RequestedScopes)), r.RefreshedAt, r.ExpiresAt, used)
		if r.RefreshedAt.After(srv.lastRefAt) {
			srv.lastRefAt = r.RefreshedAt
		}
	}
	return nil
}

// persist writes one record; a failure is logged and reported, never fatal
// to serving: the in-memory copy stays authoritative until the next write.
func (b *Broker) persist(bucket, key string, v any) error {
	if b.cfg.Store == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := b.cfg.Store.Put(bucket, key, raw); err != nil {
		b.log.Error("could not persist record", slog.String("bucket", bucket), slog.Any("error", err))
		return err
	}
	return nil
}

func (b *Broker) unpersist(bucket, key string) {
	if b.cfg.Store == nil {
		return
	}
	if err := b.cfg.Store.Delete(bucket, key); err != nil {
		b.log.Error("could not delete record", slog.String("bucket", bucket), slog.Any("error", err))
	}
}

// unpersistPrefix deletes every record of bucket whose key starts with prefix.
func (b *Broker) unpersistPrefix(bucket, prefix string) {
	if b.cfg.Store == nil {
		return
	}
	all, err := b.cfg.Store.List(bucket)
	if err != nil {
		b.log.Error("could not list records", slog.String("bucket", bucket), slog.Any("error", err))
		return
	}
	for k := range all {
		if strings.HasPrefix(k, prefix) {
			b.unpersist(bucket, k)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "unknown record version"
	}
	return err.Error()
}

package broker

import (
	"log/slog"
	"strings"
)

// keepLastUsed stores, when the broker closes, when each valid token was
// last asked for, if that was after it was obtained: after a restart
// Load hands it to the queue (schedule.Queue.Adopt), so a token in use
// before the restart keeps its background refresh under the lifetime
// rule. Writing at each request would cost a store write per request; a
// crash loses only this, and such a token then counts as unused until the
// next request, which at worst waits for the network once after expiry.
// The writes happen under the read lock: a logout (which takes the lock
// before it deletes the stored tokens) cannot be overtaken by them.
func (b *Broker) keepLastUsed() {
	if b.cfg.Store == nil {
		return
	}
	now := b.now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ident == nil {
		return
	}
	subject := b.ident.Issuer + " " + b.ident.Subject
	for _, srv := range b.servers {
		for key, t := range srv.tokens {
			e, ok := b.queue.Entry(planKey(srv, key))
			if !ok || !t.ExpiresAt.After(now) || !e.LastUsed.After(t.RefreshedAt) {
				continue
			}
			rec := tokenRecordOf(t, strings.Fields(key), subject)
			rec.LastUsed = e.LastUsed
			if err := b.persist(bucketTokens, tokenKey(srv.url, key), rec); err != nil {
				b.log.Warn("cannot store when a token was last used", slog.String("server", srv.url), slog.String("error", err.Error()))
			}
		}
	}
}

package broker

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// The identity's DPoP key: made at every sign-in, kept sealed in the
// identity record, gone with it at logout. It never leaves the broker:
// callers get proofs ([Broker.Proof]) and its thumbprint (IdentityInfo).

// dpopKeyLocked is the current sign-in's key, or nil.
func (b *Broker) dpopKeyLocked() *dpop.Key {
	if b.ident == nil {
		return nil
	}
	return b.ident.key
}

// newDPoPKey makes the key of a new sign-in, with the algorithm of
// chooseDPoPAlg. A failure (no randomness) leaves the sign-in without
// DPoP: servers under auto get bearer tokens, under required an error.
func (b *Broker) newDPoPKey() (*dpop.Key, json.RawMessage) {
	k, err := dpop.GenerateKey(b.chooseDPoPAlg())
	var raw []byte
	if err == nil {
		raw, err = k.MarshalPrivate()
	}
	if err != nil {
		b.log.Error("cannot make a DPoP key; tokens of this sign-in are bearer tokens", slog.String("error", err.Error()))
		return nil, nil
	}
	return k, raw
}

// chooseDPoPAlg picks the new key's algorithm with dpop.ChooseAlgorithm
// from the dpop_signing_alg_values_supported of the IdP and of every
// authorization server discovered so far that advertises DPoP and whose
// policy is not off. When they have none in common, the authorization
// servers' lists alone decide (the IdP then gets no proofs: its binding of
// the ID-JAG is a bonus, the access token's is the point); when those have
// none in common either, ES256. An authorization server that accepts none
// of the key's algorithm gets bearer tokens under auto and fails under
// required, until a new sign-in takes it into account.
func (b *Broker) chooseDPoPAlg() dpop.Algorithm {
	b.mu.RLock()
	var idp []string
	if b.idpMeta != nil {
		idp = b.idpMeta.DPoPAlgs
	}
	var ases [][]string
	for _, s := range b.servers {
		if s.meta == nil || len(s.meta.as.DPoPAlgs) == 0 || b.dpopPolicyLocked(s, s.meta.as.Issuer) == DPoPOff {
			continue
		}
		ases = append(ases, s.meta.as.DPoPAlgs)
	}
	b.mu.RUnlock()
	if len(idp) > 0 {
		if a, err := dpop.ChooseAlgorithm(append(ases, idp)...); err == nil {
			return a
		}
	}
	a, err := dpop.ChooseAlgorithm(ases...)
	if err != nil {
		b.log.Warn("the authorization servers accept no DPoP algorithm in common; the key is ES256", slog.String("error", err.Error()))
		return dpop.ES256
	}
	return a
}

// loadDPoPKey reads the stored key of r. A record without one (written
// before DPoP) or with an unreadable one gets a new key, stored with it:
// tokens bound to a key that is gone are dropped as they load.
func (b *Broker) loadDPoPKey(r *identityRecord) (dirty bool) {
	if len(r.DPoPKey) > 0 {
		k, err := dpop.ParsePrivate(r.DPoPKey)
		if err == nil {
			r.key = k
			return false
		}
		b.log.Warn("the stored DPoP key is unreadable; making a new one", slog.String("error", err.Error()))
	}
	r.key, r.DPoPKey = b.newDPoPKey()
	return r.key != nil
}

// dropBoundTokensLocked forgets every cached token bound to another key
// than the current one (a new sign-in of the same person made a new key):
// without that key no proof can be made for them. It returns their store
// keys, to delete once the lock is released.
func (b *Broker) dropBoundTokensLocked() []string {
	var jkt string
	if k := b.dpopKeyLocked(); k != nil {
		jkt = k.Thumbprint()
	}
	var gone []string
	for _, s := range b.servers {
		for key, t := range s.tokens {
			if t.JKT != "" && t.JKT != jkt {
				delete(s.tokens, key)
				b.queue.Remove(planKey(s, key))
				gone = append(gone, tokenKey(s.url, key))
			}
		}
		s.retired = nil
	}
	return gone
}

// boundToCurrentKeyLocked reports whether a token bound to jkt ("" for a
// bearer token) can be used with the current key.
func (b *Broker) boundToCurrentKeyLocked(jkt string) bool {
	k := b.dpopKeyLocked()
	return jkt == "" || (k != nil && k.Thumbprint() == jkt)
}

// errNoDPoPKey: the sign-in has no key to sign with.
var errNoDPoPKey = errors.New("this sign-in has no DPoP key")

package broker

import "github.com/xaad-dev/xaad/broker/grant"

// ExchangeRefusedForTest classifies err as the refusal of a token exchange
// that presented idToken as its subject, as mint and exchangeFor do.
func (b *Broker) ExchangeRefusedForTest(idToken string, err error) error {
	return b.exchangeRefusedFor(subjectCred{token: idToken, typ: grant.TokenTypeIDToken, idToken: idToken}, err)
}

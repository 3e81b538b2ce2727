package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/xaad-dev/xaad/storage"
)

// keyringSource keeps keys in the Secret Service under service "xaad",
// one item per key named by its id, so several databases (and a rekey in
// progress) never share a slot.
type keyringSource struct{}

const keyringService = "xaad"

// keyringTimeout bounds a D-Bus call: a locked collection can open an
// unlock prompt that nobody answers on a headless session.
const keyringTimeout = 10 * time.Second

func keyringUser(key []byte) string { return "data-key-" + storage.KeyID(key) }

func (keyringSource) Provider() string { return Keyring }
func (keyringSource) String() string {
	return "Secret Service keyring (service " + keyringService + ")"
}

func (keyringSource) load(id string) ([]byte, error) {
	if id == "" {
		return nil, errNoKeyHere // a new database gets a new key
	}
	var secret string
	err := withTimeout(func() (err error) {
		secret, err = keyring.Get(keyringService, "data-key-"+id)
		return err
	})
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, fmt.Errorf("%w with id %s", errNoKeyHere, id)
	}
	if err != nil {
		return nil, fmt.Errorf("the Secret Service: %w", err)
	}
	k, err := decodeKey([]byte(secret))
	if err != nil {
		return nil, err
	}
	return matches(k, id)
}

func (keyringSource) storePending(key []byte) error {
	return withTimeout(func() error {
		return keyring.Set(keyringService, keyringUser(key), encodeKey(key))
	})
}

func (s keyringSource) commit(_, old []byte) error {
	if old == nil {
		return nil
	}
	return s.remove(old)
}

func (keyringSource) remove(key []byte) error {
	err := withTimeout(func() error { return keyring.Delete(keyringService, keyringUser(key)) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

func withTimeout(f func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), keyringTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("the Secret Service did not answer within %s (is the keyring locked?)", keyringTimeout)
	}
}

package keys

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xaad-dev/xaad/storage"
)

// Find returns the key that opens a database described by info, and the
// source that holds it: for a sealed file, the source holding the key with
// its id; for a new or unsealed file, the first source that has or can keep
// a key (a new key is made for the keyring, which names items by key id; an
// existing key file is reused, never overwritten).
func Find(sources []Source, info storage.Info) ([]byte, Source, error) {
	if len(sources) == 0 {
		return nil, nil, errors.New("no key provider is available: set key_provider and key_file in the [daemon] section")
	}
	var tried []string
	if info.KeyID != "" {
		for _, s := range sources {
			k, err := s.load(info.KeyID)
			if err == nil {
				return k, s, nil
			}
			tried = append(tried, fmt.Sprintf("%s: %v", s, err))
		}
		return nil, nil, fmt.Errorf("%w: the database is sealed with key %s, and no key provider has that key (%s); xaad changed nothing: restore the key, or move the database aside to start afresh",
			storage.ErrWrongKey, info.KeyID, strings.Join(tried, "; "))
	}
	for _, s := range sources {
		k, err := s.load("")
		if err == nil {
			return k, s, nil
		}
		if errors.Is(err, errNoKeyHere) && s.Provider() != Systemd {
			k, err = create(s)
			if err == nil {
				return k, s, nil
			}
		}
		tried = append(tried, fmt.Sprintf("%s: %v", s, err))
	}
	return nil, nil, fmt.Errorf("no key provider has or could keep a data key (%s)", strings.Join(tried, "; "))
}

// create makes a new key and stores it in s.
func create(s Source) ([]byte, error) {
	if fs, ok := s.(fileSource); ok {
		return fs.create(storage.NewKey())
	}
	k := storage.NewKey()
	if err := s.storePending(k); err != nil {
		return nil, err
	}
	return k, s.commit(k, nil)
}

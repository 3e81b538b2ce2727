package storagetest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Damage is a damaged copy of a database file.
type Damage struct {
	// Name says what was done, for test names.
	Name string
	// Data is the damaged file.
	Data []byte
	// Harmless is true when nothing the current meta page reaches was hit
	// (a truncation past the pages in use, the previous commit's meta page
	// zeroed): the file still opens whole.
	Harmless bool
	// Fallback is true when only the current meta page was hit: the file
	// opens with the previous commit, losing the last one alone.
	Fallback bool
}

// Layout is what a test needs to know of a bbolt file to damage it well:
// read from its meta pages (bbolt format 2, in the machine's byte order).
type Layout struct {
	PageSize int
	// Current is the meta page (0 or 1) bbolt uses: the higher txid.
	Current int
	// Freelist is the current freelist page; Pages the pages in use.
	Freelist, Pages int
}

// ReadLayout reads the meta pages of an intact file.
func ReadLayout(file []byte) (Layout, error) {
	le := binary.NativeEndian
	if len(file) < 80 {
		return Layout{}, fmt.Errorf("a %d-byte file has no meta page", len(file))
	}
	ps := int(le.Uint32(file[16+8:]))
	if ps < 1024 || len(file) < 2*ps {
		return Layout{}, fmt.Errorf("page size %d in a %d-byte file", ps, len(file))
	}
	meta := func(i int) []byte { return file[i*ps+16:] }
	cur := 0
	if le.Uint64(meta(1)[48:]) > le.Uint64(meta(0)[48:]) {
		cur = 1
	}
	return Layout{
		PageSize: ps,
		Current:  cur,
		Freelist: int(le.Uint64(meta(cur)[32:])),
		Pages:    int(le.Uint64(meta(cur)[40:])),
	}, nil
}

// Damages returns damaged copies of an intact, populated file: truncated
// at every page boundary, each meta page zeroed and both, the freelist
// page overwritten, random bytes of the same size, and every page but the
// two metas overwritten with random bytes. rng makes the random ones.
func Damages(file []byte, rng *rand.Rand) ([]Damage, error) {
	l, err := ReadLayout(file)
	if err != nil {
		return nil, err
	}
	var out []Damage
	for n := 1; n*l.PageSize < len(file); n++ {
		out = append(out, Damage{
			Name:     fmt.Sprintf("truncated to %d pages", n),
			Data:     clone(file)[:n*l.PageSize],
			Harmless: n >= l.Pages,
		})
	}
	zero := func(pages ...int) []byte {
		d := clone(file)
		for _, p := range pages {
			clear(d[p*l.PageSize : (p+1)*l.PageSize])
		}
		return d
	}
	garbage := func(from, to int) []byte {
		d := clone(file)
		fill(rng, d[from*l.PageSize:to*l.PageSize])
		return d
	}
	random := clone(file)
	fill(rng, random)
	return append(out,
		Damage{Name: fmt.Sprintf("meta page %d (the previous commit) zeroed", 1-l.Current), Data: zero(1 - l.Current), Harmless: true},
		Damage{Name: fmt.Sprintf("meta page %d (the current one) zeroed", l.Current), Data: zero(l.Current), Fallback: true},
		Damage{Name: "both meta pages zeroed", Data: zero(0, 1)},
		Damage{Name: "freelist page overwritten", Data: garbage(l.Freelist, l.Freelist+1)},
		Damage{Name: "random bytes", Data: random},
		Damage{Name: "every page but the metas random", Data: garbage(2, len(file)/l.PageSize)},
	), nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

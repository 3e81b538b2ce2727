package fleetsim

// Event kinds.
const (
	// evUse: a caller asks daemon d for server s's token.
	evUse uint8 = iota + 1
	// evWake: daemon d's refresh loop turns (the queue's next due time).
	evWake
	// evStep: the flight of (d, s) moves on: its turn at a gate, or an
	// answer arriving. gen tells a current step from a superseded one.
	evStep
	// evState: user d's laptop changes state (resumed or suspended).
	evState
)

// event is a value in the heap: no pointer, so pushing one allocates
// nothing once the heap has grown.
type event struct {
	at   int64 // ns since the start of the day
	seq  uint64
	d    int32
	gen  uint32
	kind uint8
	s    uint8
}

// events is a binary min-heap by (at, seq): ties go in the order they were
// pushed, so a run is reproducible from its seed.
type events struct {
	h   []event
	seq uint64
}

func (q *events) push(e event) {
	q.seq++
	e.seq = q.seq
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *events) less(i, j int) bool {
	a, b := &q.h[i], &q.h[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *events) len() int { return len(q.h) }

func (q *events) pop() event {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}

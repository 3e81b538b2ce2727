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

// event is a value: no pointer, so queueing one allocates nothing once
// the buckets have grown.
type event struct {
	at   int64 // ns since the start of the day
	seq  uint64
	d    int32
	gen  uint32
	kind uint8
	s    uint8
}

// bucketWidth is the span of one bucket of the calendar.
const bucketWidth = int64(1e9) // 1 s

// events is a calendar queue: one unsorted bucket per second of the day,
// and a binary min-heap by (at, seq) of the bucket being worked through.
// A heap of every pending event would be hundreds of thousands deep for a
// large fleet, each operation a cache miss per level; a bucket holds the
// few hundred events of one second. Ties go in the order they were
// pushed, so a run is reproducible from its seed. Events at or after the
// end are dropped.
type events struct {
	buckets [][]event
	cur     int // the bucket in h; its events go straight into h
	h       []event
	seq     uint64
	n       int
}

func newEvents(end int64) *events {
	return &events{buckets: make([][]event, end/bucketWidth+1)}
}

func (q *events) push(e event) {
	b := int(e.at / bucketWidth)
	if b >= len(q.buckets) || e.at < 0 {
		return
	}
	q.seq++
	e.seq = q.seq
	q.n++
	if b <= q.cur {
		q.heapPush(e)
		return
	}
	q.buckets[b] = append(q.buckets[b], e)
}

func (q *events) len() int { return q.n }

// pop returns the earliest event; len must be above zero.
func (q *events) pop() event {
	for len(q.h) == 0 {
		q.cur++
		for _, e := range q.buckets[q.cur] {
			q.heapPush(e)
		}
		q.buckets[q.cur] = nil
	}
	q.n--
	return q.heapPop()
}

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *events) heapPush(e event) {
	q.h = append(q.h, e)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *events) heapPop() event {
	h := q.h
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.h = h
	return top
}

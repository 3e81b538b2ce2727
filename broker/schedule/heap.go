package schedule

import "cmp"

// dueHeap orders planned entries by due time, then by key, so that runs
// with the same inputs hand out keys in the same order (a simulator's
// results are reproducible from its seed). The due time sits in the heap
// itself, so ordering reads no entry.
type dueHeap []dueItem

type dueItem struct {
	at int64 // entry.next
	e  *entry
}

func (h dueHeap) Len() int { return len(h) }

func (h dueHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	a, b := h[i].e.key, h[j].e.key
	if c := cmp.Compare(a.Server, b.Server); c != 0 {
		return c < 0
	}
	return a.Scopes < b.Scopes
}

func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].e.idx, h[j].e.idx = i, j
}

func (h *dueHeap) Push(x any) {
	it := x.(dueItem)
	it.e.idx = len(*h)
	*h = append(*h, it)
}

func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = dueItem{}
	*h = old[:len(old)-1]
	it.e.idx = -1
	return it
}

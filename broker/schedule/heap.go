package schedule

import "cmp"

// dueHeap orders planned entries by due time, then by key, so that runs
// with the same inputs hand out keys in the same order (a simulator's
// results are reproducible from its seed).
type dueHeap []*entry

func (h dueHeap) Len() int { return len(h) }

func (h dueHeap) Less(i, j int) bool {
	if c := h[i].next.Compare(h[j].next); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(h[i].key.Server, h[j].key.Server); c != 0 {
		return c < 0
	}
	return h[i].key.Scopes < h[j].key.Scopes
}

func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *dueHeap) Push(x any) {
	e := x.(*entry)
	e.idx = len(*h)
	*h = append(*h, e)
}

func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

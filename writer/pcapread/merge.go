package pcapread

import (
	"container/heap"
	"errors"
	"io"
	"math"
)

// Merger reads several captures as one stream, in timestamp order across
// captures (each capture keeps its own order, as mergecap does). It holds
// one record per capture at a time: memory does not grow with the files.
type Merger struct {
	sources []*source
	heap    sourceHeap
	pending []*source // sources to advance before the next record is chosen
}

type source struct {
	r     *Reader
	index int     // in the order given to Merge: breaks ties
	rec   *Record // the source's next record
	key   int64   // when rec comes in the merged stream
	last  int64   // time of the source's last packet
}

// Merge reads the captures of readers as one.
func Merge(readers ...*Reader) *Merger {
	m := &Merger{}
	for i, r := range readers {
		s := &source{r: r, index: i, last: math.MinInt64}
		m.sources = append(m.sources, s)
		m.pending = append(m.pending, s)
	}
	return m
}

// Next returns the next record of the merged stream, or io.EOF after the
// last. When a capture cannot be read on (an *Error, or a read error), Next
// returns that error once and goes on with the other captures. The record is
// valid until the next call.
func (m *Merger) Next() (*Record, error) {
	for len(m.pending) > 0 {
		s := m.pending[0]
		m.pending = m.pending[1:]
		rec, err := s.r.Next()
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return nil, err
		}
		// Interfaces and statistics keep their place after the packet
		// before them, so an interface comes before its packets.
		s.rec, s.key = rec, s.last
		if rec.Kind == KindPacket {
			s.key, s.last = rec.Time, rec.Time
		}
		heap.Push(&m.heap, s)
	}
	if len(m.heap) == 0 {
		return nil, io.EOF
	}
	s := heap.Pop(&m.heap).(*source)
	m.pending = append(m.pending, s)
	return s.rec, nil
}

type sourceHeap []*source

func (h sourceHeap) Len() int { return len(h) }
func (h sourceHeap) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].index < h[j].index
}
func (h sourceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)   { *h = append(*h, x.(*source)) }
func (h *sourceHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

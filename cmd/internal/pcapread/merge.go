package pcapread

import (
	"cmp"
	"container/heap"
	"errors"
	"io"
	"math"
	"slices"
)

// Merger reads several captures as one stream. The files of one lwtdump
// run (their section headers name the run and their sequence number, see
// writer.RunComment) are read one after the other in sequence order, as
// one capture: a rotated capture reads in the order it was captured,
// whatever the files are named and however a ring came round. These runs
// and any other captures are merged in timestamp order (each keeps its own
// order, as mergecap does). The Merger holds one record per run or capture
// at a time: memory does not grow with the files.
type Merger struct {
	sources []*source
	heap    sourceHeap
	pending []*source // sources to advance before the next record is chosen
}

type source struct {
	rs    []*Reader // the captures still to read, one after the other
	head  *Reader   // the first capture: its section header stands for the source
	index int       // in the order given to Merge: breaks ties
	rec   *Record   // the source's next record
	key   int64     // when rec comes in the merged stream
	last  int64     // time of the source's last packet
}

// Merge reads the captures of readers as one. It reads the section header
// of each pcapng capture to find the runs.
func Merge(readers ...*Reader) *Merger {
	m := &Merger{}
	runs := map[string]*source{}
	seqs := map[*Reader]int{}
	for _, r := range readers {
		s := &source{index: len(m.sources), last: math.MinInt64}
		if run, seq, ok := r.Run(); ok {
			if have := runs[run]; have != nil {
				have.rs = append(have.rs, r)
				seqs[r] = seq
				continue
			}
			runs[run] = s
			seqs[r] = seq
		}
		s.rs = []*Reader{r}
		m.sources = append(m.sources, s)
		m.pending = append(m.pending, s)
	}
	for _, s := range m.sources {
		slices.SortStableFunc(s.rs, func(a, b *Reader) int { return cmp.Compare(seqs[a], seqs[b]) })
		s.head = s.rs[0]
	}
	return m
}

// Next returns the next record of the merged stream, or io.EOF after the
// last. When a capture cannot be read on (an *Error, or a read error), Next
// returns that error once and goes on with the other captures, and with the
// next file of its run. The record is valid until the next call.
func (m *Merger) Next() (*Record, error) {
	for len(m.pending) > 0 {
		s := m.pending[0]
		rec, err := s.rs[0].Next()
		if err != nil {
			s.rs = s.rs[1:]
			if len(s.rs) == 0 {
				m.pending = m.pending[1:]
			}
			if errors.Is(err, io.EOF) {
				continue
			}
			return nil, err
		}
		m.pending = m.pending[1:]
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

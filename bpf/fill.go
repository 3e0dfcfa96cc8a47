package bpf

import "sync/atomic"

// BufferFill reports how many bytes wait in the ring buffer for user
// space, and its size, read from the positions the kernel and the reader
// share; ok is false for the perf buffers, which keep no such count. It is
// safe to call from any goroutine while Run reads.
func (r *Reader) BufferFill() (used, size uint64, ok bool) {
	g, isRing := r.t.(*ring)
	if !isRing {
		return 0, 0, false
	}
	return g.fill()
}

// fill is the bytes between the consumer position the reader last
// published and the kernel's producer position.
func (r *ring) fill() (used, size uint64, ok bool) {
	size = r.mask + 1
	prod, cons := atomic.LoadUint64(r.producer), atomic.LoadUint64(r.consumer)
	if prod < cons {
		return 0, size, true
	}
	return min(prod-cons, size), size, true
}

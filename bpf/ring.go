package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ring consumes a BPF ring buffer in place.
//
// cilium/ebpf's ringbuf.Reader copies every record into a buffer of its own
// and publishes the consumer position after every record, under a mutex.
// The producer reads that position on every reservation, so publishing it
// per record moves a cache line between the reading CPU and the CPUs that
// forward packets on every packet. ring instead hands out each record where
// it lies (the data pages are mapped twice, so a record is contiguous even
// across the end of the ring) and publishes the consumer position once per
// publishEvery bytes, and when a batch is done.
//
// It waits for the kernel's wake-up in Go's network poller (a duplicate of
// the map's file descriptor, non-blocking, made an os.File), not in a
// blocking epoll_wait of its own. A goroutine blocked in a system call
// holds its P, so the runtime's monitor thread (sysmon) keeps polling every
// 20 us to 10 ms, takes the P back after 10 ms, and polls every 20 us again
// once the call returns: about 35 sleeps and wake-ups of its own per
// wake-up of the reader. Parked in the poller, the reader holds no P, and
// with every P idle the monitor sleeps.
type ring struct {
	consumerPage []byte // the consumer position, which we write
	producerPage []byte // the producer position, then the data, mapped twice
	consumer     *uint64
	producer     *uint64
	data         []byte
	mask         uint64
	pos          uint64 // our consumer position, published by publish
	published    uint64
	file         *os.File        // the map, in the runtime's poller
	conn         syscall.RawConn // of file
	deadline     time.Time       // of next's wait
	timedOut     bool            // next's wait reached the deadline
}

// Ring record header bits (kernel/bpf/ringbuf.c).
const (
	ringBusyBit    = 1 << 31
	ringDiscardBit = 1 << 30
	ringHeaderSize = 8
	publishEvery   = 64 << 10
)

// newRing maps the ring buffer m.
func newRing(m *ebpf.Map) (r *ring, err error) {
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	r = &ring{mask: uint64(size - 1)}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.consumerPage, err = unix.Mmap(m.FD(), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("map ring buffer consumer page: %w", err)
	}
	if r.producerPage, err = unix.Mmap(m.FD(), int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("map ring buffer data: %w", err)
	}
	r.consumer = (*uint64)(unsafe.Pointer(&r.consumerPage[0]))
	r.producer = (*uint64)(unsafe.Pointer(&r.producerPage[0]))
	r.data = r.producerPage[page:]
	r.pos = atomic.LoadUint64(r.consumer)
	r.published = r.pos
	// The poller takes the file descriptor it is given: give it a
	// duplicate, which the map does not close, non-blocking, so that
	// os.NewFile adds it to the poller (edge-triggered: it reports the
	// kernel's wake-ups, each once, also one that comes while the reader
	// is busy).
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("watch ring buffer: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch ring buffer: %w", err)
	}
	r.file = os.NewFile(uintptr(fd), "ring buffer")
	if r.conn, err = r.file.SyscallConn(); err != nil {
		return nil, fmt.Errorf("watch ring buffer: %w", err)
	}
	return r, nil
}

// next returns the next record, waiting for one until the deadline.
// Records that came in below the wake-up threshold are read when the
// deadline passes, before it is reported. The ring buffer reports no lost
// samples: the program counts them.
func (r *ring) next() (raw []byte, lost uint64, cpu int, err error) {
	for {
		if raw := r.take(); raw != nil {
			return raw, 0, 0, nil
		}
		r.publish()
		if r.timedOut {
			r.timedOut = false
			return nil, 0, 0, os.ErrDeadlineExceeded
		}
		if err := r.wait(r.deadline); errors.Is(err, os.ErrDeadlineExceeded) {
			r.timedOut = true
		} else if err != nil {
			return nil, 0, 0, err
		}
	}
}

func (r *ring) setDeadline(t time.Time) { r.deadline, r.timedOut = t, false }

// take returns the next committed record, or nil when none is ready. The
// bytes stay valid until the next take or publish.
func (r *ring) take() []byte {
	for {
		producer := atomic.LoadUint64(r.producer)
		if r.pos >= producer {
			return nil
		}
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[r.pos&r.mask])))
		if hdr&ringBusyBit != 0 {
			return nil // reserved, not yet committed: records are read in order
		}
		// The records before this one are done with: free them now and
		// then. Not this one, which the caller reads until the next take.
		if r.pos-r.published >= publishEvery {
			r.publish()
		}
		n := uint64(hdr &^ (ringBusyBit | ringDiscardBit))
		start := r.pos&r.mask + ringHeaderSize
		r.pos += (n + ringHeaderSize + 7) &^ 7
		if hdr&ringDiscardBit == 0 {
			return r.data[start : start+n]
		}
	}
}

// publish tells the producer how far we have read, freeing that space.
func (r *ring) publish() {
	if r.pos != r.published {
		atomic.StoreUint64(r.consumer, r.pos)
		r.published = r.pos
	}
}

// wait blocks until the kernel signals new data or the deadline passes.
func (r *ring) wait(deadline time.Time) error {
	if !time.Now().Before(deadline) {
		return os.ErrDeadlineExceeded
	}
	if err := r.file.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("wait for ring buffer: %w", err)
	}
	// Read calls the function, which says it is not done, waits until
	// the poller reports the file readable (a wake-up since the last
	// one was taken) or the deadline, and calls it again.
	waited := false
	err := r.conn.Read(func(uintptr) bool {
		done := waited
		waited = true
		return done
	})
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("wait for ring buffer: %w", err)
	}
	return err
}

func (r *ring) close() error {
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
	for _, m := range []*[]byte{&r.consumerPage, &r.producerPage} {
		if *m != nil {
			unix.Munmap(*m)
			*m = nil
		}
	}
	return nil
}

package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// ReaderOptions tune how samples travel from the kernel to user space.
type ReaderOptions struct {
	// Transport is the BPF ring buffer (default) or the perf event array.
	Transport Transport
	// PerCPUBuffer is the kernel buffer of each CPU in bytes (default
	// 4 MiB): the size of each CPU's perf buffer, while the ring buffer,
	// shared by all CPUs, gets this size times the number of CPUs (see
	// RingSize). Bigger buffers absorb longer bursts.
	PerCPUBuffer int
	// Watermark is how many bytes a buffer holds before user space is woken
	// (default, and at most, a quarter of the buffer: the ring buffer, or a
	// CPU's perf buffer). Every wake-up costs the kernel and the scheduler
	// work on the CPUs that forward packets, so they are kept rare; the
	// FlushInterval bounds how long a sample waits. 1 wakes user space for
	// every sample.
	Watermark int
	// FlushInterval bounds how long a sample may wait below the watermark
	// (default 100 ms): the reader wakes at least this often.
	FlushInterval time.Duration
	// Notify, when set, is told what the capture does differently because
	// of the running kernel, such as the perf buffer instead of the ring
	// buffer (see Collection.Program).
	Notify func(Notice)
}

// Defaults for ReaderOptions.
const (
	DefaultPerCPUBuffer  = 4 << 20
	DefaultFlushInterval = 100 * time.Millisecond
)

// RingSize is the size of the ring buffer: PerCPUBuffer for each possible
// CPU, rounded up to a power of two as the kernel requires.
func (o ReaderOptions) RingSize() int {
	perCPU := o.PerCPUBuffer
	if perCPU <= 0 {
		perCPU = DefaultPerCPUBuffer
	}
	n := 1
	for n < perCPU*max(1, possibleCPUs()) {
		n <<= 1
	}
	return max(n, os.Getpagesize())
}

func (o *ReaderOptions) setDefaults() {
	if o.PerCPUBuffer <= 0 {
		o.PerCPUBuffer = DefaultPerCPUBuffer
	}
	buffer := o.PerCPUBuffer
	if o.Transport == RingBuffer {
		buffer = o.RingSize()
	}
	if o.Watermark <= 0 || o.Watermark > buffer/4 {
		o.Watermark = buffer / 4
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
}

// Sink receives the samples a Reader reads.
type Sink interface {
	// WriteSample takes one sample. s and s.Data are reused after it returns.
	WriteSample(s *sample.Sample) error
	// Flush is called after every batch of samples and at least once per
	// FlushInterval even when no packet arrives; now is the wall-clock time.
	Flush(now time.Time) error
}

// A Sink's WriteSample or Flush error ends the capture. One that wraps
// sample.ErrDone means that the sink wants no more samples (its last file
// is complete): a normal end, as at a Run's limit. Any other is a failure:
// the sample given then is lost, and so are those still in the buffers.

// DeliveringSink is a Sink that may hold samples before they reach its
// output (package writer's Writer holds a buffer of them), and lose them
// when a write to its output fails. It tells how many of an attachment's
// samples reached its output or are held to be written; Capture.Tally
// counts the others it took as lost to a failed write. A Sink that is not
// a DeliveringSink is taken to have written every sample it took.
type DeliveringSink interface {
	Sink
	Delivered(attachment uint32) uint64
}

// transport is what a Reader reads records from: the BPF ring buffer
// (ring.go) or the perf event array (perf.go).
type transport interface {
	// next returns the next record, waiting for one until the deadline:
	// a sample's bytes, valid until the next call, or a number of samples
	// lost on a CPU. When the deadline has passed it still returns the
	// records already in the buffers, those below the watermark included,
	// and then os.ErrDeadlineExceeded. (Several results rather than one
	// struct: the compiler copies a returned struct through the stack,
	// which made the loop on the ring reader 40% slower, BenchmarkRingLoop.)
	next() (raw []byte, lost uint64, cpu int, err error)
	// setDeadline sets the deadline of next.
	setDeadline(time.Time)
	// close releases the buffers.
	close() error
}

// Reader reads the samples of every attachment of a Collection.
type Reader struct {
	t        transport
	sample   sample.Sample
	clock    Clock
	interval time.Duration
	written  uint64
	// Per attachment (the capture program's attachment numbers are below
	// MaxAttachments): the samples the sink took, those it refused (its
	// WriteSample failed), and those Discard read out or the sink did not
	// want (after its sample.ErrDone).
	handed, refused, discarded [MaxAttachments]uint64
	sinkFailed, sinkDone       bool     // the sink returned an error; one that wraps sample.ErrDone
	lost                       []uint64 // per CPU
	malformed                  uint64
}

// NewReader opens the buffers of the collection's transport.
func NewReader(c *Collection, opts ReaderOptions) (*Reader, error) {
	opts.Transport = c.Transport() // which may have fallen back to the perf buffer
	opts.setDefaults()
	if c.Transport() == RingBuffer {
		r, err := newRing(c.Ring())
		if err != nil {
			return nil, fmt.Errorf("create ring buffer reader: %w", permission(err))
		}
		return newReader(r, opts.FlushInterval), nil
	}
	p, err := newPerf(c.Events(), opts)
	if err != nil {
		return nil, fmt.Errorf("create perf reader: %w", permission(err))
	}
	return newReader(p, opts.FlushInterval), nil
}

// newReader reads from t, flushing at least every interval.
func newReader(t transport, interval time.Duration) *Reader {
	return &Reader{t: t, clock: NewClock(), interval: interval}
}

// Close releases the buffers.
func (r *Reader) Close() error { return r.t.close() }

// Written is the number of samples handed to a sink.
func (r *Reader) Written() uint64 { return r.written }

// Handed is the number of an attachment's samples handed to a sink (that
// its WriteSample took without an error).
func (r *Reader) Handed(attachment uint32) uint64 {
	if attachment >= MaxAttachments {
		return 0
	}
	return r.handed[attachment]
}

// Refused is the number of an attachment's samples given to a sink whose
// WriteSample failed.
func (r *Reader) Refused(attachment uint32) uint64 {
	if attachment >= MaxAttachments {
		return 0
	}
	return r.refused[attachment]
}

// Discarded is the number of an attachment's samples that Discard read out
// of the buffers, and that a sink did not want (WriteSample's error wrapped
// sample.ErrDone).
func (r *Reader) Discarded(attachment uint32) uint64 {
	if attachment >= MaxAttachments {
		return 0
	}
	return r.discarded[attachment]
}

// SinkFailed reports whether a sink failed (an error not wrapping
// sample.ErrDone), which ends Run.
func (r *Reader) SinkFailed() bool { return r.sinkFailed }

// SinkDone reports whether a sink wanted no more samples (an error wrapping
// sample.ErrDone), which ends Run.
func (r *Reader) SinkDone() bool { return r.sinkDone }

// Lost is the number of samples the kernel reported lost because a perf
// buffer was full (it matches the sum of the attachments' Dropped
// counters). The ring buffer reports no losses to the reader: its drops
// are only in the attachments' Dropped counters, so Lost stays 0.
func (r *Reader) Lost() uint64 {
	var n uint64
	for _, l := range r.lost {
		n += l
	}
	return n
}

// LostPerCPU is Lost for each CPU's buffer, indexed by CPU.
func (r *Reader) LostPerCPU() []uint64 { return r.lost }

// Malformed is the number of samples skipped because they could not be decoded.
func (r *Reader) Malformed() uint64 { return r.malformed }

// ErrLimit is returned by Run when the sample limit is reached.
var ErrLimit = errors.New("sample limit reached")

// Run hands samples to sink until ctx ends (it returns nil), until limit
// samples have been written in all (ErrLimit; 0 means no limit), or until
// sink or the buffers fail. The buffers wake Run only once they hold
// Watermark bytes, and Run flushes the sink at least every FlushInterval, so
// a packet waits at most about FlushInterval even at one packet a second.
func (r *Reader) Run(ctx context.Context, sink Sink, limit uint64) error {
	for {
		deadline := time.Now().Add(r.interval)
		r.t.setDeadline(deadline)
		err := r.readUntilDeadline(sink, limit, deadline)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Drain hands to sink every sample still in the buffers, without waiting
// for more. Call it after the programs are detached so that nothing the
// hooks saw is left unread.
func (r *Reader) Drain(sink Sink, limit uint64) error {
	r.t.setDeadline(time.Now())
	return r.readUntilDeadline(sink, limit, time.Time{})
}

// Discard reads every sample still in the buffers, without waiting for
// more, and counts it by attachment (Discarded) instead of handing it to a
// sink. Call it after the programs are detached when the capture has
// stopped before the buffers were empty: at its count, or because its sink
// failed; so that every sample the hooks sent is accounted for.
func (r *Reader) Discard() error {
	r.t.setDeadline(time.Now())
	for {
		raw, lost, cpu, err := r.t.next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read samples: %w", err)
		}
		if lost > 0 {
			r.addLost(cpu, lost)
			continue
		}
		if err := Decode(raw, r.clock, &r.sample); err != nil {
			r.malformed++
			continue
		}
		if a := r.sample.Attachment; a < MaxAttachments {
			r.discarded[a]++
		}
	}
}

// addLost counts lost samples of a CPU's buffer.
func (r *Reader) addLost(cpu int, lost uint64) {
	for len(r.lost) <= cpu {
		r.lost = append(r.lost, 0)
	}
	r.lost[cpu] += lost
}

// checkEvery is how many records readUntilDeadline reads between two looks
// at the clock.
const checkEvery = 64

// readUntilDeadline reads records until the transport reports its
// deadline, then flushes the sink. The transports report the deadline only
// when they find no record, so under a steady load above the watermark
// they never do: then readUntilDeadline flushes and returns by itself once
// flushBy has passed (a zero flushBy reads until the buffers are empty).
func (r *Reader) readUntilDeadline(sink Sink, limit uint64, flushBy time.Time) error {
	for n := 1; ; n++ {
		if n%checkEvery == 0 && !flushBy.IsZero() {
			if now := time.Now(); now.After(flushBy) {
				r.clock = NewClock() // the flush tick's resync, as below
				return r.sinkErr(sink.Flush(now))
			}
		}
		raw, lost, cpu, err := r.t.next()
		if err == nil {
			err = testReadError(r.written)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			r.clock = NewClock()
			return r.sinkErr(sink.Flush(time.Now()))
		}
		if err != nil {
			return fmt.Errorf("read samples: %w", err)
		}
		if lost > 0 {
			r.addLost(cpu, lost)
			continue
		}
		if err := Decode(raw, r.clock, &r.sample); err != nil {
			r.malformed++
			continue
		}
		if err := sink.WriteSample(&r.sample); err != nil {
			if a := r.sample.Attachment; a < MaxAttachments && errors.Is(err, sample.ErrDone) {
				r.discarded[a]++
			} else if a < MaxAttachments {
				r.refused[a]++
			}
			return r.sinkErr(err)
		}
		r.written++
		if a := r.sample.Attachment; a < MaxAttachments {
			r.handed[a]++
		}
		if limit > 0 && r.written >= limit {
			if err := sink.Flush(time.Now()); err != nil {
				return r.sinkErr(err)
			}
			return ErrLimit
		}
	}
}

// sinkErr notes that the sink failed or is done, when err is not nil, and
// returns it.
func (r *Reader) sinkErr(err error) error {
	switch {
	case errors.Is(err, sample.ErrDone):
		r.sinkDone = true
	case err != nil:
		r.sinkFailed = true
	}
	return err
}

// possibleCPUs is the number of CPUs the kernel may bring online.
func possibleCPUs() int {
	n, err := ebpf.PossibleCPU()
	if err != nil {
		return runtime.NumCPU()
	}
	return n
}

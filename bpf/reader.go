package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/perf"
	"github.com/lwtdump/lwtdump/writer/sample"
)

// ReaderOptions tune how samples travel from the kernel to user space.
type ReaderOptions struct {
	// PerCPUBuffer is the size of each CPU's perf buffer in bytes
	// (default 4 MiB). Bigger buffers absorb longer bursts.
	PerCPUBuffer int
	// Watermark is how many bytes a CPU's buffer holds before user space is
	// woken (default 64 KiB, capped at a quarter of the buffer). 1 wakes
	// user space for every sample.
	Watermark int
	// FlushInterval bounds how long a sample may wait below the watermark
	// (default 100 ms): the reader wakes at least this often.
	FlushInterval time.Duration
}

// Defaults for ReaderOptions.
const (
	DefaultPerCPUBuffer  = 4 << 20
	DefaultWatermark     = 64 << 10
	DefaultFlushInterval = 100 * time.Millisecond
)

func (o *ReaderOptions) setDefaults() {
	if o.PerCPUBuffer <= 0 {
		o.PerCPUBuffer = DefaultPerCPUBuffer
	}
	if o.Watermark <= 0 {
		o.Watermark = DefaultWatermark
	}
	o.Watermark = min(o.Watermark, o.PerCPUBuffer/4)
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

// Reader reads the samples of every attachment of a Collection.
type Reader struct {
	perf      *perf.Reader
	rec       perf.Record
	sample    sample.Sample
	clock     Clock
	interval  time.Duration
	written   uint64
	lost      []uint64 // per CPU
	malformed uint64
}

// NewReader opens the perf buffers of the collection's event map.
func NewReader(c *Collection, opts ReaderOptions) (*Reader, error) {
	opts.setDefaults()
	pr, err := perf.NewReaderWithOptions(c.Events(), opts.PerCPUBuffer, perf.ReaderOptions{Watermark: opts.Watermark})
	if err != nil {
		return nil, fmt.Errorf("create perf reader: %w", permission(err))
	}
	return &Reader{perf: pr, clock: NewClock(), interval: opts.FlushInterval}, nil
}

// Close releases the perf buffers.
func (r *Reader) Close() error { return r.perf.Close() }

// Written is the number of samples handed to a sink.
func (r *Reader) Written() uint64 { return r.written }

// Lost is the number of samples the kernel reported lost because a perf
// buffer was full (it matches the sum of the attachments' Dropped counters).
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
// sink or the perf buffers fail. The buffers wake Run only once they hold
// Watermark bytes, and Run flushes the sink at least every FlushInterval, so
// a packet waits at most about FlushInterval even at one packet a second.
func (r *Reader) Run(ctx context.Context, sink Sink, limit uint64) error {
	for {
		r.perf.SetDeadline(time.Now().Add(r.interval))
		err := r.readUntilDeadline(sink, limit)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Drain hands to sink every sample still in the perf buffers, without
// waiting for more. Call it after the programs are detached so that nothing
// the hooks saw is left unread.
func (r *Reader) Drain(sink Sink, limit uint64) error {
	r.perf.SetDeadline(time.Now())
	return r.readUntilDeadline(sink, limit)
}

// readUntilDeadline reads records until the perf reader reports its
// deadline, then flushes the sink.
func (r *Reader) readUntilDeadline(sink Sink, limit uint64) error {
	for {
		err := r.perf.ReadInto(&r.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			r.clock = NewClock()
			return sink.Flush(time.Now())
		}
		if err != nil {
			return fmt.Errorf("read perf buffer: %w", err)
		}
		if r.rec.LostSamples > 0 {
			for len(r.lost) <= r.rec.CPU {
				r.lost = append(r.lost, 0)
			}
			r.lost[r.rec.CPU] += r.rec.LostSamples
			continue
		}
		if err := Decode(r.rec.RawSample, r.clock, &r.sample); err != nil {
			r.malformed++
			continue
		}
		if err := sink.WriteSample(&r.sample); err != nil {
			return err
		}
		r.written++
		if limit > 0 && r.written >= limit {
			if err := sink.Flush(time.Now()); err != nil {
				return err
			}
			return ErrLimit
		}
	}
}

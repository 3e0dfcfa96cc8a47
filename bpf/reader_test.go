package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// fakeRecord is a record that a fakeTransport hands out once the clock
// reaches at, counted from the start of the test.
type fakeRecord struct {
	at   time.Duration
	raw  []byte
	lost uint64
	cpu  int
	err  error // the read fails with err instead
}

// fakeTransport hands out the records of a script, each at its time, as
// the ring buffer and the perf buffers do: it waits for the next record
// until the deadline, and reports the deadline only when no record is
// there. It runs in a synctest bubble, where its waits take no real time.
type fakeTransport struct {
	start    time.Time
	records  []fakeRecord
	deadline time.Time
	closed   bool
}

func (f *fakeTransport) next() (raw []byte, lost uint64, cpu int, err error) {
	if len(f.records) == 0 || f.start.Add(f.records[0].at).After(f.deadline) {
		time.Sleep(time.Until(f.deadline))
		return nil, 0, 0, os.ErrDeadlineExceeded
	}
	r := f.records[0]
	f.records = f.records[1:]
	time.Sleep(time.Until(f.start.Add(r.at)))
	return r.raw, r.lost, r.cpu, r.err
}

func (f *fakeTransport) setDeadline(t time.Time) { f.deadline = t }

func (f *fakeTransport) close() error {
	f.closed = true
	return nil
}

// flushAt is a Flush seen by a fakeSink: when, and how many samples it
// had taken by then.
type flushAt struct {
	at      time.Duration
	written int
}

// fakeSink records what a Reader hands it. Each sample takes it cost;
// the failWrite-th sample and the failFlush-th flush (counted from 1) fail.
type fakeSink struct {
	start     time.Time
	cost      time.Duration
	failWrite int
	failFlush int
	doneWrite int      // this sample's WriteSample returns an error wrapping sample.ErrDone
	written   []uint32 // the samples' attachments, in order
	flushes   []flushAt
}

var errWrite, errFlush, errRead = errors.New("write failed"), errors.New("flush failed"), errors.New("read failed")

var errDone = fmt.Errorf("last file complete: %w", sample.ErrDone)

func (s *fakeSink) WriteSample(smp *sample.Sample) error {
	time.Sleep(s.cost)
	if len(s.written)+1 == s.failWrite {
		return errWrite
	}
	if len(s.written)+1 == s.doneWrite {
		return errDone
	}
	s.written = append(s.written, smp.Attachment)
	return nil
}

func (s *fakeSink) Flush(now time.Time) error {
	s.flushes = append(s.flushes, flushAt{now.Sub(s.start), len(s.written)})
	if len(s.flushes) == s.failFlush {
		return errFlush
	}
	return nil
}

// fakeSample is a well-formed sample of attachment id.
func fakeSample(id uint32) []byte {
	data := []byte{0x60, 0, 0, 0}
	return rawSample(captureSampleHdr{Attachment: id, CapLen: 4, OrigLen: 4, Hook: uint8(sample.HookXmit)}, data, 0)
}

// samples are count samples arriving at at, of attachments first, first+1, ...
func samples(at time.Duration, first uint32, count int) []fakeRecord {
	var rs []fakeRecord
	for i := range count {
		rs = append(rs, fakeRecord{at: at, raw: fakeSample(first + uint32(i))})
	}
	return rs
}

// The read loop on a scripted transport, with time driven by the script:
// when it flushes (at the deadline, under a steady load, at the limit),
// what it counts (losses per CPU, malformed samples) and how it ends.
func TestReaderLoop(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name      string
		records   []fakeRecord
		cost      time.Duration // of each sample in the sink
		failWrite int
		failFlush int
		doneWrite int
		run       time.Duration // Run until the context ends after run; 0: no Run
		limit     uint64
		drain     bool          // then Drain,
		pause     time.Duration // this long after Run
		discard   bool          // then Discard

		wantRun, wantDrain error
		wantWritten        []uint32
		wantFlushes        []flushAt
		wantLost           []uint64
		wantMalformed      uint64
		// The attachments of the samples refused (a WriteSample failed)
		// and discarded (by Discard, or not wanted by the sink); and
		// whether the sink failed, or was done.
		wantRefused, wantDiscarded []uint32
		wantSinkFailed             bool
		wantSinkDone               bool
	}{{
		name:        "idle: a flush at every deadline",
		run:         250 * ms,
		wantFlushes: []flushAt{{100 * ms, 0}, {200 * ms, 0}, {300 * ms, 0}},
	}, {
		name:        "a trickle below the watermark waits for the deadline",
		records:     append(samples(10*ms, 0, 1), samples(150*ms, 1, 1)...),
		run:         250 * ms,
		wantWritten: []uint32{0, 1},
		wantFlushes: []flushAt{{100 * ms, 1}, {200 * ms, 2}, {300 * ms, 2}},
	}, {
		// The transport always has a record, so it never reports the
		// deadline: the loop looks at the clock every checkEvery (64)
		// records and flushes once FlushInterval is past.
		name:        "a steady load flushes past the interval, Drain takes the rest",
		records:     samples(0, 0, 300),
		cost:        ms,
		run:         250 * ms,
		drain:       true,
		wantWritten: seq(300),
		wantFlushes: []flushAt{{127 * ms, 127}, {254 * ms, 254}, {300 * ms, 300}},
	}, {
		name:        "the limit ends Run with a flush",
		records:     samples(0, 0, 10),
		run:         time.Second,
		limit:       4,
		wantRun:     ErrLimit,
		wantWritten: seq(4),
		wantFlushes: []flushAt{{0, 4}},
	}, {
		name:        "the limit counts across Run and Drain, and ends Drain with a flush",
		records:     append(samples(0, 0, 3), samples(320*ms, 3, 4)...),
		run:         250 * ms,
		limit:       5,
		drain:       true,
		pause:       50 * ms,
		wantDrain:   ErrLimit,
		wantWritten: seq(5),
		wantFlushes: []flushAt{{100 * ms, 3}, {200 * ms, 3}, {300 * ms, 3}, {350 * ms, 5}},
	}, {
		name: "losses are counted per CPU",
		records: []fakeRecord{
			{lost: 3, cpu: 2}, {raw: fakeSample(0)}, {lost: 1, cpu: 0}, {lost: 2, cpu: 2},
		},
		drain:       true,
		wantWritten: seq(1),
		wantFlushes: []flushAt{{0, 1}},
		wantLost:    []uint64{1, 0, 5},
	}, {
		name: "malformed samples are counted and skipped",
		records: []fakeRecord{
			{raw: []byte{1, 2, 3, 4, 5}},
			{raw: fakeSample(0)},
			{raw: fakeSample(1)[:HeaderSize+2]}, // cap_len 4, 2 bytes of data
			{raw: fakeSample(1)},
		},
		drain:         true,
		wantWritten:   seq(2),
		wantFlushes:   []flushAt{{0, 2}},
		wantMalformed: 2,
	}, {
		name:           "a sink error ends Run",
		records:        samples(0, 0, 3),
		failWrite:      2,
		run:            time.Second,
		wantRun:        errWrite,
		wantWritten:    seq(1),
		wantRefused:    []uint32{1},
		wantSinkFailed: true,
	}, {
		name:          "the limit, then Discard reads out the rest, counted by attachment",
		records:       samples(0, 0, 10),
		run:           time.Second,
		limit:         4,
		discard:       true,
		wantRun:       ErrLimit,
		wantWritten:   seq(4),
		wantFlushes:   []flushAt{{0, 4}},
		wantDiscarded: []uint32{4, 5, 6, 7, 8, 9},
	}, {
		name:           "a sink error: the sample it refused is counted, Discard reads out the rest",
		records:        samples(0, 0, 5),
		failWrite:      2,
		run:            time.Second,
		discard:        true,
		wantRun:        errWrite,
		wantWritten:    seq(1),
		wantRefused:    []uint32{1},
		wantDiscarded:  []uint32{2, 3, 4},
		wantSinkFailed: true,
	}, {
		name:          "a sink that wants no more: its sample and the rest are discarded",
		records:       samples(0, 0, 5),
		doneWrite:     3,
		run:           time.Second,
		discard:       true,
		wantRun:       sample.ErrDone,
		wantWritten:   seq(2),
		wantDiscarded: []uint32{2, 3, 4},
		wantSinkDone:  true,
	}, {
		name:           "a flush error ends Run",
		failFlush:      1,
		run:            time.Second,
		wantRun:        errFlush,
		wantFlushes:    []flushAt{{100 * ms, 0}},
		wantSinkFailed: true,
	}, {
		name:        "a read error ends Run",
		records:     append(samples(0, 0, 1), fakeRecord{at: 10 * ms, err: errRead}),
		run:         time.Second,
		wantRun:     errRead,
		wantWritten: seq(1),
	}, {
		name:        "Drain takes what is there without waiting for more",
		records:     append(samples(0, 0, 2), samples(50*ms, 2, 1)...),
		drain:       true,
		wantWritten: seq(2),
		wantFlushes: []flushAt{{0, 2}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				tr := &fakeTransport{start: start, records: tc.records}
				sink := &fakeSink{start: start, cost: tc.cost, failWrite: tc.failWrite, failFlush: tc.failFlush, doneWrite: tc.doneWrite}
				r := newReader(tr, DefaultFlushInterval)
				if tc.run > 0 {
					ctx, cancel := context.WithTimeout(t.Context(), tc.run)
					defer cancel()
					if err := r.Run(ctx, sink, tc.limit); !errors.Is(err, tc.wantRun) || (err == nil) != (tc.wantRun == nil) {
						t.Errorf("Run: %v, want %v", err, tc.wantRun)
					}
				}
				if tc.drain {
					time.Sleep(tc.pause)
					if err := r.Drain(sink, tc.limit); !errors.Is(err, tc.wantDrain) || (err == nil) != (tc.wantDrain == nil) {
						t.Errorf("Drain: %v, want %v", err, tc.wantDrain)
					}
				}
				if tc.discard {
					if err := r.Discard(); err != nil {
						t.Errorf("Discard: %v", err)
					}
				}
				if !reflect.DeepEqual(sink.written, tc.wantWritten) || r.Written() != uint64(len(tc.wantWritten)) {
					t.Errorf("written %v (Written %d), want %v", sink.written, r.Written(), tc.wantWritten)
				}
				for a := range uint32(MaxAttachments + 1) {
					count := func(as []uint32) uint64 {
						return uint64(len(slices.DeleteFunc(slices.Clone(as), func(x uint32) bool { return x != a })))
					}
					if a < MaxAttachments && (r.Handed(a) != count(tc.wantWritten) || r.Refused(a) != count(tc.wantRefused) || r.Discarded(a) != count(tc.wantDiscarded)) {
						t.Errorf("attachment %d: handed %d, refused %d, discarded %d; want %d, %d, %d", a, r.Handed(a), r.Refused(a), r.Discarded(a),
							count(tc.wantWritten), count(tc.wantRefused), count(tc.wantDiscarded))
					}
				}
				if r.SinkFailed() != tc.wantSinkFailed || r.SinkDone() != tc.wantSinkDone {
					t.Errorf("sink failed %v, done %v; want %v, %v", r.SinkFailed(), r.SinkDone(), tc.wantSinkFailed, tc.wantSinkDone)
				}
				if !reflect.DeepEqual(sink.flushes, tc.wantFlushes) {
					t.Errorf("flushes %v, want %v", sink.flushes, tc.wantFlushes)
				}
				var lost uint64
				for _, l := range tc.wantLost {
					lost += l
				}
				if !reflect.DeepEqual(r.LostPerCPU(), tc.wantLost) || r.Lost() != lost {
					t.Errorf("lost per CPU %v (Lost %d), want %v", r.LostPerCPU(), r.Lost(), tc.wantLost)
				}
				if r.Malformed() != tc.wantMalformed {
					t.Errorf("malformed %d, want %d", r.Malformed(), tc.wantMalformed)
				}
				if err := r.Close(); err != nil || !tr.closed {
					t.Errorf("Close: %v, transport closed %v", err, tr.closed)
				}
			})
		})
	}
}

// seq is the attachments 0 .. n-1.
func seq(n int) []uint32 {
	var s []uint32
	for i := range n {
		s = append(s, uint32(i))
	}
	return s
}

// repeatTransport hands out one sample left times, then the deadline.
type repeatTransport struct {
	raw  []byte
	left int
}

func (t *repeatTransport) next() (raw []byte, lost uint64, cpu int, err error) {
	if t.left == 0 {
		return nil, 0, 0, os.ErrDeadlineExceeded
	}
	t.left--
	return t.raw, 0, 0, nil
}

func (t *repeatTransport) setDeadline(time.Time) {}
func (t *repeatTransport) close() error          { return nil }

// BenchmarkReadLoop measures the read loop alone: records handed out by a
// transport that costs nothing, decoded and given to a sink that keeps
// nothing. One op is one sample.
func BenchmarkReadLoop(b *testing.B) {
	raw := rawSample(captureSampleHdr{CapLen: 112, OrigLen: 112, Hook: uint8(sample.HookXmit)}, iperfDatagram(7), 0)
	r := newReader(&repeatTransport{raw: raw, left: b.N}, DefaultFlushInterval)
	b.ReportAllocs()
	b.ResetTimer()
	if err := r.Drain(discard{}, 0); err != nil {
		b.Fatal(err)
	}
	if r.Written() != uint64(b.N) {
		b.Fatalf("wrote %d of %d", r.Written(), b.N)
	}
}

// discard is a Sink that keeps nothing.
type discard struct{}

func (discard) WriteSample(*sample.Sample) error { return nil }
func (discard) Flush(time.Time) error            { return nil }

// BenchmarkReader measures the read loop on the real buffers: the capture
// program, run by the kernel's test runner with the timer stopped, fills
// them with 112-byte IPv6 UDP datagrams; the timed part reads and decodes
// them (Drain into a sink that keeps nothing). One op is one packet.
func BenchmarkReader(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("kernel benchmark: needs root to load eBPF programs")
	}
	for _, transport := range []Transport{PerfBuffer, RingBuffer} {
		b.Run(transport.String(), func(b *testing.B) {
			opts := ReaderOptions{Transport: transport, PerCPUBuffer: 16 << 20}
			coll, err := NewCollection(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer coll.Close()
			prog, err := coll.Program(0, sample.Attachment{Hook: sample.HookXmit, Snaplen: MaxSnaplen})
			if err != nil {
				b.Fatal(err)
			}
			r, err := NewReader(coll, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			in := frame(iperfDatagram(7))
			const batch = 20000 // 3.4 MB of samples: fits either buffer
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				b.StopTimer()
				if _, err := prog.Run(&ebpf.RunOptions{Data: in, Repeat: uint32(n)}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := r.Drain(discard{}, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// A test run interrupted by a signal is run again, so the kernel
			// may have taken more packets than asked: its counter says how many.
			c, err := coll.Counters(0)
			if err != nil {
				b.Fatal(err)
			}
			if got := r.Written(); got != c.Seen || c.Dropped != 0 {
				b.Fatalf("read %d packets; the program saw %d and dropped %d", got, c.Seen, c.Dropped)
			}
		})
	}
}

// memRing is a ring laid out in memory as the kernel lays out a BPF ring
// buffer, with room for copies of raw; rewind(n) makes it hold n of them,
// from the start: the ring reader without the kernel.
func memRing(raw []byte, copies int) (r *ring, rewind func(n int)) {
	recLen := (uint64(len(raw)) + ringHeaderSize + 7) &^ 7
	size := uint64(1)
	for size < recLen*uint64(copies) {
		size <<= 1
	}
	data := make([]byte, 2*size)
	for i := range uint64(copies) {
		binary.NativeEndian.PutUint32(data[i*recLen:], uint32(len(raw)))
		copy(data[i*recLen+ringHeaderSize:], raw)
	}
	var consumer, producer uint64
	r = &ring{consumer: &consumer, producer: &producer, data: data, mask: size - 1}
	return r, func(n int) {
		r.pos, r.published, consumer, producer = 0, 0, 0, recLen*uint64(n)
	}
}

// BenchmarkRingLoop measures the read loop on the ring reader, without
// the kernel: samples read in place from a ring in memory, decoded and
// given to a sink that keeps nothing. One op is one sample.
func BenchmarkRingLoop(b *testing.B) {
	raw := rawSample(captureSampleHdr{CapLen: 112, OrigLen: 112, Hook: uint8(sample.HookXmit)}, iperfDatagram(7), 0)
	const batch = 20000
	rg, rewind := memRing(raw, batch)
	r := newReader(rg, DefaultFlushInterval)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		rewind(min(batch, b.N-done))
		if err := r.Drain(discard{}, 0); err != nil {
			b.Fatal(err)
		}
	}
	if r.Written() != uint64(b.N) {
		b.Fatalf("wrote %d of %d", r.Written(), b.N)
	}
}

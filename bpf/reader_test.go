package bpf

import (
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

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

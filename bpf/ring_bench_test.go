package bpf

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
)

// udpPacket is an IPv6 UDP packet of n bytes in all (n >= 48).
func udpPacket(n int) []byte {
	p := iperfDatagram(7)
	if n > len(p) {
		p = append(p, make([]byte, n-len(p))...)
	}
	p = p[:n]
	binary.BigEndian.PutUint16(p[4:], uint16(n-40))
	binary.BigEndian.PutUint16(p[44:], uint16(n-40))
	return p
}

// BenchmarkCaptureRing measures what the capture program costs the
// forwarding CPU per packet with the ring buffer, as the kernel's test runner
// times it (BPF_PROG_TEST_RUN, repeated; the time of the program and its
// helpers, reservation, copy, submission and wake-up included). The ring is
// drained between batches with the timer stopped, and nothing reads it
// during a batch, as when the reader is slow to wake: with a watermark of
// 64 KiB most of each batch lies above it. One op is one packet.
func BenchmarkCaptureRing(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("kernel benchmark: needs root to load eBPF programs")
	}
	for _, size := range []int{112, 129, 1500} {
		for _, perCPU := range []int{1 << 20, DefaultPerCPUBuffer} {
			for _, watermark := range []int{0, 64 << 10} {
				name := fmt.Sprintf("%dB/buffer=%dKiB/watermark=quarter", size, perCPU>>10)
				if watermark > 0 {
					name = fmt.Sprintf("%dB/buffer=%dKiB/watermark=%dKiB", size, perCPU>>10, watermark>>10)
				}
				b.Run(name, func(b *testing.B) { benchmarkCaptureRing(b, size, perCPU, watermark) })
			}
		}
	}
}

func benchmarkCaptureRing(b *testing.B, size, perCPU, watermark int) {
	opts := ReaderOptions{Transport: RingBuffer, PerCPUBuffer: perCPU, Watermark: watermark}
	c, err := NewCollection(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p, err := c.Program(0, sample.Attachment{Hook: sample.HookXmit, Snaplen: MaxSnaplen})
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewReader(c, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	in := frame(udpPacket(size))
	batch := opts.RingSize() / 2 / (size + 64) // less than half the ring
	rg := r.t.(*ring)
	start := *rg.producer
	var kernel time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		_, per, err := p.Benchmark(in, n, nil)
		if err != nil {
			b.Fatal(err)
		}
		kernel += per * time.Duration(n)
		b.StopTimer()
		if err := r.Drain(discard{}, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	counters, err := c.Counters(0)
	if err != nil {
		b.Fatal(err)
	}
	if counters.Dropped != 0 || r.Written() != counters.Seen {
		b.Fatalf("read %d packets; the program saw %d and dropped %d", r.Written(), counters.Seen, counters.Dropped)
	}
	b.ReportMetric(float64(kernel.Nanoseconds())/float64(r.Written()), "kernel-ns/packet")
	b.ReportMetric(float64(*rg.producer-start)/float64(r.Written()), "ring-bytes/packet")
}

package main

import (
	"io"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer"
)

// BenchmarkPipeline measures the user-space path of every captured packet:
// the capture program, run by the kernel's test runner with the timer
// stopped, fills the real buffers with 112-byte IPv6 UDP packets; the timed
// part reads them back, decodes them and encodes them as pcapng (into
// io.Discard). One op is one packet.
func BenchmarkPipeline(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("kernel benchmark: needs root to load eBPF programs")
	}
	for _, transport := range []bpf.Transport{bpf.PerfBuffer, bpf.RingBuffer} {
		b.Run(transport.String(), func(b *testing.B) {
			opts := bpf.ReaderOptions{Transport: transport, PerCPUBuffer: 16 << 20}
			coll, err := bpf.NewCollection(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer coll.Close()
			att := sample.Attachment{Hook: sample.HookXmit, Cookie: 0xbeef, Route: "2001:db8:20::/48", Dev: "r1_h2", Snaplen: bpf.MaxSnaplen}
			prog, err := coll.Program(0, att)
			if err != nil {
				b.Fatal(err)
			}
			r, err := bpf.NewReader(coll, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			w, err := writer.New(writer.Stream(io.Discard), writer.Options{Attachments: []sample.Attachment{att}})
			if err != nil {
				b.Fatal(err)
			}
			in := ethernetFrame(udp6Packet(64))
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
				if err := r.Drain(w, 0); err != nil {
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
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(r.Written()), "ns/packet")
		})
	}
}

// udp6Packet is an IPv6 UDP packet with a payload of n bytes, from h1 to h2.
func udp6Packet(n int) []byte {
	p := make([]byte, 48+n)
	p[0] = 0x60
	p[4], p[5] = byte((8+n)>>8), byte(8+n)
	p[6], p[7] = 17, 64
	copy(p[8:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	copy(p[24:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	p[40], p[41], p[42], p[43] = 0x13, 0x88, 0x13, 0x89
	p[44], p[45] = byte((8+n)>>8), byte(8+n)
	return p
}

// ethernetFrame puts the Ethernet header that the kernel's test runner
// expects (and removes for LWT programs) in front of an IPv6 packet.
func ethernetFrame(pkt []byte) []byte {
	return append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd}, pkt...)
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/rotate"
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

// BenchmarkFileOutput measures what BenchmarkPipeline leaves out: the pcapng
// blocks of 112-byte IPv6 UDP packets written into a file, as -w FILE does,
// with the manifest's SHA-256 of every byte (manifest) and without
// (no-manifest), for several sizes of the writer's buffer (the size of each
// write). One op is one packet; the file is closed (and synced) with the
// timer stopped.
func BenchmarkFileOutput(b *testing.B) {
	att := sample.Attachment{Hook: sample.HookXmit, Cookie: 0xbeef, Route: "2001:db8:20::/48", Dev: "r1_h2", Snaplen: bpf.MaxSnaplen}
	for _, manifest := range []bool{true, false} {
		for _, size := range []int{64 << 10, 256 << 10, writer.DefaultBufferSize} {
			name := fmt.Sprintf("%s/buffer=%dKiB", map[bool]string{true: "manifest", false: "no-manifest"}[manifest], size>>10)
			b.Run(name, func(b *testing.B) {
				opts := rotate.Options{Path: filepath.Join(b.TempDir(), "out.pcapng")}
				if manifest {
					opts.Finished = func(rotate.File) {}
				}
				r, err := rotate.New(opts)
				if err != nil {
					b.Fatal(err)
				}
				w, err := writer.New(rotation{Rotator: r}, writer.Options{Attachments: []sample.Attachment{att}, BufferSize: size})
				if err != nil {
					b.Fatal(err)
				}
				s := sample.Sample{Hook: sample.HookXmit, Cookie: 0xbeef, Ifindex: 3, CPU: 1, Protocol: 0x86dd,
					Time: time.Now().UnixNano(), OrigLen: 112, Data: udp6Packet(64)}
				b.ReportAllocs()
				for b.Loop() {
					s.Time++
					if err := w.WriteSample(&s); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Flush(time.Now()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if fi, err := os.Stat(r.Name()); err == nil {
					b.ReportMetric(float64(fi.Size())/float64(b.N), "bytes/packet")
				}
				if err := errors.Join(w.Close(), r.Close()); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

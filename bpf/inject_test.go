package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/filter/filtertest"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

func requireKernel(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kernel test: needs root to load eBPF programs (run `sudo make test`)")
	}
}

// frame puts an Ethernet header in front of a raw IP packet:
// BPF_PROG_TEST_RUN takes one and removes it for LWT programs, whose skb
// starts at the network header.
func frame(pkt []byte) []byte {
	eth := make([]byte, 14, 14+len(pkt))
	copy(eth, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1})
	eth[12], eth[13] = 0x08, 0x00
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		eth[12], eth[13] = 0x86, 0xdd
	}
	return append(eth, pkt...)
}

// kernelSelect runs the capture program on each packet and reports which
// ones it did not count as filtered.
func kernelSelect(t *testing.T, c *Collection, prog *ebpf.Program, id uint32, recs []filtertest.Packet) []bool {
	t.Helper()
	sel := make([]bool, len(recs))
	for i, r := range recs {
		before, err := c.Counters(id)
		if err != nil {
			t.Fatal(err)
		}
		ret, err := prog.Run(&ebpf.RunOptions{Data: frame(r.Data)})
		if err != nil {
			t.Fatalf("packet %d: test run: %v", i, err)
		}
		if ret != 0 { // BPF_OK: forwarding is never changed
			t.Fatalf("packet %d: program returned %d", i, ret)
		}
		after, err := c.Counters(id)
		if err != nil {
			t.Fatal(err)
		}
		if after.Seen != before.Seen+1 {
			t.Fatalf("packet %d: seen went from %d to %d", i, before.Seen, after.Seen)
		}
		sel[i] = after.Filtered == before.Filtered
	}
	return sel
}

// The oracle in the kernel: for every expression of the table, the capture
// program with the translated filter copies exactly the packets tcpdump
// selects and counts the others as filtered.
func TestFilterInKernel(t *testing.T) {
	requireKernel(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed: it is the reference (apt-get install tcpdump)")
	}
	recs := filtertest.Packets(t)
	c, err := NewCollection(ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var whole []filtertest.Packet // the kernel sees whole packets only
	var index []int
	for i, r := range recs {
		if r.Whole() {
			whole = append(whole, r)
			index = append(index, i)
		}
	}
	id := uint32(0)
	for _, expr := range filtertest.Expressions(t) {
		t.Run(expr, func(t *testing.T) {
			prog, err := filter.Compile(expr)
			if err != nil {
				t.Fatal(err)
			}
			want := filtertest.TcpdumpSelect(t, filtertest.Pcap, expr, len(recs))
			// Direct packet reads, and bpf_skb_load_bytes only.
			for _, helper := range []bool{false, true} {
				if c.filter, err = filter.ToEBPF(prog, filter.EBPFOptions{HelperLoads: helper}); err != nil {
					t.Fatal(err)
				}
				p, err := c.Program(id, sample.Attachment{Hook: sample.HookXmit, Snaplen: MaxSnaplen, Filter: expr})
				if err != nil {
					t.Fatal(err)
				}
				got := kernelSelect(t, c, p, id, whole)
				for j, i := range index {
					if got[j] != want[i] {
						t.Errorf("helper loads %v, packet %d: kernel selects %v, tcpdump %v", helper, i, got[j], want[i])
					}
				}
				id = (id + 1) % MaxAttachments
			}
		})
	}
}

// Without a filter the program copies every packet, and every hook's
// program is accepted by the verifier with and without a filter.
func TestFilterHooks(t *testing.T) {
	requireKernel(t)
	var recs []filtertest.Packet
	for _, r := range filtertest.Packets(t) {
		if r.Whole() {
			recs = append(recs, r)
		}
	}
	c, err := NewCollection(ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := uint32(0)
	for _, expr := range []string{"", "tcp port 443 or icmp6", "len / (ip[9] - 6) > 3 and len >> ip[8] = 0"} {
		prog, err := filter.Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		if expr == "" {
			prog = nil
		}
		if err := c.SetFilter(prog); err != nil {
			t.Fatal(err)
		}
		for _, h := range sample.Hooks {
			p, err := c.Program(id, sample.Attachment{Hook: h, Snaplen: MaxSnaplen, Filter: expr})
			if err != nil {
				t.Fatalf("%q at %s: %v", expr, h, err)
			}
			if h == sample.HookSeg6Local {
				id++
				continue // BPF_PROG_TEST_RUN does not run End.BPF programs
			}
			sel := kernelSelect(t, c, p, id, recs)
			m, err := filter.NewMatcher(expr)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for i, r := range recs {
				if sel[i] {
					n++
				}
				if sel[i] != m.Match(r.Data) {
					t.Errorf("%q at %s, packet %d: kernel selects %v, the matcher %v", expr, h, i, sel[i], !sel[i])
				}
			}
			if expr == "" && n != len(recs) || expr != "" && (n == 0 || n == len(recs)) {
				t.Errorf("%q at %s: %d of %d packets selected", expr, h, n, len(recs))
			}
			id++
		}
	}
}

// iperfDatagram is an IPv6 UDP datagram as iperf3 sends it with -l 64:
// two time fields, then the datagram counter (seq) at ip6[56:4].
func iperfDatagram(seq uint32) []byte {
	p := make([]byte, 40+8+64)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], 8+64)
	p[6], p[7] = 17, 64
	copy(p[8:], netip.MustParseAddr("2001:db8:1::1").AsSlice())
	copy(p[24:], netip.MustParseAddr("2001:db8:20::1").AsSlice())
	binary.BigEndian.PutUint16(p[40:], 40000)
	binary.BigEndian.PutUint16(p[42:], 5201)
	binary.BigEndian.PutUint16(p[44:], 8+64)
	binary.BigEndian.PutUint32(p[56:], seq)
	return p
}

// The capture program's time per packet in the kernel (BPF_PROG_TEST_RUN,
// repeated), for a datagram that the filter rejects, next to no filter at
// all. Without a reader of the event buffer the copy fails at once, so the
// no-filter case measures less than a real copy costs.
func BenchmarkCaptureFilter(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("kernel benchmark: needs root to load eBPF programs")
	}
	in := frame(iperfDatagram(7))
	for _, expr := range []string{"", "ip6[56:4] % 100 = 0", "udp port 53", "tcp port 443 or icmp6", "host 2001:db8::99 and tcp"} {
		name := expr
		if name == "" {
			name = "no filter"
		}
		b.Run(name, func(b *testing.B) {
			c, err := NewCollection(ReaderOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if expr != "" {
				prog, err := filter.Compile(expr)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.SetFilter(prog); err != nil {
					b.Fatal(err)
				}
			}
			p, err := c.Program(0, sample.Attachment{Hook: sample.HookXmit, Snaplen: MaxSnaplen, Filter: expr})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			_, per, err := p.Benchmark(in, b.N, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(per.Nanoseconds()), "kernel-ns/packet")
		})
	}
}

// FilterFunction is the translation of the classic program, whole and in
// its order, under the name of the function the capture program calls, as
// injectFilter splices it in for every hook; it needs no privilege.
func TestFilterFunction(t *testing.T) {
	prog, err := filter.Compile("tcp port 443 or icmp6")
	if err != nil {
		t.Fatal(err)
	}
	body, err := filter.ToEBPF(prog, filter.EBPFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := FilterFunction(prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(fn) != len(body) || fn[0].Symbol() != filterFunc || fn[0].Source() != nil {
		t.Fatalf("%d instructions, first %v (source %v); want %d, the first named %s without the placeholder's source line", len(fn), fn[0], fn[0].Source(), len(body), filterFunc)
	}
	for i := range body {
		if fn[i].OpCode != body[i].OpCode || fn[i].Constant != body[i].Constant || fn[i].Reference() != body[i].Reference() {
			t.Fatalf("instruction %d: %v, the translation has %v", i, fn[i], body[i])
		}
	}
	spec, err := loadCapture()
	if err != nil {
		t.Fatal(err)
	}
	for hook, name := range programNames {
		p := spec.Programs[name].Copy()
		if err := injectFilter(p, body); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(p.Instructions, func(ins asm.Instruction) bool { return ins.Symbol() == filterFunc })
		if i < 0 || fmt.Sprint(p.Instructions[i+1:i+len(body)]) != fmt.Sprint(fn[1:]) {
			t.Errorf("%s: the function spliced in differs from FilterFunction", hook)
		}
	}
}

package writer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

func TestLinkType(t *testing.T) {
	att := func(h sample.Hook, route string) sample.Attachment { return sample.Attachment{Hook: h, Route: route} }
	six, six2 := att(sample.HookXmit, "2001:db8:20::/48"), att(sample.HookIn, "::/0")
	four, four2 := att(sample.HookOut, "203.0.113.0/24"), att(sample.HookXmit, "0.0.0.0/0")
	mapped := att(sample.HookXmit, "::ffff:192.0.2.0/120") // an IPv6 route, whatever its address looks like
	srv6, srv6NoRoute := att(sample.HookSeg6Local, "2001:db8:f1::1/128"), att(sample.HookSeg6Local, "")
	unknown := att(sample.HookXmit, "default")
	for _, tc := range []struct {
		atts  []sample.Attachment
		want  layers.LinkType
		reads bool // by libpcap, one interface per attachment
	}{
		{[]sample.Attachment{six}, layers.LinkTypeIPv6, true},
		{[]sample.Attachment{six, six2, mapped, srv6, srv6NoRoute}, layers.LinkTypeIPv6, true},
		{[]sample.Attachment{four}, layers.LinkTypeIPv4, true},
		{[]sample.Attachment{four, four2}, layers.LinkTypeIPv4, true},
		{[]sample.Attachment{six, four}, layers.LinkTypeRaw, false},
		{[]sample.Attachment{four, srv6}, layers.LinkTypeRaw, false},
		{[]sample.Attachment{unknown}, layers.LinkTypeRaw, true},
		{[]sample.Attachment{six, unknown}, layers.LinkTypeRaw, false},
		{nil, layers.LinkTypeRaw, true},
	} {
		if got := LinkType(tc.atts); got != tc.want {
			t.Errorf("LinkType(%v) = %v, want %v", tc.atts, got, tc.want)
		}
		o := Options{Attachments: tc.atts}
		if got := o.LibpcapReads(); got != tc.reads {
			t.Errorf("LibpcapReads(%v) = %v", tc.atts, got)
		}
		if o.OneInterface = true; !o.LibpcapReads() {
			t.Errorf("LibpcapReads(%v) with OneInterface = false", tc.atts)
		}
	}
}

// readAll reads a pcapng stream back with pcapgo: its interfaces, and the
// interface, data and comment of each packet.
type readPacket struct {
	iface   int
	data    []byte
	comment string
}

func readAll(t *testing.T, b []byte) ([]pcapgo.NgInterface, []readPacket, map[int]pcapgo.NgInterfaceStatistics) {
	t.Helper()
	stats := map[int]pcapgo.NgInterfaceStatistics{}
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{
		WantMixedLinkType:  true,
		StatisticsCallback: func(id int, s pcapgo.NgInterfaceStatistics) { stats[id] = s },
	})
	if err != nil {
		t.Fatal(err)
	}
	var pkts []readPacket
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := readPacket{iface: ci.InterfaceIndex, data: bytes.Clone(data)}
		if len(opts.Comments) > 0 {
			p.comment = opts.Comments[0]
		}
		pkts = append(pkts, p)
	}
	var ifaces []pcapgo.NgInterface
	for i := range r.NInterfaces() {
		ifc, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		ifaces = append(ifaces, ifc)
	}
	return ifaces, pkts, stats
}

// A packet whose IP version is not its route's is written on a RAW
// interface of its attachment, added when it comes and kept in every later
// file, so that no reader takes it for what it is not; the other packets
// stay on the attachment's own interface.
func TestOtherVersion(t *testing.T) {
	out := &rollingOutput{every: 3}
	atts := []sample.Attachment{testAttachments[0], testAttachments[0]}
	atts[1].Hook = sample.HookIn
	w, err := New(out, Options{Section: testSection, Attachments: atts, Counters: testCounters, Start: time.Unix(1, 0), Now: fixedNow(2)})
	if err != nil {
		t.Fatal(err)
	}
	out.w = w
	six := sample.Sample{Attachment: 0, Hook: sample.HookXmit, Cookie: 0xbeef, Time: 10, OrigLen: 40, Data: ipPacket(6, 40, 1)}
	four := six
	four.Data, four.Time = ipPacket(4, 20, 2), 11
	garbage := six
	garbage.Data, garbage.Time = testPacket(8, 0x10), 12 // version 1
	for _, s := range []sample.Sample{six, four, six, garbage, four} {
		if err := w.WriteSample(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Delivered(0); got != 5 {
		t.Errorf("delivered %d packets of attachment 0, want 5", got)
	}
	if len(out.files) != 2 {
		t.Fatalf("%d files, want 2", len(out.files))
	}
	wantIfaces := [][]layers.LinkType{
		{layers.LinkTypeIPv6, layers.LinkTypeIPv6, layers.LinkTypeRaw},
		{layers.LinkTypeIPv6, layers.LinkTypeIPv6, layers.LinkTypeRaw}, // the RAW one again, before any packet
	}
	wantPackets := [][]int{{0, 2, 0}, {2, 2}}
	for f := range out.files {
		ifaces, pkts, stats := readAll(t, out.files[f].Bytes())
		var lts []layers.LinkType
		for _, ifc := range ifaces {
			lts = append(lts, ifc.LinkType)
		}
		if !slices.Equal(lts, wantIfaces[f]) {
			t.Errorf("file %d: interfaces of link types %v, want %v", f, lts, wantIfaces[f])
		}
		if other := ifaces[2]; other.Name != testAttachments[0].Name() || other.Description != Description(testAttachments[0]) ||
			other.Comment != "the packets of lwt_xmit:2001:db8:20::/48@r1_h2 that are not IPv6" {
			t.Errorf("file %d: the RAW interface: %+v", f, other)
		}
		var got []int
		for _, p := range pkts {
			got = append(got, p.iface)
			if !strings.HasPrefix(p.comment, "hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 ") {
				t.Errorf("file %d: comment %q", f, p.comment)
			}
		}
		if !slices.Equal(got, wantPackets[f]) {
			t.Errorf("file %d: packets on interfaces %v, want %v", f, got, wantPackets[f])
		}
		// The kernel's counters are the attachment's own interface's; the
		// RAW one says only how many packets it holds, over the capture.
		if st := stats[0]; st.PacketsReceived != 4 || st.PacketsDropped != 2 {
			t.Errorf("file %d: statistics of interface 0: %+v", f, st)
		}
		if st := stats[2]; st.PacketsReceived != NoValue || st.PacketsDropped != NoValue {
			t.Errorf("file %d: statistics of the RAW interface: %+v", f, st)
		}
	}
}

// With OneInterface every packet is on one RAW interface, whose statistics
// sum the attachments' counters and give each attachment's in a comment.
func TestOneInterface(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(Stream(&buf), Options{Section: testSection, Attachments: testAttachments, Counters: testCounters,
		Start: time.Unix(1, 0), Now: fixedNow(2), OneInterface: true})
	if err != nil {
		t.Fatal(err)
	}
	samples := testSamples()
	for i := range samples {
		if err := w.WriteSample(&samples[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ifaces, pkts, _ := readAll(t, buf.Bytes())
	want := pcapgo.NgInterface{Name: "lwtdump", Description: "2 attachments, each packet's in its comment",
		Comment: "lwt_xmit:2001:db8:20::/48@r1_h2 cookie=0xbeef netns=r1 table=254\nlwt_in:192.0.2.128/25@r1_h2 cookie=0x1 netns=- table=100",
		Filter:  "", LinkType: layers.LinkTypeRaw, SnapLength: 262144}
	if len(ifaces) != 1 || ifaces[0].Name != want.Name || ifaces[0].Description != want.Description || ifaces[0].Comment != want.Comment ||
		ifaces[0].LinkType != want.LinkType || ifaces[0].SnapLength != want.SnapLength {
		t.Fatalf("interfaces %+v, want one: %+v", ifaces, want)
	}
	for i, p := range pkts {
		s := &samples[i]
		if wc := string(AppendComment(nil, s, &testAttachments[s.Attachment])); p.iface != 0 || p.comment != wc || !bytes.Equal(p.data, s.Data) {
			t.Errorf("packet %d: interface %d, comment %q, want 0, %q", i, p.iface, p.comment, wc)
		}
	}
	// isb_ifrecv 4+9, isb_ifdrop 2+0, isb_filteraccept 9-8 (the only
	// filter), isb_usrdeliv 3, and a comment for each attachment.
	isb := buf.Bytes()[bytes.LastIndex(buf.Bytes(), []byte{5, 0, 0, 0}):]
	for _, c := range []string{
		"lwt_xmit:2001:db8:20::/48@r1_h2 cookie=0xbeef received=4 dropped=2 delivered=2",
		"lwt_in:192.0.2.128/25@r1_h2 cookie=0x1 received=9 dropped=0 accepted=1 delivered=1",
	} {
		if !bytes.Contains(isb, []byte(c)) {
			t.Errorf("statistics block without the comment %q", c)
		}
	}
	if out := tsharkISB(t, buf.Bytes()); out != "13|2|1|3" {
		t.Errorf("tshark reads the statistics as %q, want 13|2|1|3", out)
	}
}

// tsharkISB returns what tshark reads of a capture's statistics blocks:
// received|dropped|accepted|delivered.
func tsharkISB(t *testing.T, capture []byte) string {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	file := filepath.Join(t.TempDir(), "c.pcapng")
	if err := os.WriteFile(file, capture, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", file, "-X", "read_format:MIME Files Format", "-T", "fields", "-E", "separator=|",
		"-e", "pcapng.options.option.data.interface.received", "-e", "pcapng.options.option.data.interface.dropped",
		"-e", "pcapng.options.option.data.interface.accepted_by_filter", "-e", "pcapng.options.option.data.interface.delivered_to_user").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// tcpdump (libpcap) reads a capture whose interfaces all have one link
// type, whatever their number: the attachments of one family's routes, or
// the one interface of OneInterface. It refuses one of IPv4 and IPv6 routes
// written one interface per attachment.
func TestTcpdumpReads(t *testing.T) {
	for _, tool := range []string{"tcpdump", "capinfos", "editcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it)", tool)
		}
	}
	six := func(h sample.Hook, route string) sample.Attachment {
		return sample.Attachment{Hook: h, Cookie: 2, Route: route, Dev: "r1_h2", Table: 254, Snaplen: 262144}
	}
	packet := func(a sample.Attachment) []byte {
		if strings.Contains(a.Route, ".") {
			return ipPacket(4, 20, 0)
		}
		return ipPacket(6, 40, 0)
	}
	for _, tc := range []struct {
		name  string
		atts  []sample.Attachment
		one   bool
		reads bool
	}{
		{"two IPv6 routes", []sample.Attachment{six(sample.HookXmit, "2001:db8:20::/48"), six(sample.HookXmit, "2001:db8:30::/48")}, false, true},
		{"three IPv6 attachments", []sample.Attachment{six(sample.HookIn, "2001:db8:20::/48"), six(sample.HookXmit, "2001:db8:20::/48"), six(sample.HookSeg6Local, "2001:db8:f1::1/128")}, false, true},
		{"in and xmit of an IPv4 route", []sample.Attachment{six(sample.HookIn, "203.0.113.0/24"), six(sample.HookXmit, "203.0.113.0/24")}, false, true},
		{"IPv4 and IPv6", []sample.Attachment{six(sample.HookXmit, "2001:db8:20::/48"), six(sample.HookXmit, "203.0.113.0/24")}, false, false},
		{"IPv4 and IPv6, one interface", []sample.Attachment{six(sample.HookXmit, "2001:db8:20::/48"), six(sample.HookXmit, "203.0.113.0/24"), six(sample.HookIn, "203.0.113.0/24")}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := New(Stream(&buf), Options{Section: testSection, Attachments: tc.atts, OneInterface: tc.one,
				Counters: func(uint32) (sample.Counters, error) { return sample.Counters{Seen: 2}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 {
				for i, a := range tc.atts {
					s := sample.Sample{Attachment: uint32(i), Hook: a.Hook, Cookie: a.Cookie, Time: int64(1e9 * (round*10 + i)), Data: packet(a)}
					s.OrigLen = uint32(len(s.Data))
					if err := w.WriteSample(&s); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "c.pcapng")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("tcpdump", "-n", "-r", file).CombinedOutput()
			lines := strings.Count(string(out), "\n00:00:")
			if tc.reads && (err != nil || lines != 2*len(tc.atts)) {
				t.Errorf("tcpdump: %v, %d packets, want %d:\n%s", err, lines, 2*len(tc.atts), out)
			}
			if !tc.reads && (err == nil || !strings.Contains(string(out), "an interface has a type 101 different from the type of the first interface")) {
				t.Errorf("tcpdump read a capture of IPv4 and IPv6 interfaces (libpcap changed? then README says too much): %v\n%s", err, out)
			}
			if !tc.reads {
				// README's way for such a file: editcap -F pcap.
				pcap := filepath.Join(t.TempDir(), "c.pcap")
				if out, err := exec.Command("editcap", "-F", "pcap", file, pcap).CombinedOutput(); err != nil {
					t.Fatalf("editcap: %v\n%s", err, out)
				}
				out, err := exec.Command("tcpdump", "-n", "-r", pcap).CombinedOutput()
				if lines := strings.Count(string(out), "\n00:00:"); err != nil || lines != 2*len(tc.atts) {
					t.Errorf("tcpdump after editcap -F pcap: %v, %d packets, want %d:\n%s", err, lines, 2*len(tc.atts), out)
				}
			}
			// capinfos (Wireshark's library) reads every capture whole.
			out, err = exec.Command("capinfos", "-c", "-M", file).CombinedOutput()
			if want := fmt.Sprintf("Number of packets:   %d\n", 2*len(tc.atts)); err != nil || !strings.Contains(string(out), want) {
				t.Errorf("capinfos: %v, want %q in\n%s", err, want, out)
			}
		})
	}
}

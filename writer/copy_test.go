package writer

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

// Writing a sample allocates nothing: it is the hot path of a live capture.
func TestWriteSampleAllocs(t *testing.T) {
	w, err := New(Stream(io.Discard), Options{Attachments: []sample.Attachment{{Hook: sample.HookXmit, Route: "2001:db8:20::/48", Dev: "r1_h2"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := sample.Sample{Hook: sample.HookXmit, Cookie: 0xbeef, Time: 1, OrigLen: 104, Data: make([]byte, 104)}
	if n := testing.AllocsPerRun(1000, func() { _ = w.WriteSample(&s) }); n != 0 {
		t.Errorf("WriteSample allocates %.1f times per sample", n)
	}
}

// A copy is read back by pcapgo as it was given: section, interfaces with
// their names and link types, packets with any number of comments and with
// or without flags, and statistics.
func TestCopierReadBack(t *testing.T) {
	var out bytes.Buffer
	c, err := NewCopier(&out, Section{Application: "lwtdump test", OS: "Linux", Hardware: "x86_64", Comment: "first\nsecond"})
	if err != nil {
		t.Fatal(err)
	}
	ifaces := []pcapgo.NgInterface{
		{Name: "lwt_in:2001:db8:20::/48@r1_h2", Description: "cookie=0xbeef netns=r1 table=254", LinkType: layers.LinkTypeRaw, SnapLength: 262144, TimestampResolution: 6, TimestampOffset: 100},
		{Name: "eth0", Comment: "an Ethernet interface", Filter: "udp", OS: "Linux", LinkType: layers.LinkTypeEthernet, SnapLength: 65535},
	}
	for i, ifc := range ifaces {
		if id, err := c.AddInterface(ifc); err != nil || id != uint32(i) {
			t.Fatalf("AddInterface %d: id %d, %v", i, id, err)
		}
	}
	ts := time.Date(2026, 3, 1, 12, 0, 1, 123456789, time.UTC)
	pkts := []Packet{
		{Interface: 0, Time: ts.UnixNano(), OrigLen: 104, Data: []byte{0x60, 1, 2}, Comments: [][]byte{[]byte("hook=lwt_in"), []byte("analyst note")}, Flags: pcapng.FlagInbound, HasFlags: true},
		{Interface: 1, Time: ts.UnixNano() + 1, OrigLen: 4, Data: []byte{1, 2, 3, 4}},
		{Interface: 0, Time: ts.UnixNano() + 2, OrigLen: 1, Data: []byte{0x45}, Flags: pcapng.FlagOutbound, HasFlags: true},
	}
	for i := range pkts {
		if err := c.WritePacket(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WritePacket(&Packet{Interface: 2}); err == nil {
		t.Error("a packet on an interface not added was written")
	}
	if err := c.WriteStats(1, &Stats{Time: ts.UnixNano() + 10, Start: ts.UnixNano(), End: ts.UnixNano() + 10, Received: 9, Dropped: 1,
		FilterAccept: NoValue, OSDropped: NoValue, Delivered: NoValue}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	var stats []pcapgo.NgInterfaceStatistics
	r, err := pcapgo.NewNgReader(bytes.NewReader(out.Bytes()), pcapgo.NgReaderOptions{
		WantMixedLinkType:  true,
		StatisticsCallback: func(_ int, s pcapgo.NgInterfaceStatistics) { stats = append(stats, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if si := r.SectionInfo(); si.Application != "lwtdump test" || si.Comment != "first\nsecond" || si.OS != "Linux" || si.Hardware != "x86_64" {
		t.Errorf("section %+v", si)
	}
	for i := range pkts {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		p := pkts[i]
		if ci.InterfaceIndex != int(p.Interface) || ci.Timestamp.UnixNano() != p.Time || ci.Length != int(p.OrigLen) || !bytes.Equal(data, p.Data) {
			t.Errorf("packet %d: %+v %x", i, ci, data)
		}
		if len(opts.Comments) != len(p.Comments) {
			t.Errorf("packet %d: comments %q", i, opts.Comments)
		}
		for j := range opts.Comments {
			if opts.Comments[j] != string(p.Comments[j]) {
				t.Errorf("packet %d: comments %q", i, opts.Comments)
			}
		}
		if (opts.Flags != nil) != p.HasFlags || p.HasFlags && opts.Flags.ToUint32() != p.Flags {
			t.Errorf("packet %d: flags %+v, want %#x", i, opts.Flags, p.Flags)
		}
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("after the packets: %v", err)
	}
	for i, want := range ifaces {
		got, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.Description != want.Description || got.Comment != want.Comment || got.Filter != want.Filter ||
			got.OS != want.OS || got.LinkType != want.LinkType || got.SnapLength != want.SnapLength ||
			got.TimestampResolution != 9 || got.TimestampOffset != 0 {
			t.Errorf("interface %d: %+v", i, got)
		}
	}
	if len(stats) != 1 || stats[0].PacketsReceived != 9 || stats[0].PacketsDropped != 1 || !stats[0].EndTime.Equal(ts.Add(10)) {
		t.Errorf("statistics %+v", stats)
	}
}

func TestParseComment(t *testing.T) {
	s := sample.Sample{Hook: sample.HookXmit, Cookie: 0xbeef, Ifindex: 3, CPU: 1, Mark: 0x2a}
	a := sample.Attachment{Route: "2001:db8:20::/48", Dev: "r1_h2"}
	want := Meta{Hook: sample.HookXmit, Cookie: 0xbeef, HasCookie: true, Route: "2001:db8:20::/48", Dev: "r1_h2", Ifindex: 3, CPU: 1, Mark: 0x2a}
	if m, ok := ParseComment(AppendComment(nil, &s, &a)); !ok || m != want {
		t.Errorf("round trip: %+v %v, want %+v", m, ok, want)
	}
	for _, tc := range []struct {
		comment string
		ok      bool
	}{
		{"hook=lwt_in cookie=0x1 route=192.0.2.0/24 dev= ifindex=2 cpu=0 mark=0x0", true},
		{"hook=lwt_out cookie=0x1 route=192.0.2.0/24 dev=eth0 ifindex=2 cpu=0 mark=0x0 future=yes", true},
		{"hook=lwt_xmit", true},
		{"analyst: looks like a retry", false},
		{"hook=nope cookie=0x1", false},
		{"hook=lwt_xmit cookie=beef", false},
		{"hook=lwt_xmit  cookie=0x1", false},
		{"", false},
	} {
		if _, ok := ParseComment([]byte(tc.comment)); ok != tc.ok {
			t.Errorf("%q: ok %v, want %v", tc.comment, ok, tc.ok)
		}
	}
}

func TestParseInterface(t *testing.T) {
	a := sample.Attachment{Hook: sample.HookIn, Cookie: 0xbeef, Route: "2001:db8:20::/48", Dev: "r1_h2", Table: 254, Netns: "r1"}
	m, ok := ParseInterface(a.Name(), Description(a))
	if want := (Meta{Hook: sample.HookIn, Cookie: 0xbeef, HasCookie: true, Route: "2001:db8:20::/48", Dev: "r1_h2"}); !ok || m != want {
		t.Errorf("round trip: %+v %v, want %+v", m, ok, want)
	}
	for _, name := range []string{"eth0", "", "lwt_bogus:2001:db8::/32", "any:thing"} {
		if _, ok := ParseInterface(name, "cookie=0x1"); ok {
			t.Errorf("%q parsed as lwtdump's", name)
		}
	}
	if m, ok := ParseInterface("lwt_xmit:203.0.113.0/24", ""); !ok || m.Route != "203.0.113.0/24" || m.Dev != "" || m.HasCookie {
		t.Errorf("no device, no description: %+v %v", m, ok)
	}
}

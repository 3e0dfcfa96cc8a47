package text

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/lwtdump/lwtdump/writer/writertest"
)

func TestAppendHex(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{nil, ""},
		{[]byte("hello, lwtdump"), "\t0x0000:  6865 6c6c 6f2c 206c 7774 6475 6d70       hello,.lwtdump\n"},
		{[]byte{0x45, 0, 0, 0x28, 0xff}, "\t0x0000:  4500 0028 ff                             E..(.\n"},
		{bytes.Repeat([]byte("lwtdump!"), 3), "" +
			"\t0x0000:  6c77 7464 756d 7021 6c77 7464 756d 7021  lwtdump!lwtdump!\n" +
			"\t0x0010:  6c77 7464 756d 7021                      lwtdump!\n"},
	} {
		if got := string(AppendHex(nil, tc.data)); got != tc.want {
			t.Errorf("%q:\ngot  %q\nwant %q", tc.data, got, tc.want)
		}
	}
}

func TestTimeFormats(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	times := []time.Time{base, base.Add(1001234 * time.Nanosecond), base.Add(999 * time.Microsecond), base.Add(3723*time.Second + 5*time.Microsecond)}
	for _, tc := range []struct {
		format TimeFormat
		want   []string
	}{
		{TimeOfDay, []string{"12:00:01.000000 ", "12:00:01.001001 ", "12:00:01.000999 ", "13:02:04.000005 "}},
		{TimeNone, []string{"", "", "", ""}},
		{TimeUnix, []string{"1772366401.000000 ", "1772366401.001001 ", "1772366401.000999 ", "1772370124.000005 "}},
		{TimeDelta, []string{" 00:00:00.000000 ", " 00:00:00.001001 ", "-00:00:00.000002 ", " 01:02:02.999006 "}},
		{TimeDate, []string{"2026-03-01 12:00:01.000000 ", "2026-03-01 12:00:01.001001 ", "2026-03-01 12:00:01.000999 ", "2026-03-01 13:02:04.000005 "}},
		{TimeSinceFirst, []string{" 00:00:00.000000 ", " 00:00:00.001001 ", " 00:00:00.000999 ", " 01:02:03.000005 "}},
	} {
		p := NewPrinterWithOptions(io.Discard, nil, Options{Time: tc.format, Location: time.UTC})
		for i, ts := range times {
			if got := string(p.appendTime(nil, ts.UnixNano())); got != tc.want[i] {
				t.Errorf("format %d, time %d: %q, want %q", tc.format, i, got, tc.want[i])
			}
		}
	}
}

// A live capture prints the same lines as reading its file back does.
func TestSampleLikeRecord(t *testing.T) {
	atts := writertest.Attachments()
	for _, opts := range []Options{{}, {Verbose: 1}, {Verbose: 2, Hex: true, Time: TimeDelta}} {
		var live, read bytes.Buffer
		p := NewPrinterWithOptions(&live, atts, opts)
		for _, s := range writertest.Samples() {
			if err := p.WriteSample(&s); err != nil {
				t.Fatal(err)
			}
		}
		p.Flush(time.Time{})
		printCapture(t, NewPrinterWithOptions(&read, nil, opts), writertest.Bytes(), "test.pcapng")
		if live.String() != read.String() {
			t.Errorf("options %+v: live\n%s\nread back\n%s", opts, live.String(), read.String())
		}
		if opts.Verbose == 1 && !strings.Contains(live.String(), "\n    interface lwt_in:2001:db8:20::/48@r1_h2 (cookie=0xbeef netns=r1 table=254)\n"+
			`    comment "hook=lwt_in cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=2 cpu=0 mark=0x0"`+"\n") {
			t.Errorf("verbose lines:\n%s", live.String())
		}
	}
}

// The old constructor keeps printing what live captures printed.
func TestNewPrinter(t *testing.T) {
	var b bytes.Buffer
	p := NewPrinter(&b, writertest.Attachments(), false, true)
	s := writertest.Samples()[1]
	if err := p.WriteSample(&s); err != nil {
		t.Fatal(err)
	}
	want := time.Unix(0, s.Time).Format("15:04:05.000000") + " lwt_xmit IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id 7, seq 1, length 64\n"
	if b.String() != want {
		t.Errorf("%q, want %q", b.String(), want)
	}
}

// variety are raw IP packets of the kinds a router sees, each printed the
// way tcpdump prints it.
func variety() [][]byte {
	a6, b6 := net.ParseIP("2001:db8:1::1"), net.ParseIP("2001:db8:20::1")
	a4, b4 := net.ParseIP("192.0.2.1").To4(), net.ParseIP("203.0.113.1").To4()
	ip6 := func(nh layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: a6, DstIP: b6}
	}
	ip4 := func(p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: p, SrcIP: a4, DstIP: b4}
	}
	udp4 := &layers.UDP{SrcPort: 40000, DstPort: 33434}
	i4 := ip4(layers.IPProtocolUDP)
	udp4.SetNetworkLayerForChecksum(i4)
	inner4 := serialize(i4, udp4, gopacket.Payload("x"))
	udp6 := &layers.UDP{SrcPort: 40000, DstPort: 33434}
	i6 := ip6(layers.IPProtocolUDP)
	udp6.SetNetworkLayerForChecksum(i6)
	inner6 := serialize(i6, udp6, gopacket.Payload("x"))

	var pk [][]byte
	for _, tc := range []struct {
		typ, code uint8
		body      []byte
	}{
		{1, 0, append([]byte{0, 0, 0, 0}, inner6...)}, {1, 1, append([]byte{0, 0, 0, 0}, inner6...)},
		{1, 3, append([]byte{0, 0, 0, 0}, inner6...)}, {1, 4, append([]byte{0, 0, 0, 0}, inner6...)},
		{2, 0, append([]byte{0, 0, 5, 0}, inner6...)}, {3, 0, append([]byte{0, 0, 0, 0}, inner6...)},
		{128, 0, []byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}}, {129, 0, []byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}},
		{133, 0, make([]byte, 4)}, {134, 0, make([]byte, 12)},
		{135, 0, append(make([]byte, 4), b6...)}, {136, 0, append([]byte{0x60, 0, 0, 0}, b6...)},
		{143, 0, []byte{0, 0, 0, 1, 4, 0, 0, 0, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16}},
	} {
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(tc.typ, tc.code)}
		ip := ip6(layers.IPProtocolICMPv6)
		ic.SetNetworkLayerForChecksum(ip)
		pk = append(pk, serialize(ip, ic, gopacket.Payload(tc.body)))
	}
	for _, tc := range []struct{ typ, code uint8 }{{0, 0}, {8, 0}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 13}, {11, 0}, {11, 1}, {12, 0}} {
		pk = append(pk, serialize(ip4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(tc.typ, tc.code), Id: 3, Seq: 4}, gopacket.Payload(inner4)))
	}
	pk = append(pk, serialize(ip4(253), gopacket.Payload("abcdefgh")), serialize(ip6(253), gopacket.Payload("abcdefgh")))
	// Carriage returns before a newline, alone, and among the last two bytes (-A).
	pk = append(pk, serialize(ip6(253), gopacket.Payload("GET / HTTP/1.1\r\nHost: a\r\n\r\nx\ry\tz \x00\x7f\xff\rq")))
	tcps := []*layers.TCP{
		{SrcPort: 40001, DstPort: 50001, Seq: 1000, Ack: 77, ACK: true, PSH: true, Window: 502,
			Options: []layers.TCPOption{{OptionType: 1}, {OptionType: 1}, {OptionType: 8, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}}},
		{SrcPort: 40002, DstPort: 50002, Seq: 1000, SYN: true, Window: 64240, Options: []layers.TCPOption{
			{OptionType: 2, OptionLength: 4, OptionData: []byte{5, 0xb4}}, {OptionType: 4, OptionLength: 2},
			{OptionType: 8, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 0}}, {OptionType: 1}, {OptionType: 3, OptionLength: 3, OptionData: []byte{7}}}},
		{SrcPort: 40003, DstPort: 50003, Seq: 5, Ack: 1001, RST: true, ACK: true},
		{SrcPort: 40004, DstPort: 50004, Seq: 9, Ack: 10, FIN: true, ACK: true, Window: 3},
		{SrcPort: 40005, DstPort: 50005, Seq: 9, Ack: 10, ACK: true, Window: 3},
	}
	for i, tcp := range tcps {
		var ip gopacket.NetworkLayer = ip4(layers.IPProtocolTCP)
		if i%2 == 1 {
			ip = ip6(layers.IPProtocolTCP)
		}
		tcp.SetNetworkLayerForChecksum(ip)
		payload := gopacket.Payload(nil)
		if i == 0 {
			payload = gopacket.Payload("hello")
		}
		pk = append(pk, serialize(ip.(gopacket.SerializableLayer), tcp, payload))
	}
	pk = append(pk,
		serialize(ip6(layers.IPProtocolIPv6), gopacket.Payload(inner6)), // IPv6 in IPv6, as SRv6 encapsulates
		serialize(ip4(layers.IPProtocolIPv4), gopacket.Payload(inner4)),
		serialize(&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: a4, DstIP: b4, FragOffset: 185, Id: 5}, gopacket.Payload("12345678")),
		serialize(&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: a4, DstIP: b4, Flags: layers.IPv4MoreFragments, Id: 5}, gopacket.Payload(inner4[20:])),
		serialize(ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload([]byte{17, 0, 0, 1, 0, 0, 0, 9}), gopacket.Payload(inner6[40:])),
		serialize(ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload([]byte{17, 0, 0x05, 0x00, 0, 0, 0, 9}), gopacket.Payload("12345678")),
		serialize(ip6(layers.IPProtocolIPv6Destination), gopacket.Payload([]byte{17, 0, 1, 4, 0, 0, 0, 0}), gopacket.Payload(inner6[40:])),
		serialize(ip6(layers.IPProtocolIPv6HopByHop), gopacket.Payload([]byte{58, 0, 5, 2, 0, 0, 1, 0, 128, 0, 0, 0, 0, 1, 0, 1})),
		serialize(ip6(layers.IPProtocolIPv6Routing), gopacket.Payload([]byte{41, 4, 4, 1, 1, 0, 0, 0}), gopacket.Payload(b6), gopacket.Payload(a6), gopacket.Payload(inner6)),
		[]byte{0x45, 0}, []byte{0x60, 0, 0}, // headers cut short
	)
	return append(pk, superPackets()...)
}

// superPackets are TCP segments longer than an IP length field holds, as
// GSO and GRO build them (BIG TCP): IPv6 with a jumbo payload option and a
// payload length of 0, IPv6 with neither, IPv4 with a total length of 0.
func superPackets() [][]byte {
	a6, b6 := net.ParseIP("2001:db8:1::1"), net.ParseIP("2001:db8:20::1")
	a4, b4 := net.ParseIP("192.0.2.1").To4(), net.ParseIP("203.0.113.1").To4()
	const n = 71424
	tcp := func(ip gopacket.NetworkLayer) []byte {
		t := &layers.TCP{SrcPort: 40006, DstPort: 5201, Seq: 7, Ack: 9, ACK: true, Window: 63,
			Options: []layers.TCPOption{{OptionType: 1}, {OptionType: 1}, {OptionType: 8, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}}}
		t.SetNetworkLayerForChecksum(ip)
		return serialize(t, gopacket.Payload(bytes.Repeat([]byte("lwtdump!"), n/8)))
	}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6HopByHop, SrcIP: a6, DstIP: b6}
	seg := tcp(ip6)
	hbh := []byte{byte(layers.IPProtocolTCP), 0, 0xc2, 4, 0, 0, 0, 0} // jumbo payload option
	binary.BigEndian.PutUint32(hbh[4:], uint32(len(hbh)+len(seg)))
	jumbo := append(serialize(ip6), append(hbh, seg...)...)
	ip6.NextHeader = layers.IPProtocolTCP
	gso6 := append(serialize(ip6), seg...)
	ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: a4, DstIP: b4}
	gso4 := append(serialize(ip4), tcp(ip4)...)
	for _, p := range [][]byte{jumbo, gso6} {
		binary.BigEndian.PutUint16(p[4:6], 0) // payload length
	}
	binary.BigEndian.PutUint16(gso4[2:4], 0) // total length
	return [][]byte{jumbo, gso6, gso4}
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return bytes.Clone(buf.Bytes())
}

// The lines match tcpdump's, in every time format and with -X, for the
// packets of a capture lwtdump wrote (in a classic pcap file, so that
// tcpdump names no hook) and a variety of others.
func TestMatchesTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (make deps installs it)")
	}
	var pkts [][]byte
	var lens []int
	for _, s := range writertest.Samples() {
		pkts, lens = append(pkts, s.Data), append(lens, int(s.OrigLen))
	}
	for _, p := range variety() {
		pkts, lens = append(pkts, p), append(lens, len(p))
	}
	dir := t.TempDir()
	// The packets in raw IP, and those of each IP version in the link type
	// of that version, as lwtdump writes the packets of IPv4 and IPv6 routes.
	for _, tc := range []struct {
		name    string
		lt      layers.LinkType
		version byte // of the packets in the file; 0 for all
	}{{"RAW", layers.LinkTypeRaw, 0}, {"IPV4", layers.LinkTypeIPv4, 4}, {"IPV6", layers.LinkTypeIPv6, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			lt, version := tc.lt, tc.version
			file := filepath.Join(dir, fmt.Sprintf("variety-%d.pcap", lt))
			var sel [][]byte
			var selLens []int
			for i, p := range pkts {
				if version == 0 || p[0]>>4 == version {
					sel, selLens = append(sel, p), append(selLens, lens[i])
				}
			}
			writePcap(t, file, lt, sel, selLens)
			matchTcpdump(t, file)
		})
	}
}

// writePcap writes packets with the given lengths on the wire to a classic
// pcap file of link type lt.
func writePcap(t *testing.T, file string, lt layers.LinkType, pkts [][]byte, lens []int) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(262144, lt); err != nil {
		t.Fatal(err)
	}
	ts := writertest.Start
	for i, p := range pkts {
		ts = ts.Add(time.Duration(i%7)*time.Millisecond + 1234567*time.Nanosecond)
		if i == 20 {
			ts = ts.Add(-time.Second) // out of order, as packets of two CPUs can be
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(p), Length: lens[i]}, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// matchTcpdump checks that the lines printed for a capture match tcpdump's,
// in every time format and with -X.
func matchTcpdump(t *testing.T, file string) {
	t.Helper()
	for _, tc := range []struct {
		flags []string
		opts  Options
	}{
		{nil, Options{}},
		{[]string{"-t"}, Options{Time: TimeNone}},
		{[]string{"-tt"}, Options{Time: TimeUnix}},
		{[]string{"-ttt"}, Options{Time: TimeDelta}},
		{[]string{"-tttt"}, Options{Time: TimeDate}},
		{[]string{"-ttttt"}, Options{Time: TimeSinceFirst}},
		{[]string{"-X"}, Options{Hex: true}},
		{[]string{"-A"}, Options{ASCII: true}},
		{[]string{"-X", "-A"}, Options{Hex: true, ASCII: true}},
	} {
		t.Run(strings.Join(append([]string{"tcpdump"}, tc.flags...), " "), func(t *testing.T) {
			cmd := exec.Command("tcpdump", append([]string{"-n", "-r", file}, tc.flags...)...)
			cmd.Env = append(os.Environ(), "TZ=UTC")
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			var got bytes.Buffer
			tc.opts.Location = time.UTC
			printCapture(t, NewPrinterWithOptions(&got, nil, tc.opts), mustRead(t, file), file)
			wl, gl := strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")
			for i := range max(len(wl), len(gl)) {
				var w, g string
				if i < len(wl) {
					w = wl[i]
				}
				if i < len(gl) {
					g = gl[i]
				}
				if w != g {
					t.Errorf("line %d:\ntcpdump %q\nlwtdump %q", i+1, w, g)
				}
			}
		})
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Other link types print as tcpdump prints them without -e: the link-layer
// header left out.
func TestSummaryOtherLinkTypes(t *testing.T) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: eth.SrcMAC, SourceProtAddress: net.IP{192, 0, 2, 1}, DstHwAddress: make([]byte, 6), DstProtAddress: net.IP{192, 0, 2, 2}}
	req := serialize(eth, arp)
	arp.Operation = layers.ARPReply
	reply := serialize(eth, arp)
	eth.EthernetType = layers.EthernetTypeIPv6
	ping := serialize(eth, gopacket.Payload(writertest.Samples()[0].Data))
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{req, "ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 46"}, // padded to Ethernet's minimum
		{reply, "ARP, Reply 192.0.2.1 is-at 02:00:00:00:00:01, length 46"},
		{ping, "IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id 7, seq 1, length 64"},
	} {
		pkt := gopacket.NewPacket(tc.data, layers.LinkTypeEthernet, gopacket.Default)
		if got := SummaryOf(pkt, uint32(len(tc.data))); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	var b bytes.Buffer
	p := NewPrinterWithOptions(&b, nil, Options{Hex: true, Time: TimeNone})
	p.WritePacket(&Packet{LinkType: layers.LinkTypeEthernet, Data: ping, OrigLen: uint32(len(ping))})
	p.Flush(time.Time{})
	if lines := strings.Split(b.String(), "\n"); len(lines) < 2 || !strings.HasPrefix(lines[1], "\t0x0000:  6000 0000") {
		t.Errorf("-X of an Ethernet frame starts at its IP header:\n%s", b.String())
	}
	if got := SummaryOf(gopacket.NewPacket([]byte{1, 2, 3, 4}, layers.LinkType(147), gopacket.Default), 4); !strings.HasPrefix(got, "undecoded, length 4: ") {
		t.Errorf("a link type gopacket does not decode: %q", got)
	}
	if got := Summary([]byte{0x45, 0}, 2); got != "IP  [|ip]" {
		t.Errorf("cut IP header: %q", got)
	}
}

// printCapture prints every record of the capture data, named name, with p.
func printCapture(t *testing.T, p *Printer, data []byte, name string) {
	t.Helper()
	r, err := pcapread.NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WriteRecord(rec); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush(time.Time{})
}

// FuzzWritePacket prints arbitrary bytes as a packet of each link type the
// reader meets, with every option on: printing never panics, and the first
// line is one line.
func FuzzWritePacket(f *testing.F) {
	for _, s := range writertest.Samples() {
		f.Add(s.Data, uint32(len(s.Data)), uint8(0))
	}
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 17, 64}, uint32(48), uint8(0))
	f.Add([]byte{0x45, 0, 0, 20, 0, 0, 0x20, 0, 64, 6}, uint32(20), uint8(1))
	linkTypes := []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeEthernet, layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLinuxSLL, layers.LinkTypeNull}
	f.Fuzz(func(t *testing.T, data []byte, origLen uint32, link uint8) {
		for _, verbose := range []int{0, 2} {
			var out bytes.Buffer
			p := NewPrinterWithOptions(&out, nil, Options{Time: TimeDate, Location: time.UTC, Verbose: verbose, Hex: true})
			pkt := Packet{Time: 1, Hook: "lwt_xmit", LinkType: linkTypes[int(link)%len(linkTypes)], Data: data, OrigLen: origLen, Interface: "i", Comments: [][]byte{data}}
			if err := p.WritePacket(&pkt); err != nil {
				t.Fatal(err)
			}
			if err := p.Flush(time.Time{}); err != nil {
				t.Fatal(err)
			}
			if first, _, _ := bytes.Cut(out.Bytes(), []byte("\n")); !bytes.HasPrefix(first, []byte("1970-01-01 00:00:00.000000 lwt_xmit ")) {
				t.Fatalf("first line %q", first)
			}
		}
	})
}

package filter

import (
	"bytes"
	"flag"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/filter/filtertest"
)

var update = flag.Bool("update", false, "rewrite testdata/mixed.pcap from the packets built here")

// mixedPcap is a capture of raw IP packets that exercises the filter
// language: IPv4 and IPv6; TCP, UDP, SCTP, ICMP, ICMPv6, IGMP, ESP, GRE;
// IPv4 options and fragments (first and later); IPv6 fragment, hop-by-hop,
// destination-options and SRv6 routing headers; multicast and broadcast;
// truncated packets and records cut short by a snaplen. Packet i has the
// timestamp filtertest.Epoch + i seconds, which identifies it in tcpdump's output.
const mixedPcap = "testdata/mixed.pcap"

type rawPacket struct {
	name    string
	data    []byte
	origLen int // the original length when data was cut short; 0 otherwise
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ip6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

type network interface {
	gopacket.NetworkLayer
	gopacket.SerializableLayer
}

func tcp(nl network, sport, dport int, flags string) *layers.TCP {
	t := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Window: 65535}
	for _, f := range flags {
		switch f {
		case 'S':
			t.SYN = true
		case 'A':
			t.ACK = true
		case 'F':
			t.FIN = true
		case 'R':
			t.RST = true
		case 'P':
			t.PSH = true
		case 'U':
			t.URG = true
		case 'E':
			t.ECE = true
		case 'C':
			t.CWR = true
		}
	}
	t.SetNetworkLayerForChecksum(nl)
	return t
}

func udp(nl network, sport, dport int) *layers.UDP {
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(nl)
	return u
}

func icmp6(nl network, typ, code uint8) *layers.ICMPv6 {
	i := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
	i.SetNetworkLayerForChecksum(nl)
	return i
}

func payload(n int, fill byte) gopacket.Payload { return bytes.Repeat([]byte{fill}, n) }

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func hopByHop(next layers.IPProtocol) *layers.IPv6HopByHop {
	h := &layers.IPv6HopByHop{}
	h.NextHeader = next
	h.Options = []*layers.IPv6HopByHopOption{
		{OptionType: 5, OptionLength: 2, ActualLength: 4, OptionData: []byte{0, 0}}, // router alert
		{OptionType: 1, OptionLength: 0, ActualLength: 2},                           // PadN
	}
	return h
}

func destOpts(next layers.IPProtocol) *layers.IPv6Destination {
	d := &layers.IPv6Destination{}
	d.NextHeader = next
	d.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, ActualLength: 6, OptionData: []byte{0, 0, 0, 0}}} // PadN
	return d
}

// srh is an SRv6 segment routing header (routing type 4) with two segments.
func srh(next layers.IPProtocol) *layers.IPv6Routing {
	r := &layers.IPv6Routing{RoutingType: 4, SegmentsLeft: 1, Reserved: []byte{1, 0, 0, 0}}
	r.NextHeader = next
	r.Data = append(net.ParseIP("2001:db8:20::1").To16(), net.ParseIP("2001:db8:2::2").To16()...)
	return r
}

func mixedPackets(t *testing.T) []rawPacket {
	const (
		a4, b4, c4 = "192.0.2.1", "198.51.100.7", "203.0.113.1"
		a6, b6     = "2001:db8:1::1", "2001:db8:20::1"
	)
	var ps []rawPacket
	add := func(name string, ls ...gopacket.SerializableLayer) {
		ps = append(ps, rawPacket{name: name, data: serialize(t, ls...)})
	}

	// IPv4 TCP.
	n := ip4(a4, b4, layers.IPProtocolTCP)
	add("v4 tcp syn 443", n, tcp(n, 40001, 443, "S"))
	n = ip4(b4, a4, layers.IPProtocolTCP)
	add("v4 tcp syn-ack 443", n, tcp(n, 443, 40001, "SA"))
	n = ip4(a4, b4, layers.IPProtocolTCP)
	add("v4 tcp psh-ack 443 data", n, tcp(n, 40001, 443, "PA"), payload(100, 'a'))
	n = ip4(a4, c4, layers.IPProtocolTCP)
	add("v4 tcp fin 22", n, tcp(n, 40002, 22, "FA"))
	n = ip4(c4, a4, layers.IPProtocolTCP)
	add("v4 tcp rst 80", n, tcp(n, 80, 40003, "R"))
	n = ip4(a4, b4, layers.IPProtocolTCP)
	opt := tcp(n, 40004, 8080, "SEC")
	opt.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}}
	add("v4 tcp syn ece cwr 8080 options", n, opt)
	n = ip4(a4, b4, layers.IPProtocolTCP)
	n.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert: IHL 6
	add("v4 options tcp ack 443", n, tcp(n, 40005, 443, "A"))
	n = ip4(a4, b4, layers.IPProtocolTCP)
	add("v4 tcp header only, no tcp", n)

	// IPv4 UDP.
	n = ip4(a4, c4, layers.IPProtocolUDP)
	add("v4 udp 53 query", n, udp(n, 5353, 53), payload(30, 'q'))
	n = ip4(c4, a4, layers.IPProtocolUDP)
	add("v4 udp 53 answer", n, udp(n, 53, 5353), payload(200, 'r'))
	n = ip4(a4, c4, layers.IPProtocolUDP)
	add("v4 udp ntp", n, udp(n, 123, 123), payload(48, 0))
	n = ip4(a4, c4, layers.IPProtocolUDP)
	n.TTL = 1
	add("v4 udp traceroute ttl 1", n, udp(n, 40010, 33434), payload(12, 0))
	n = ip4(a4, "224.0.0.251", layers.IPProtocolUDP)
	n.TTL = 255
	add("v4 udp mdns multicast", n, udp(n, 5353, 5353), payload(40, 'm'))
	n = ip4("0.0.0.0", "255.255.255.255", layers.IPProtocolUDP)
	add("v4 udp dhcp broadcast", n, udp(n, 68, 67), payload(240, 0))
	n = ip4(a4, b4, layers.IPProtocolUDP)
	add("v4 udp large", n, udp(n, 40011, 40020), payload(1400, 'L'))

	// IPv4 ICMP.
	n = ip4(a4, c4, layers.IPProtocolICMPv4)
	add("v4 icmp echo", n, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 7, Seq: 1}, payload(56, 'e'))
	n = ip4(c4, a4, layers.IPProtocolICMPv4)
	add("v4 icmp echo reply", n, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 7, Seq: 1}, payload(56, 'e'))
	inner := ip4(a4, c4, layers.IPProtocolUDP)
	quoted := serialize(t, inner, udp(inner, 40010, 33434))
	n = ip4(c4, a4, layers.IPProtocolICMPv4)
	add("v4 icmp port unreachable", n, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quoted))

	// IPv4 fragments: the first carries the UDP header, a later one only
	// data whose first bytes look like ports 1000 -> 2000.
	n = ip4(a4, b4, layers.IPProtocolUDP)
	n.Id, n.Flags = 0x1234, layers.IPv4MoreFragments
	add("v4 udp first fragment 1000 > 2000", n, udp(n, 1000, 2000), payload(1472, 'f'))
	n = ip4(a4, b4, layers.IPProtocolUDP)
	n.Id, n.FragOffset = 0x1234, 185
	add("v4 udp later fragment", n, gopacket.Payload(append([]byte{0x03, 0xe8, 0x07, 0xd0}, bytes.Repeat([]byte{'g'}, 96)...)))
	n = ip4(a4, b4, layers.IPProtocolTCP)
	n.Flags = layers.IPv4DontFragment
	add("v4 tcp dont fragment 443", n, tcp(n, 40006, 443, "A"), payload(20, 'd'))

	// IPv4, other protocols.
	n = ip4(a4, b4, layers.IPProtocolGRE)
	add("v4 gre", n, gopacket.Payload([]byte{0, 0, 0x86, 0xdd}))
	n = ip4(a4, b4, layers.IPProtocolESP)
	add("v4 esp", n, gopacket.Payload(bytes.Repeat([]byte{0xee}, 64)))
	n = ip4(a4, b4, layers.IPProtocolSCTP)
	add("v4 sctp 9", n, &layers.SCTP{SrcPort: 9, DstPort: 9, VerificationTag: 1}, payload(16, 0))
	n = ip4(a4, "224.0.0.22", layers.IPProtocolIGMP)
	n.TTL = 1
	add("v4 igmp v3 report", n, gopacket.Payload([]byte{0x22, 0, 0xea, 0x03, 0, 0, 0, 0}))
	n = ip4(a4, b4, layers.IPProtocol(253))
	n.TOS = 0xb8
	add("v4 experimental proto dscp ef", n, payload(10, 'x'))

	// IPv6 TCP and UDP.
	m := ip6(a6, b6, layers.IPProtocolTCP)
	add("v6 tcp syn 443", m, tcp(m, 40001, 443, "S"))
	m = ip6(b6, a6, layers.IPProtocolTCP)
	add("v6 tcp rst 443", m, tcp(m, 443, 40001, "R"))
	m = ip6(a6, b6, layers.IPProtocolTCP)
	add("v6 tcp ack 80 data", m, tcp(m, 40002, 80, "PA"), payload(300, 'h'))
	m = ip6(a6, b6, layers.IPProtocolUDP)
	add("v6 udp 53", m, udp(m, 40003, 53), payload(33, 'q'))
	m = ip6(a6, "ff02::fb", layers.IPProtocolUDP)
	m.HopLimit = 255
	add("v6 udp mdns multicast", m, udp(m, 5353, 5353), payload(40, 'm'))
	m = ip6(a6, b6, layers.IPProtocolUDP)
	m.TrafficClass, m.FlowLabel = 0xb8, 0x12345
	add("v6 udp large flow label", m, udp(m, 40004, 40020), payload(1400, 'L'))
	m = ip6(a6, b6, layers.IPProtocolTCP)
	add("v6 header only, no tcp", m)

	// ICMPv6.
	m = ip6(a6, b6, layers.IPProtocolICMPv6)
	add("v6 icmp6 echo", m, icmp6(m, 128, 0), &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1}, payload(56, 'e'))
	m = ip6(b6, a6, layers.IPProtocolICMPv6)
	add("v6 icmp6 echo reply", m, icmp6(m, 129, 0), &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1}, payload(56, 'e'))
	m = ip6(a6, "ff02::1:ff00:1", layers.IPProtocolICMPv6)
	m.HopLimit = 255
	add("v6 icmp6 neighbor solicitation", m, icmp6(m, 135, 0), &layers.ICMPv6NeighborSolicitation{TargetAddress: net.ParseIP("2001:db8:1::2")})
	m = ip6("2001:db8:2::2", a6, layers.IPProtocolICMPv6)
	add("v6 icmp6 packet too big", m, icmp6(m, 2, 0), gopacket.Payload(append([]byte{0, 0, 0x05, 0x00}, bytes.Repeat([]byte{0x60}, 48)...)))

	// IPv6 extension headers.
	m = ip6(a6, b6, layers.IPProtocolIPv6Fragment)
	add("v6 fragment first udp 53", m, &layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, MoreFragments: true, Identification: 9},
		udp(m, 40005, 53), payload(1000, 'f'))
	m = ip6(a6, b6, layers.IPProtocolIPv6Fragment)
	add("v6 fragment later udp", m, &layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, FragmentOffset: 126, Identification: 9},
		gopacket.Payload(append([]byte{0x9c, 0x45, 0x00, 0x35}, bytes.Repeat([]byte{'g'}, 60)...)))
	m = ip6(a6, b6, layers.IPProtocolIPv6Fragment)
	add("v6 fragment first icmp6 echo", m, &layers.IPv6Fragment{NextHeader: layers.IPProtocolICMPv6, MoreFragments: true, Identification: 10},
		icmp6(m, 128, 0), &layers.ICMPv6Echo{Identifier: 8, SeqNumber: 2}, payload(1200, 'e'))
	m = ip6(a6, b6, layers.IPProtocolIPv6HopByHop)
	add("v6 hop-by-hop udp 53", m, hopByHop(layers.IPProtocolUDP), udp(m, 40006, 53), payload(20, 'q'))
	m = ip6(a6, "ff02::16", layers.IPProtocolIPv6HopByHop)
	m.HopLimit = 1
	add("v6 hop-by-hop icmp6 mld report", m, hopByHop(layers.IPProtocolICMPv6), icmp6(m, 143, 0), payload(24, 0))
	m = ip6(a6, b6, layers.IPProtocolIPv6Destination)
	add("v6 destination options tcp 443", m, destOpts(layers.IPProtocolTCP), tcp(m, 40007, 443, "S"))
	m = ip6(a6, b6, layers.IPProtocolIPv6Routing)
	in6 := ip6(a6, "2001:db8:20::1", layers.IPProtocolUDP)
	add("v6 srv6 encap udp", m, srh(layers.IPProtocolIPv6), in6, udp(in6, 40008, 4000), payload(50, 's'))
	m = ip6(a6, "2001:db8:2::2", layers.IPProtocolIPv6Routing)
	add("v6 srv6 icmp6 echo", m, srh(layers.IPProtocolICMPv6), icmp6(m, 128, 0), &layers.ICMPv6Echo{Identifier: 9, SeqNumber: 3}, payload(16, 'e'))
	m = ip6(a6, "2001:db8:2::2", layers.IPProtocolIPv6Routing)
	add("v6 srv6 udp 53", m, srh(layers.IPProtocolUDP), udp(m, 40009, 53), payload(20, 'q'))
	m = ip6(a6, b6, layers.IPProtocolNoNextHeader)
	add("v6 no next header", m)
	m = ip6(a6, b6, layers.IPProtocolESP)
	add("v6 esp", m, gopacket.Payload(bytes.Repeat([]byte{0xee}, 64)))
	m = ip6(a6, b6, layers.IPProtocolSCTP)
	add("v6 sctp 9", m, &layers.SCTP{SrcPort: 9, DstPort: 9, VerificationTag: 1}, payload(16, 0))
	m = ip6(a6, b6, layers.IPProtocolIPv4)
	in4 := ip4(a4, b4, layers.IPProtocolUDP)
	add("v6 ipv4-in-ipv6 udp 53", m, in4, udp(in4, 40012, 53), payload(10, 'q'))

	// Not IP, and records cut short by a snaplen.
	ps = append(ps, rawPacket{name: "not ip (version 0)", data: make([]byte, 48)})
	n = ip4(a4, b4, layers.IPProtocolUDP)
	long := serialize(t, n, udp(n, 40013, 53), payload(1400, 'c'))
	ps = append(ps, rawPacket{name: "v4 udp 53 cut at 40", data: long[:40], origLen: len(long)})
	m = ip6(a6, b6, layers.IPProtocolTCP)
	long = serialize(t, m, tcp(m, 40014, 443, "S"), payload(200, 'c'))
	ps = append(ps, rawPacket{name: "v6 tcp 443 cut at 50", data: long[:50], origLen: len(long)})
	return ps
}

func writePcap(t *testing.T, ps []rawPacket) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		orig := len(p.data)
		if p.origLen != 0 {
			orig = p.origLen
		}
		ci := gopacket.CaptureInfo{Timestamp: filtertest.Epoch.Add(time.Duration(i) * time.Second), CaptureLength: len(p.data), Length: orig}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// testdata/mixed.pcap holds exactly the packets built here.
func TestMixedPcap(t *testing.T) {
	want := writePcap(t, mixedPackets(t))
	if *update {
		if err := os.WriteFile(mixedPcap, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(mixedPcap)
	if err != nil {
		t.Fatalf("%v (go test -run TestMixedPcap -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what mixedPackets builds: run go test -run TestMixedPcap -update", mixedPcap)
	}
}

package text

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// SummaryOf describes a decoded packet in the words of tcpdump -n (without
// -v): link-layer headers are left out, addresses are numeric, and TCP
// sequence numbers are absolute (tcpdump shows them relative to the first
// packet of a connection it has seen, unless -S).
func SummaryOf(pkt gopacket.Packet, origLen uint32) string {
	ls := pkt.Layers()
	wire := int(origLen)
	for len(ls) > 0 && isLinkLayer(ls[0]) {
		wire -= len(ls[0].LayerContents())
		ls = ls[1:]
	}
	var b strings.Builder
	if el := pkt.ErrorLayer(); len(ls) == 0 && el != nil {
		fmt.Fprintf(&b, "undecoded, length %d: %v", wire, el.Error())
	} else {
		describe(&b, ls, wire)
	}
	return b.String()
}

func isLinkLayer(l gopacket.Layer) bool {
	switch l.(type) {
	case gopacket.LinkLayer, *layers.Dot1Q, *layers.LinuxSLL, *layers.LinuxSLL2, *layers.Loopback:
		return true
	}
	return false
}

// describe writes the summary of a packet that begins with ls[0]; wire is
// its length on the wire from there.
func describe(b *strings.Builder, ls []gopacket.Layer, wire int) {
	if len(ls) == 0 {
		fmt.Fprintf(b, "unknown, length %d", wire)
		return
	}
	switch l := ls[0].(type) {
	case *layers.IPv4:
		if l.SrcIP == nil { // gopacket keeps the layer of a header cut short
			b.WriteString("IP  [|ip]")
			return
		}
		if tl := int(binary.BigEndian.Uint16(l.Contents[2:4])); tl < len(l.Contents) {
			// Such as 0, which GSO and GRO leave in super-packets longer
			// than it holds (BIG TCP). gopacket then takes the length of
			// the data, cut to 16 bits; tcpdump says this.
			fmt.Fprintf(b, "IP bad-len %d", tl)
			return
		}
		if l.FragOffset != 0 { // a fragment without the transport header
			fmt.Fprintf(b, "IP %s > %s: ip-proto-%d", l.SrcIP, l.DstIP, uint8(l.Protocol))
			return
		}
		ipPayload(b, "IP", l.SrcIP, l.DstIP, l.Protocol, int(l.Length)-int(l.IHL)*4, "", ls[1:])
	case *layers.IPv6:
		if l.SrcIP == nil {
			b.WriteString(" [|ip6]") // sic
			return
		}
		ip6(b, l, ls[1:])
	case *layers.ARP:
		arp(b, l, wire)
	case *gopacket.DecodeFailure:
		fmt.Fprintf(b, "undecoded, length %d: %v", wire, l.Error())
	default:
		fmt.Fprintf(b, "%s, length %d", l.LayerType(), wire)
	}
}

// ip6 walks the IPv6 extension headers, which tcpdump names between the
// addresses and the payload.
func ip6(b *strings.Builder, ip *layers.IPv6, rest []gopacket.Layer) {
	length := int(ip.Length)
	if jumbo, ok := jumboLength(ip); ok && length == 0 {
		length = int(jumbo) // a jumbogram, such as a BIG TCP super-packet
	}
	proto := ip.NextHeader
	var ext strings.Builder
loop:
	for len(rest) > 0 {
		switch l := rest[0].(type) {
		case *layers.IPv6HopByHop:
			ext.WriteString("HBH ")
			proto = l.NextHeader
		case *layers.IPv6Destination:
			ext.WriteString("DSTOPT ")
			proto = l.NextHeader
		case *layers.IPv6Routing:
			rt6(&ext, l)
			proto = l.NextHeader
		case *layers.IPv6Fragment:
			fmt.Fprintf(&ext, "frag (%d|%d)", int(l.FragmentOffset)*8, length-8)
			if l.FragmentOffset != 0 { // without the transport header
				fmt.Fprintf(b, "IP6 %s > %s: %s", ip.SrcIP, ip.DstIP, ext.String())
				return
			}
			ext.WriteByte(' ')
			proto = l.NextHeader
		default:
			break loop
		}
		length -= len(rest[0].LayerContents())
		rest = rest[1:]
	}
	ipPayload(b, "IP6", ip.SrcIP, ip.DstIP, proto, length, ext.String(), rest)
}

// jumboLength returns the length in the jumbo payload option (RFC 2675) of
// the packet's hop-by-hop options, if it has one: like the payload length,
// which is 0 then, it counts the bytes after the IPv6 header.
func jumboLength(ip *layers.IPv6) (uint32, bool) {
	if ip.HopByHop == nil {
		return 0, false
	}
	for _, o := range ip.HopByHop.Options {
		if o.OptionType == layers.IPv6HopByHopOptionJumbogram && len(o.OptionData) == 4 {
			return binary.BigEndian.Uint32(o.OptionData), true
		}
	}
	return 0, false
}

// rt6 describes a routing header; for a segment routing header (type 4, as
// SRv6 uses) with its segments, as tcpdump does.
func rt6(b *strings.Builder, r *layers.IPv6Routing) {
	c := r.Contents
	fmt.Fprintf(b, "RT6 (len=%d, type=%d, segleft=%d", len(c)/8-1, r.RoutingType, r.SegmentsLeft)
	if r.RoutingType == 4 && len(c) >= 8 {
		fmt.Fprintf(b, ", last-entry=%d, tag=%x", c[4], binary.BigEndian.Uint16(c[6:8]))
		for i, off := 0, 8; off+16 <= len(c) && i <= int(c[4]); i, off = i+1, off+16 {
			fmt.Fprintf(b, ", [%d]%s", i, net.IP(c[off:off+16]))
		}
	}
	b.WriteString(") ")
}

// ipPayload writes what follows an IP header: "src > dst: " and the
// payload's summary, or, for TCP and UDP, addresses with ports. ext is what
// the IPv6 extension headers said; length is the payload length the IP
// header gives; rest are the layers after the IP header.
func ipPayload(b *strings.Builder, family string, src, dst net.IP, proto layers.IPProtocol, length int, ext string, rest []gopacket.Layer) {
	var next gopacket.Layer
	if len(rest) > 0 {
		next = rest[0]
	}
	if f, ok := next.(*gopacket.Fragment); ok {
		// tcpdump reads the transport header of a first fragment;
		// gopacket leaves the fragment undecoded.
		rest = gopacket.NewPacket(f.Payload(), proto.LayerType(), gopacket.DecodeOptions{NoCopy: true}).Layers()
		next = nil
		if len(rest) > 0 {
			next = rest[0]
		}
	}
	ports := func(sp, dp int) {
		if ext == "" {
			fmt.Fprintf(b, "%s %s.%d > %s.%d: ", family, src, sp, dst, dp)
		} else {
			fmt.Fprintf(b, "%s %s > %s: %s%d > %d: ", family, src, dst, ext, sp, dp)
		}
	}
	if t, ok := next.(*layers.TCP); ok && len(t.Contents) < 20 {
		next = &gopacket.DecodeFailure{} // gopacket decodes a cut TCP header as zeros
	}
	switch t := next.(type) {
	case *layers.TCP:
		ports(int(t.SrcPort), int(t.DstPort))
		tcp(b, t, length-int(t.DataOffset)*4)
		return
	case *layers.UDP:
		ports(int(t.SrcPort), int(t.DstPort))
		fmt.Fprintf(b, "UDP, length %d", int(t.Length)-8)
		return
	}
	fmt.Fprintf(b, "%s %s > %s: %s", family, src, dst, ext)
	switch t := next.(type) {
	case *layers.ICMPv4:
		fmt.Fprintf(b, "ICMP %s, length %d", icmp4(t), length)
	case *layers.ICMPv6:
		fmt.Fprintf(b, "ICMP6, %s, length %d", icmp6(t), length)
	case *layers.IPv4, *layers.IPv6:
		describe(b, rest, length)
	case *gopacket.DecodeFailure:
		if name, ok := truncatedNames[proto]; ok {
			fmt.Fprintf(b, "[|%s]", name)
			return
		}
		fmt.Fprintf(b, " ip-proto-%d %d", uint8(proto), length)
	default:
		fmt.Fprintf(b, " ip-proto-%d %d", uint8(proto), length)
	}
}

// truncatedNames name the protocols whose headers tcpdump reports cut short.
var truncatedNames = map[layers.IPProtocol]string{
	layers.IPProtocolTCP: "tcp", layers.IPProtocolUDP: "udp", layers.IPProtocolICMPv4: "icmp", layers.IPProtocolICMPv6: "icmp6",
}

// tcp writes a TCP segment as tcpdump does; length is its payload length.
func tcp(b *strings.Builder, t *layers.TCP, length int) {
	fmt.Fprintf(b, "Flags [%s]", tcpFlags(t))
	if length > 0 {
		fmt.Fprintf(b, ", seq %d:%d", t.Seq, t.Seq+uint32(length))
	} else if t.SYN || t.FIN || t.RST {
		fmt.Fprintf(b, ", seq %d", t.Seq)
	}
	if t.ACK {
		fmt.Fprintf(b, ", ack %d", t.Ack)
	}
	fmt.Fprintf(b, ", win %d", t.Window)
	if t.URG {
		fmt.Fprintf(b, ", urg %d", t.Urgent)
	}
	if len(t.Options) > 0 {
		b.WriteString(", options [")
		for i, o := range t.Options {
			if i > 0 {
				b.WriteByte(',')
			}
			tcpOption(b, o)
		}
		b.WriteByte(']')
	}
	fmt.Fprintf(b, ", length %d", max(length, 0))
}

func tcpOption(b *strings.Builder, o layers.TCPOption) {
	d := o.OptionData
	switch {
	case o.OptionType == layers.TCPOptionKindEndList:
		b.WriteString("eol")
	case o.OptionType == layers.TCPOptionKindNop:
		b.WriteString("nop")
	case o.OptionType == layers.TCPOptionKindMSS && len(d) == 2:
		fmt.Fprintf(b, "mss %d", binary.BigEndian.Uint16(d))
	case o.OptionType == layers.TCPOptionKindWindowScale && len(d) == 1:
		fmt.Fprintf(b, "wscale %d", d[0])
	case o.OptionType == layers.TCPOptionKindSACKPermitted:
		b.WriteString("sackOK")
	case o.OptionType == layers.TCPOptionKindSACK && len(d)%8 == 0:
		fmt.Fprintf(b, "sack %d", len(d)/8)
		for i := 0; i < len(d); i += 8 {
			fmt.Fprintf(b, " {%d:%d}", binary.BigEndian.Uint32(d[i:]), binary.BigEndian.Uint32(d[i+4:]))
		}
	case o.OptionType == layers.TCPOptionKindTimestamps && len(d) == 8:
		fmt.Fprintf(b, "TS val %d ecr %d", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]))
	default:
		fmt.Fprintf(b, "opt-%d:%x", uint8(o.OptionType), d)
	}
}

func tcpFlags(t *layers.TCP) string {
	var f []byte
	for _, x := range []struct {
		on bool
		c  byte
	}{{t.FIN, 'F'}, {t.SYN, 'S'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.ACK, '.'}, {t.URG, 'U'}, {t.ECE, 'E'}, {t.CWR, 'W'}} {
		if x.on {
			f = append(f, x.c)
		}
	}
	if len(f) == 0 {
		return "none"
	}
	return string(f)
}

// icmp4Names are tcpdump's names of ICMP types.
var icmp4Names = map[uint8]string{
	0: "echo reply", 3: "unreachable", 4: "source quench", 5: "redirect", 8: "echo request",
	9: "router advertisement", 10: "router solicitation", 11: "time exceeded", 12: "parameter problem",
	13: "time stamp request", 14: "time stamp reply", 15: "information request", 16: "information reply",
	17: "address mask request", 18: "address mask reply",
}

// icmp4 describes an ICMP message as tcpdump does for the usual ones:
// echo, the unreachables a traceroute meets, time exceeded.
func icmp4(ic *layers.ICMPv4) string {
	typ, code := ic.TypeCode.Type(), ic.TypeCode.Code()
	switch typ {
	case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
		return fmt.Sprintf("%s, id %d, seq %d", icmp4Names[typ], ic.Id, ic.Seq)
	case layers.ICMPv4TypeParameterProblem:
		return fmt.Sprintf("parameter problem - octet %d", ic.Id>>8)
	case layers.ICMPv4TypeTimeExceeded:
		switch code {
		case 0:
			return "time exceeded in-transit"
		case 1:
			return "ip reassembly time exceeded"
		}
	case layers.ICMPv4TypeDestinationUnreachable:
		inner := ic.Payload
		if len(inner) < 20 {
			break
		}
		dst := net.IP(inner[16:20])
		switch code {
		case 0:
			return fmt.Sprintf("net %s unreachable", dst)
		case 1:
			return fmt.Sprintf("host %s unreachable", dst)
		case 2:
			return fmt.Sprintf("%s protocol %d unreachable", dst, inner[9])
		case 3:
			hl := int(inner[0]&0xf) * 4
			if p := layers.IPProtocol(inner[9]); (p == layers.IPProtocolUDP || p == layers.IPProtocolTCP) && len(inner) >= hl+4 {
				return fmt.Sprintf("%s %s port %d unreachable", dst, strings.ToLower(p.String()), binary.BigEndian.Uint16(inner[hl+2:]))
			}
		case 13:
			return fmt.Sprintf("host %s unreachable - admin prohibited filter", dst)
		}
	}
	if name, ok := icmp4Names[typ]; ok {
		return name
	}
	return fmt.Sprintf("type-#%d", typ)
}

// icmp6Names are tcpdump's names of ICMPv6 types.
var icmp6Names = map[uint8]string{
	1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit", 4: "parameter problem",
	128: "echo request", 129: "echo reply", 130: "multicast listener query", 131: "multicast listener report",
	132: "multicast listener done", 133: "router solicitation", 134: "router advertisement",
	135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect",
	143: "multicast listener report v2",
}

// icmp6 describes an ICMPv6 message as tcpdump does for the usual ones.
func icmp6(ic *layers.ICMPv6) string {
	typ, code := ic.TypeCode.Type(), ic.TypeCode.Code()
	name, ok := icmp6Names[typ]
	if !ok {
		return "icmp6 type-#" + strconv.Itoa(int(typ))
	}
	p := ic.Payload // after type, code and checksum
	switch typ {
	case layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply:
		if len(p) >= 4 {
			return fmt.Sprintf("%s, id %d, seq %d", name, binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]))
		}
	case layers.ICMPv6TypePacketTooBig:
		if len(p) >= 4 {
			return fmt.Sprintf("%s, mtu %d", name, binary.BigEndian.Uint32(p))
		}
	case layers.ICMPv6TypeDestinationUnreachable:
		if len(p) < 4+40 {
			break
		}
		inner := p[4:]
		dst := net.IP(inner[24:40])
		if code == 4 {
			if nh := layers.IPProtocol(inner[6]); (nh == layers.IPProtocolUDP || nh == layers.IPProtocolTCP) && len(inner) >= 44 {
				return fmt.Sprintf("%s, unreachable port, %s %s port %d", name, dst, strings.ToLower(nh.String()), binary.BigEndian.Uint16(inner[42:]))
			}
		}
		// tcpdump's words, with its two spaces before "unreachable prohibited".
		if why, ok := map[uint8]string{0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope", 3: "unreachable address", 4: "unreachable port"}[code]; ok {
			return fmt.Sprintf("%s, %s %s", name, why, dst)
		}
	case layers.ICMPv6TypeTimeExceeded:
		if len(p) >= 4+40 && code == 0 {
			return fmt.Sprintf("%s for %s", name, net.IP(p[4+24:4+40]))
		}
	case layers.ICMPv6TypeNeighborSolicitation:
		if len(p) >= 20 {
			return fmt.Sprintf("%s, who has %s", name, net.IP(p[4:20]))
		}
	case layers.ICMPv6TypeNeighborAdvertisement:
		if len(p) >= 20 {
			return fmt.Sprintf("%s, tgt is %s", name, net.IP(p[4:20]))
		}
	case 143:
		if len(p) >= 4 {
			return fmt.Sprintf("%s, %d group record(s)", name, binary.BigEndian.Uint16(p[2:]))
		}
	}
	return name
}

// arp describes an ARP packet as tcpdump does.
func arp(b *strings.Builder, a *layers.ARP, wire int) {
	switch a.Operation {
	case layers.ARPRequest:
		fmt.Fprintf(b, "ARP, Request who-has %s tell %s, length %d", net.IP(a.DstProtAddress), net.IP(a.SourceProtAddress), wire)
	case layers.ARPReply:
		fmt.Fprintf(b, "ARP, Reply %s is-at %s, length %d", net.IP(a.SourceProtAddress), net.HardwareAddr(a.SourceHwAddress), wire)
	default:
		fmt.Fprintf(b, "ARP, opcode %d, length %d", a.Operation, wire)
	}
}

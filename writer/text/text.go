// Package text prints packets one line each, in the manner of tcpdump:
//
//	12:34:56.789012 lwt_xmit IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id 7, seq 1, length 64
package text

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/writer/sample"
)

// Printer writes one line per sample.
type Printer struct {
	w           *bufio.Writer
	attachments []sample.Attachment
	verbose     bool
	unbuffered  bool
}

// NewPrinter prints to w. With verbose, each line also carries the sample's
// attachment and metadata.
func NewPrinter(w io.Writer, attachments []sample.Attachment, verbose, unbuffered bool) *Printer {
	return &Printer{w: bufio.NewWriter(w), attachments: attachments, verbose: verbose, unbuffered: unbuffered}
}

// WriteSample prints one line for s.
func (p *Printer) WriteSample(s *sample.Sample) error {
	var b strings.Builder
	b.WriteString(time.Unix(0, s.Time).Format("15:04:05.000000"))
	b.WriteByte(' ')
	b.WriteString(s.Hook.String())
	b.WriteByte(' ')
	b.WriteString(Summary(s.Data, s.OrigLen))
	if p.verbose && int(s.Attachment) < len(p.attachments) {
		a := p.attachments[s.Attachment]
		fmt.Fprintf(&b, " [route=%s dev=%s cookie=%#x ifindex=%d cpu=%d mark=%#x]", a.Route, a.Dev, s.Cookie, s.Ifindex, s.CPU, s.Mark)
	}
	b.WriteByte('\n')
	if _, err := p.w.WriteString(b.String()); err != nil {
		return err
	}
	if p.unbuffered {
		return p.w.Flush()
	}
	return nil
}

// Flush writes out buffered lines.
func (p *Printer) Flush(time.Time) error { return p.w.Flush() }

// Summary describes a raw IP packet in tcpdump's words:
// "IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id 7, seq 1, length 64".
func Summary(data []byte, origLen uint32) string {
	var first gopacket.Decoder = layers.LayerTypeIPv4
	if len(data) > 0 && data[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	pkt := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	return SummaryOf(pkt, origLen)
}

// SummaryOf describes a decoded packet in tcpdump's words.
func SummaryOf(pkt gopacket.Packet, origLen uint32) string {
	var src, dst, family string
	var payloadLen int
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		family, src, dst = "IP", ip.SrcIP.String(), ip.DstIP.String()
		payloadLen = int(ip.Length) - int(ip.IHL)*4
	case *layers.IPv6:
		family, src, dst = "IP6", ip.SrcIP.String(), ip.DstIP.String()
		payloadLen = int(ip.Length)
	default:
		if el := pkt.ErrorLayer(); el != nil {
			return fmt.Sprintf("[|ip] length %d: %v", origLen, el.Error())
		}
		return fmt.Sprintf("unknown, length %d", origLen)
	}
	switch t := pkt.TransportLayer().(type) {
	case *layers.UDP:
		return fmt.Sprintf("%s %s.%d > %s.%d: UDP, length %d", family, src, t.SrcPort, dst, t.DstPort, int(t.Length)-8)
	case *layers.TCP:
		return fmt.Sprintf("%s %s.%d > %s.%d: Flags [%s], seq %d, ack %d, win %d, length %d",
			family, src, t.SrcPort, dst, t.DstPort, tcpFlags(t), t.Seq, t.Ack, t.Window, len(t.Payload))
	}
	if l := pkt.Layer(layers.LayerTypeICMPv6); l != nil {
		return fmt.Sprintf("%s %s > %s: ICMP6, %s, length %d", family, src, dst, icmp6(pkt, l.(*layers.ICMPv6)), payloadLen)
	}
	if l := pkt.Layer(layers.LayerTypeICMPv4); l != nil {
		ic := l.(*layers.ICMPv4)
		desc := strings.ToLower(ic.TypeCode.String())
		switch ic.TypeCode.Type() {
		case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
			desc = fmt.Sprintf("%s, id %d, seq %d", desc, ic.Id, ic.Seq)
		}
		return fmt.Sprintf("%s %s > %s: ICMP %s, length %d", family, src, dst, desc, payloadLen)
	}
	if l := pkt.Layer(layers.LayerTypeIPv6Routing); l != nil {
		r := l.(*layers.IPv6Routing)
		return fmt.Sprintf("%s %s > %s: RT6 (type %d, segleft %d), length %d", family, src, dst, r.RoutingType, r.SegmentsLeft, payloadLen)
	}
	return fmt.Sprintf("%s %s > %s: length %d", family, src, dst, payloadLen)
}

func icmp6(pkt gopacket.Packet, ic *layers.ICMPv6) string {
	switch ic.TypeCode.Type() {
	case layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply:
		name := "echo request"
		if ic.TypeCode.Type() == layers.ICMPv6TypeEchoReply {
			name = "echo reply"
		}
		if e, ok := pkt.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok {
			return fmt.Sprintf("%s, id %d, seq %d", name, e.Identifier, e.SeqNumber)
		}
		return name
	}
	return strings.ToLower(ic.TypeCode.String())
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

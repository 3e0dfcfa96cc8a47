// Package writertest makes captures as lwtdump writes them, with fixed
// contents and time stamps, for tests of the code that reads them back.
package writertest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer"
)

// Start is when the capture of Capture started: 2026-03-01 12:00:00 UTC.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Section is the provenance Capture writes.
var Section = writer.Section{
	Application: "lwtdump 0.1.0-test",
	OS:          "Linux 6.18.0",
	Hardware:    "x86_64",
	Comment:     "command=lwtdump -i 2001:db8:20::/48 -i 203.0.113.0/24 --hook in,xmit -w test.pcapng host=r1 start=2026-03-01T12:00:00Z netns=r1",
}

// Attachments are the capture's attachments: lwt_in and lwt_xmit of an IPv6
// and an IPv4 route.
func Attachments() []sample.Attachment {
	var as []sample.Attachment
	for _, r := range []string{"2001:db8:20::/48", "203.0.113.0/24"} {
		for _, h := range []sample.Hook{sample.HookIn, sample.HookXmit} {
			as = append(as, sample.Attachment{Hook: h, Cookie: 0xbeef, Route: r, Dev: "r1_h2", Table: 254, Netns: "r1", Snaplen: 262144})
		}
	}
	return as
}

// Counters are the kernel counters the capture's statistics report: every
// attachment saw 2 packets more than it delivered, and dropped them.
func Counters(delivered func(uint32) uint64) func(uint32) (sample.Counters, error) {
	return func(a uint32) (sample.Counters, error) {
		d := delivered(a)
		return sample.Counters{Seen: d + 2, Dropped: 2}, nil
	}
}

// Samples are the capture's packets, 1 ms apart from Start + 1 s: pings
// over the IPv6 route, seen at lwt_in and lwt_xmit, UDP and TCP, an SRv6
// packet, a ping over the IPv4 route, and a packet cut short by the snap
// length. Each call builds them anew.
func Samples() []sample.Sample {
	h1, h2 := net.ParseIP("2001:db8:1::1"), net.ParseIP("2001:db8:20::1")
	v4h1, v4h2 := net.ParseIP("192.0.2.1").To4(), net.ParseIP("203.0.113.1").To4()
	payload := gopacket.Payload(bytes.Repeat([]byte("lwtdump!"), 7)) // 56 bytes, as ping sends
	echo6 := func(seq uint16) []byte {
		ip := &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: layers.IPProtocolICMPv6, SrcIP: h1, DstIP: h2}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		icmp.SetNetworkLayerForChecksum(ip)
		return serialize(ip, icmp, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: seq}, payload)
	}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 50000}
	ip6udp := &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: layers.IPProtocolUDP, SrcIP: h1, DstIP: h2}
	udp.SetNetworkLayerForChecksum(ip6udp)
	tcp := &layers.TCP{SrcPort: 40001, DstPort: 50001, Seq: 1000, SYN: true, Window: 64240}
	ip4tcp := &layers.IPv4{Version: 4, TTL: 63, Id: 1, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: v4h1, DstIP: v4h2}
	tcp.SetNetworkLayerForChecksum(ip4tcp)
	// The SRv6 packet's ICMPv6 checksum is left 0: it would need the
	// final segment in the pseudo header.
	srv6 := serialize(&layers.IPv6{Version: 6, HopLimit: 63, NextHeader: layers.IPProtocolIPv6Routing, SrcIP: h1, DstIP: h2},
		gopacket.Payload(srv6Header(h2, net.ParseIP("2001:db8:2::1"))),
		gopacket.Payload([]byte{byte(layers.ICMPv6TypeEchoRequest), 0, 0, 0, 0, 9, 0, 1}), payload)
	echo4 := serialize(&layers.IPv4{Version: 4, TTL: 63, Id: 2, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolICMPv4, SrcIP: v4h1, DstIP: v4h2},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 8, Seq: 1}, payload)
	long := echo6(3)

	type pkt struct {
		att  uint32
		data []byte
		snap int // bytes kept, 0 for all
	}
	pkts := []pkt{
		{0, echo6(1), 0}, {1, echo6(1), 0},
		{0, echo6(2), 0}, {1, echo6(2), 0},
		{1, serialize(ip6udp, udp, gopacket.Payload("hello, lwtdump")), 0},
		{1, srv6, 0},
		{3, serialize(ip4tcp, tcp), 0},
		{3, echo4, 0},
		{1, long, 60},
	}
	atts := Attachments()
	out := make([]sample.Sample, len(pkts))
	for i, p := range pkts {
		a := atts[p.att]
		data := p.data
		if p.snap > 0 {
			data = data[:p.snap]
		}
		proto := uint16(0x86dd)
		if data[0]>>4 == 4 {
			proto = 0x0800
		}
		ifindex := uint32(3) // r1_h2: lwt_xmit's output device
		if a.Hook == sample.HookIn {
			ifindex = 2 // r1_h1: lwt_in's input device
		}
		out[i] = sample.Sample{
			Attachment: p.att, Hook: a.Hook, Cookie: a.Cookie, Ifindex: ifindex, CPU: uint32(i % 2), Mark: 0,
			Protocol: proto, Time: Start.Add(time.Second + time.Duration(i)*time.Millisecond + time.Duration(i)*1234).UnixNano(),
			OrigLen: uint32(len(p.data)), Data: data,
		}
	}
	return out
}

// srv6Header is an IPv6 Segment Routing Header (routing type 4) with the
// segments in reverse order, segments left 1, next header ICMPv6.
func srv6Header(segs ...net.IP) []byte {
	b := []byte{byte(layers.IPProtocolICMPv6), byte(2 * len(segs)), 4, 1, byte(len(segs) - 1), 0, 0, 0}
	for _, s := range segs {
		b = append(b, s.To16()...)
	}
	return b
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(fmt.Sprintf("writertest: serialize: %v", err))
	}
	return bytes.Clone(buf.Bytes())
}

// End is when the capture of Capture ended: its statistics blocks carry it.
var End = Start.Add(time.Minute)

// Capture writes a complete capture to out: section header, an interface
// per attachment, Samples, and statistics.
func Capture(out io.Writer) error {
	var w *writer.Writer
	w, err := writer.New(writer.Stream(out), writer.Options{
		Section:     Section,
		Attachments: Attachments(),
		Counters:    Counters(func(a uint32) uint64 { return w.Delivered(a) }),
		Start:       Start,
		Now:         func() time.Time { return End },
	})
	if err != nil {
		return err
	}
	for _, s := range Samples() {
		if err := w.WriteSample(&s); err != nil {
			return err
		}
	}
	return w.Close()
}

// Bytes is the capture of Capture.
func Bytes() []byte {
	var b bytes.Buffer
	if err := Capture(&b); err != nil {
		panic(fmt.Sprintf("writertest: %v", err))
	}
	return b.Bytes()
}

// Rotated writes the capture of Capture as lwtdump writes a rotated one:
// the Samples spread over files of perFile packets each, every file a
// section of the run whose header ends with "run=RUN seq=N". It returns
// the files' bytes in sequence order.
func Rotated(run string, perFile int) [][]byte {
	out := &rolling{every: perFile}
	var w *writer.Writer
	w, err := writer.New(out, writer.Options{
		Section:     Section,
		Attachments: Attachments(),
		Counters:    Counters(func(a uint32) uint64 { return w.Delivered(a) }),
		Start:       Start,
		Now:         func() time.Time { return End },
		Run:         run,
	})
	if err == nil {
		for _, s := range Samples() {
			if err = w.WriteSample(&s); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		panic(fmt.Sprintf("writertest: %v", err))
	}
	var files [][]byte
	for _, f := range out.files {
		files = append(files, f.Bytes())
	}
	return files
}

// rolling is a writer.Output that starts a new file every every packets.
type rolling struct {
	every, packets int
	files          []*bytes.Buffer
}

func (r *rolling) Write(p []byte) (int, error) {
	if len(r.files) == 0 {
		r.files = append(r.files, &bytes.Buffer{})
	}
	return r.files[len(r.files)-1].Write(p)
}

func (r *rolling) RolloverDue(time.Time, int64) bool {
	r.packets++
	return r.packets > 1 && (r.packets-1)%r.every == 0
}

func (r *rolling) Rollover() error {
	r.files = append(r.files, &bytes.Buffer{})
	return nil
}

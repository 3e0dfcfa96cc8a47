// Package text prints packets one line each, in the manner of tcpdump:
//
//	12:34:56.789012 lwt_xmit IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id 7, seq 1, length 64
//
// It prints the samples of a live capture and the records of a capture read
// back, with tcpdump's time formats (-t to -ttttt), hex and ASCII dump (-X),
// ASCII (-A) and, verbose, the interface and comment of each packet and gopacket's
// layer-by-layer dump.
package text

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/lwtdump/lwtdump/writer"
)

// TimeFormat is how a line begins. Its values are the number of -t flags
// that choose it in tcpdump.
type TimeFormat int

// The time formats.
const (
	TimeOfDay      TimeFormat = iota // 12:00:01.000000, the default
	TimeNone                         // -t: no time stamp
	TimeUnix                         // -tt: seconds since the epoch, 1772366401.000000
	TimeDelta                        // -ttt: since the previous packet, " 00:00:00.001001"
	TimeDate                         // -tttt: 2026-03-01 12:00:01.000000
	TimeSinceFirst                   // -ttttt: since the first packet
)

// Options change what a Printer prints.
type Options struct {
	Time     TimeFormat
	Location *time.Location // of TimeOfDay and TimeDate; nil for local time
	// Verbose 1 adds a line with the packet's interface and one with each
	// comment; 2 also gopacket's layer-by-layer dump of the packet.
	Verbose int
	// Hex adds a hex and ASCII dump of the packet from its network header,
	// as tcpdump -X prints it.
	Hex bool
	// ASCII adds the packet from its network header in ASCII, as tcpdump -A
	// prints it; Hex wins.
	ASCII      bool
	Unbuffered bool // write every packet out at once
}

// Packet is what the Printer prints for one packet.
type Packet struct {
	Time        int64  // nanoseconds since the epoch
	Hook        string // printed before the summary ("lwt_xmit"); "" for none
	LinkType    layers.LinkType
	Data        []byte
	OrigLen     uint32
	Interface   string   // name of the packet's interface, printed with Verbose
	Description string   // of the interface
	Comments    [][]byte // printed with Verbose
}

// Printer writes one line per packet, and more with Options. It is not safe
// for concurrent use.
type Printer struct {
	w           *bufio.Writer
	attachments []sample.Attachment
	opts        Options
	first, prev int64 // microseconds, for TimeDelta and TimeSinceFirst
	seen        bool
	line        []byte
	comment     []byte
	comments    [1][]byte
	pkt         Packet
}

// NewPrinter prints to w. With verbose, each line is followed by the
// sample's interface (attachment) and comment.
func NewPrinter(w io.Writer, attachments []sample.Attachment, verbose, unbuffered bool) *Printer {
	opts := Options{Unbuffered: unbuffered}
	if verbose {
		opts.Verbose = 1
	}
	return NewPrinterWithOptions(w, attachments, opts)
}

// NewPrinterWithOptions prints to w as opts say. attachments name the
// interfaces of samples; WritePacket and WriteRecord do not need them.
func NewPrinterWithOptions(w io.Writer, attachments []sample.Attachment, opts Options) *Printer {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	return &Printer{w: bufio.NewWriter(w), attachments: attachments, opts: opts}
}

// WriteSample prints a sample of a live capture.
func (p *Printer) WriteSample(s *sample.Sample) error {
	p.pkt = Packet{Time: s.Time, Hook: s.Hook.String(), LinkType: layers.LinkTypeRaw, Data: s.Data, OrigLen: s.OrigLen}
	if p.opts.Verbose > 0 && int(s.Attachment) < len(p.attachments) {
		a := &p.attachments[s.Attachment]
		p.comment = writer.AppendComment(p.comment[:0], s, a)
		p.comments[0] = p.comment
		p.pkt.Interface, p.pkt.Description, p.pkt.Comments = a.Name(), writer.Description(*a), p.comments[:]
	}
	return p.WritePacket(&p.pkt)
}

// WriteRecord prints a packet read back from a capture; it prints nothing
// for other records. The hook is the one lwtdump wrote for the packet, if
// any.
func (p *Printer) WriteRecord(rec *pcapread.Record) error {
	if rec.Kind != pcapread.KindPacket {
		return nil
	}
	p.pkt = Packet{Time: rec.Time, Data: rec.Data, OrigLen: rec.OrigLen, Comments: rec.Comments}
	if m, ok := rec.Meta(); ok && m.Hook != 0 {
		p.pkt.Hook = m.Hook.String()
	}
	if ifc := rec.Interface; ifc != nil {
		p.pkt.LinkType = ifc.LinkType
		if ifc.Name != "" || ifc.Description != "" {
			p.pkt.Interface, p.pkt.Description = ifc.Label(), ifc.Description
		}
	}
	return p.WritePacket(&p.pkt)
}

// WritePacket prints one packet.
func (p *Printer) WritePacket(pkt *Packet) error {
	b := p.appendTime(p.line[:0], pkt.Time)
	if pkt.Hook != "" {
		b = append(b, pkt.Hook...)
		b = append(b, ' ')
	}
	decoded := decode(pkt.Data, pkt.LinkType, p.opts.Verbose >= 2)
	b = append(b, SummaryOf(decoded, pkt.OrigLen)...)
	b = append(b, '\n')
	if p.opts.Verbose > 0 {
		if pkt.Interface != "" {
			b = append(b, "    interface "...)
			b = append(b, pkt.Interface...)
			if pkt.Description != "" {
				b = append(b, " ("...)
				b = append(b, pkt.Description...)
				b = append(b, ')')
			}
			b = append(b, '\n')
		}
		for _, c := range pkt.Comments {
			b = append(b, "    comment "...)
			b = strconv.AppendQuote(b, string(c))
			b = append(b, '\n')
		}
	}
	if p.opts.Hex {
		b = AppendHex(b, pkt.Data[linkHeaderLen(decoded):])
	} else if p.opts.ASCII {
		b = AppendASCII(b, pkt.Data[linkHeaderLen(decoded):])
	}
	if p.opts.Verbose >= 2 {
		b = append(b, decoded.Dump()...)
	}
	p.line = b
	if _, err := p.w.Write(b); err != nil {
		return err
	}
	if p.opts.Unbuffered {
		return p.w.Flush()
	}
	return nil
}

// Flush writes out buffered lines.
func (p *Printer) Flush(time.Time) error { return p.w.Flush() }

// appendTime appends the time stamp and a space as the time format says.
// Like tcpdump, it shows microseconds, cut rather than rounded.
func (p *Printer) appendTime(b []byte, ns int64) []byte {
	us := floorDiv(ns, 1000)
	if !p.seen {
		p.first, p.prev, p.seen = us, us, true
	}
	switch p.opts.Time {
	case TimeNone:
		return b
	case TimeUnix:
		b = strconv.AppendInt(b, floorDiv(us, 1e6), 10)
		b = append(b, '.')
		b = appendPadded(b, us-floorDiv(us, 1e6)*1e6, 6)
	case TimeDelta:
		b = appendDelta(b, us-p.prev)
	case TimeSinceFirst:
		b = appendDelta(b, us-p.first)
	case TimeDate:
		b = time.UnixMicro(us).In(p.opts.Location).AppendFormat(b, "2006-01-02 15:04:05.000000")
	default:
		b = time.UnixMicro(us).In(p.opts.Location).AppendFormat(b, "15:04:05.000000")
	}
	p.prev = us
	return append(b, ' ')
}

// appendDelta appends a time difference as tcpdump does: a sign (a space
// when not negative), then hours:minutes:seconds.microseconds.
func appendDelta(b []byte, us int64) []byte {
	sign := byte(' ')
	if us < 0 {
		sign, us = '-', -us
	}
	b = append(b, sign)
	b = appendPadded(b, us/3600e6, 2)
	b = append(b, ':')
	b = appendPadded(b, us/60e6%60, 2)
	b = append(b, ':')
	b = appendPadded(b, us/1e6%60, 2)
	b = append(b, '.')
	return appendPadded(b, us%1e6, 6)
}

func appendPadded(b []byte, v int64, width int) []byte {
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// AppendHex appends a hex and ASCII dump of data as tcpdump -X prints it:
//
//	0x0000:  6000 0000 0040 3a3f 2001 0db8 0001 0000  `....@:?........
//
// one tab-indented line per 16 bytes.
func AppendHex(b []byte, data []byte) []byte {
	const hexdigits = "0123456789abcdef"
	for off := 0; off < len(data); off += 16 {
		line := data[off:min(off+16, len(data))]
		b = append(b, "\t0x"...)
		if off > 0xffff { // more digits, as printf's %04x gives
			b = strconv.AppendUint(b, uint64(off>>16), 16)
		}
		b = append(b, hexdigits[off>>12&0xf], hexdigits[off>>8&0xf], hexdigits[off>>4&0xf], hexdigits[off&0xf])
		b = append(b, ": "...)
		n := 0 // hex characters written, for the padding to the ASCII column
		for i, c := range line {
			if i%2 == 0 {
				b = append(b, ' ')
				n++
			}
			b = append(b, hexdigits[c>>4], hexdigits[c&0xf])
			n += 2
		}
		for ; n < 40; n++ {
			b = append(b, ' ')
		}
		b = append(b, "  "...)
		for _, c := range line {
			if c < 0x21 || c > 0x7e {
				c = '.'
			}
			b = append(b, c)
		}
		b = append(b, '\n')
	}
	return b
}

// AppendASCII appends data as tcpdump -A prints it, then a newline: every
// printable character, tab, space and newline as it is, a carriage return
// before a newline or among the last two bytes left out, any other byte as
// a dot.
func AppendASCII(b []byte, data []byte) []byte {
	for i, c := range data {
		switch {
		case c == '\r':
			if left := len(data) - i - 1; left > 1 && data[i+1] != '\n' {
				b = append(b, '.')
			}
		case c >= 0x21 && c <= 0x7e, c == '\t', c == ' ', c == '\n':
			b = append(b, c)
		default:
			b = append(b, '.')
		}
	}
	return append(b, '\n')
}

// decode decodes a packet, lazily unless for Dump (full).
func decode(data []byte, lt layers.LinkType, full bool) gopacket.Packet {
	return gopacket.NewPacket(data, decoderOf(lt), gopacket.DecodeOptions{Lazy: !full, NoCopy: true})
}

// decoderOf is the decoder of a link type. gopacket has none for
// LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229), in which lwtdump writes the
// packets of IPv4 and IPv6 routes: they are raw IP, and like tcpdump, which
// prints them as it prints LINKTYPE_RAW, the decoder goes by the version of
// each packet's header.
func decoderOf(lt layers.LinkType) gopacket.Decoder {
	if lt == layers.LinkTypeIPv4 || lt == layers.LinkTypeIPv6 {
		return layers.LinkTypeRaw
	}
	return lt
}

// linkHeaderLen is the length of the packet's link-layer header, which
// tcpdump -X leaves out of its dump.
func linkHeaderLen(pkt gopacket.Packet) int {
	if ll := pkt.LinkLayer(); ll != nil && len(pkt.Layers()) > 0 && pkt.Layers()[0] == ll {
		return len(ll.LayerContents())
	}
	return 0
}

// Summary describes a raw IP packet in tcpdump's words:
// "IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id 7, seq 1, length 64".
func Summary(data []byte, origLen uint32) string {
	return SummaryOf(decode(data, layers.LinkTypeRaw, false), origLen)
}

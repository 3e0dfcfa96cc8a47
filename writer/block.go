package writer

import (
	"encoding/binary"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

var le = binary.LittleEndian

func pad4(n int) int { return (4 - n&3) & 3 }

// appendEPB appends an Enhanced Packet Block carrying one comment and the
// epb_flags word. gopacket's pcapgo writes the same bytes (a test checks it)
// but allocates several times per packet; this is the hot path, so it is
// written here without allocation. Timestamps are in nanoseconds
// (if_tsresol 9).
func appendEPB(b []byte, iface uint32, ts int64, origLen uint32, data []byte, comment []byte, flags uint32) []byte {
	opts := optionLen(len(comment)) + optionLen(4) + 4
	b, length := appendEPBHead(b, iface, ts, origLen, data, opts)
	b = appendOption(b, pcapng.OptComment, comment)
	b = appendU32Option(b, pcapng.OptEPBFlags, flags)
	b = appendOptionHeader(b, pcapng.OptEnd, 0)
	return le.AppendUint32(b, length)
}

// appendEPBHead appends an Enhanced Packet Block up to its options, which
// take optsLen bytes (end of options included), and returns the block length
// the caller appends after the options.
func appendEPBHead(b []byte, iface uint32, ts int64, origLen uint32, data []byte, optsLen int) ([]byte, uint32) {
	length := uint32(28 + len(data) + pad4(len(data)) + optsLen + 4)
	b = le.AppendUint32(b, pcapng.BlockEPB)
	b = le.AppendUint32(b, length)
	b = le.AppendUint32(b, iface)
	b = le.AppendUint32(b, uint32(uint64(ts)>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, origLen)
	b = append(b, data...)
	return appendZeros(b, pad4(len(data))), length
}

// NoValue marks a counter of Stats that is unknown: its option is left out.
const NoValue = ^uint64(0)

// Stats are the contents of an Interface Statistics Block. Counters equal to
// NoValue and times equal to 0 are left out.
type Stats struct {
	Time         int64    // when the counters were read, nanoseconds since the epoch
	Start, End   int64    // isb_starttime, isb_endtime
	Received     uint64   // isb_ifrecv: packets the hook saw
	Dropped      uint64   // isb_ifdrop: packets lost before user space
	FilterAccept uint64   // isb_filteraccept: packets the filter expression kept
	OSDropped    uint64   // isb_osdrop
	Delivered    uint64   // isb_usrdeliv: packets written
	Comments     []string // one opt_comment each
}

// appendISB appends an Interface Statistics Block with timestamps in
// nanoseconds. pcapgo's WriteInterfaceStats cannot write isb_filteraccept or
// isb_usrdeliv, which lwtdump needs to show what a filter kept and what
// reached the file.
func appendISB(b []byte, iface uint32, s *Stats) []byte {
	counters := [...]struct {
		code uint16
		v    uint64
	}{
		{pcapng.OptISBIfRecv, s.Received}, {pcapng.OptISBIfDrop, s.Dropped}, {pcapng.OptISBFilterAccept, s.FilterAccept},
		{pcapng.OptISBOSDrop, s.OSDropped}, {pcapng.OptISBUsrDeliv, s.Delivered},
	}
	length := 20 + 4 + 4 // header, end of options, trailing length
	for _, c := range s.Comments {
		length += optionLen(len(c))
	}
	for _, t := range [...]int64{s.Start, s.End} {
		if t != 0 {
			length += optionLen(8)
		}
	}
	for _, c := range counters {
		if c.v != NoValue {
			length += optionLen(8)
		}
	}
	b = le.AppendUint32(b, pcapng.BlockISB)
	b = le.AppendUint32(b, uint32(length))
	b = le.AppendUint32(b, iface)
	b = le.AppendUint32(b, uint32(uint64(s.Time)>>32))
	b = le.AppendUint32(b, uint32(s.Time))
	for _, c := range s.Comments {
		b = appendOptionHeader(b, pcapng.OptComment, len(c))
		b = append(b, c...)
		b = appendZeros(b, pad4(len(c)))
	}
	if s.Start != 0 {
		b = appendTimeOption(b, pcapng.OptISBStartTime, s.Start)
	}
	if s.End != 0 {
		b = appendTimeOption(b, pcapng.OptISBEndTime, s.End)
	}
	for _, c := range counters {
		if c.v != NoValue {
			b = appendU64Option(b, c.code, c.v)
		}
	}
	b = appendOptionHeader(b, pcapng.OptEnd, 0)
	return le.AppendUint32(b, uint32(length))
}

// optionLen is the size of an option with an n-byte value: header, value, padding.
func optionLen(n int) int { return 4 + n + pad4(n) }

func appendOption(b []byte, code uint16, value []byte) []byte {
	b = appendOptionHeader(b, code, len(value))
	b = append(b, value...)
	return appendZeros(b, pad4(len(value)))
}

func appendU32Option(b []byte, code uint16, v uint32) []byte {
	b = appendOptionHeader(b, code, 4)
	return le.AppendUint32(b, v)
}

func appendOptionHeader(b []byte, code uint16, length int) []byte {
	b = le.AppendUint16(b, code)
	return le.AppendUint16(b, uint16(length))
}

func appendTimeOption(b []byte, code uint16, ns int64) []byte {
	b = appendOptionHeader(b, code, 8)
	b = le.AppendUint32(b, uint32(uint64(ns)>>32))
	return le.AppendUint32(b, uint32(ns))
}

func appendU64Option(b []byte, code uint16, v uint64) []byte {
	b = appendOptionHeader(b, code, 8)
	return le.AppendUint64(b, v)
}

func appendZeros(b []byte, n int) []byte {
	var zero [4]byte
	return append(b, zero[:n]...)
}

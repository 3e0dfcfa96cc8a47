package writer

import "encoding/binary"

// Block and option codes of the pcapng specification
// (draft-ietf-opsawg-pcapng) that lwtdump writes by hand.
const (
	blockEPB = 0x00000006
	blockISB = 0x00000005

	optEnd     = 0
	optComment = 1

	optEPBFlags = 2

	optISBStartTime    = 2
	optISBEndTime      = 3
	optISBIfRecv       = 4
	optISBIfDrop       = 5
	optISBFilterAccept = 6
	optISBUsrDeliv     = 8
)

// Direction bits of epb_flags.
const (
	flagInbound  = 1
	flagOutbound = 2
)

var le = binary.LittleEndian

func pad4(n int) int { return (4 - n&3) & 3 }

// appendEPB appends an Enhanced Packet Block carrying one comment and the
// epb_flags word. gopacket's pcapgo writes the same bytes (a test checks it)
// but allocates several times per packet; this is the hot path, so it is
// written here without allocation. Timestamps are in nanoseconds
// (if_tsresol 9).
func appendEPB(b []byte, iface uint32, ts int64, origLen uint32, data []byte, comment []byte, flags uint32) []byte {
	length := 28 + len(data) + pad4(len(data)) +
		4 + len(comment) + pad4(len(comment)) + // opt_comment
		8 + // epb_flags
		4 + // opt_endofopt
		4 // trailing length
	b = le.AppendUint32(b, blockEPB)
	b = le.AppendUint32(b, uint32(length))
	b = le.AppendUint32(b, iface)
	b = le.AppendUint32(b, uint32(uint64(ts)>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, origLen)
	b = append(b, data...)
	b = appendZeros(b, pad4(len(data)))
	b = appendOptionHeader(b, optComment, len(comment))
	b = append(b, comment...)
	b = appendZeros(b, pad4(len(comment)))
	b = appendOptionHeader(b, optEPBFlags, 4)
	b = le.AppendUint32(b, flags)
	b = appendOptionHeader(b, optEnd, 0)
	return le.AppendUint32(b, uint32(length))
}

// isbCounts are the counters of one Interface Statistics Block.
type isbCounts struct {
	start, end     int64 // nanoseconds since the epoch
	recv, drop     uint64
	filterAccept   uint64
	hasFilter      bool
	delivered      uint64
	hasDeliveredTo bool
}

// appendISB appends an Interface Statistics Block. pcapgo's
// WriteInterfaceStats cannot write isb_filteraccept or isb_usrdeliv, which
// lwtdump needs to show what a filter kept and what reached the file.
func appendISB(b []byte, iface uint32, now int64, c isbCounts) []byte {
	nopts := 4
	if c.hasFilter {
		nopts++
	}
	if c.hasDeliveredTo {
		nopts++
	}
	length := 20 + nopts*12 + 4 + 4
	b = le.AppendUint32(b, blockISB)
	b = le.AppendUint32(b, uint32(length))
	b = le.AppendUint32(b, iface)
	b = le.AppendUint32(b, uint32(uint64(now)>>32))
	b = le.AppendUint32(b, uint32(now))
	b = appendTimeOption(b, optISBStartTime, c.start)
	b = appendTimeOption(b, optISBEndTime, c.end)
	b = appendU64Option(b, optISBIfRecv, c.recv)
	b = appendU64Option(b, optISBIfDrop, c.drop)
	if c.hasFilter {
		b = appendU64Option(b, optISBFilterAccept, c.filterAccept)
	}
	if c.hasDeliveredTo {
		b = appendU64Option(b, optISBUsrDeliv, c.delivered)
	}
	b = appendOptionHeader(b, optEnd, 0)
	return le.AppendUint32(b, uint32(length))
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

package pcapread

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

// A pcapng block walker of lwtdump's own. gopacket's pcapgo.NgReader reads
// packets, comments and flags, but for reading captures back lwtdump needs
// what it does not give: the offset of every block (to say where a file
// killed mid-write ends, and where a block is damaged), every ISB counter
// (NgReader drops isb_filteraccept, isb_osdrop and isb_usrdeliv, which
// lwtdump writes), the interface and statistics blocks in their place in the
// stream (to copy them), epb_flags in the section's byte order (NgReader
// reads them little-endian), and no allocation per packet. The block
// structure is simple: type, length, body, length again.

// MaxBlockSize is the largest block read, as in Wireshark: a longer one is
// taken for damage rather than allocated.
const MaxBlockSize = 16 << 20

// ngState is where the walker is in a pcapng stream.
type ngState struct {
	offset  int64 // of the next block
	order   binary.ByteOrder
	section int // sections begun, 1 for the first
	ifaces  []*Interface
	block   []byte // the current block, reused
	hdr     [12]byte
}

// nextNg reads blocks up to the next record.
func (r *Reader) nextNg() error {
	for {
		off := r.ng.offset
		typ, body, err := r.readBlock()
		if err != nil {
			return err
		}
		damaged := func(format string, args ...any) error {
			return &Error{Name: r.name, Offset: off, Err: fmt.Errorf(format, args...)}
		}
		switch typ {
		case pcapng.BlockSHB:
			if err := r.readSHB(body); err != nil {
				return damaged("section header: %w", err)
			}
		case pcapng.BlockIDB:
			ifc, err := r.readIDB(body)
			if err != nil {
				return damaged("interface description: %w", err)
			}
			r.rec.reset(KindInterface, off)
			r.rec.Interface = ifc
			return nil
		case pcapng.BlockEPB, pcapng.BlockPB:
			if err := r.readPacket(typ, body, off); err != nil {
				return damaged("packet: %w", err)
			}
			return nil
		case pcapng.BlockSPB:
			if err := r.readSPB(body, off); err != nil {
				return damaged("simple packet: %w", err)
			}
			return nil
		case pcapng.BlockISB:
			if err := r.readISB(body, off); err != nil {
				return damaged("interface statistics: %w", err)
			}
			return nil
		}
		// Name resolution, decryption secrets, custom and unknown blocks
		// are skipped.
	}
}

// readHeader reads the section header that starts a pcapng capture, so that
// the first section is known before the first record; nextNg goes on after
// it. An error is sticky, as one of Next.
func (r *Reader) readHeader() error {
	off := r.ng.offset
	typ, body, err := r.readBlock()
	if errors.Is(err, io.EOF) {
		return &Error{Name: r.name, Offset: off, Truncated: true, Have: -1}
	}
	if err != nil {
		return err
	}
	if typ != pcapng.BlockSHB { // readBlock refuses any other block before the first header
		return &Error{Name: r.name, Offset: off, Err: fmt.Errorf("block type 0x%x before the first section header", typ)}
	}
	if err := r.readSHB(body); err != nil {
		return &Error{Name: r.name, Offset: off, Err: fmt.Errorf("section header: %w", err)}
	}
	return nil
}

// readBlock reads one whole block and returns its type and its body: the
// bytes between the length fields (for a section header, after the byte
// order magic).
func (r *Reader) readBlock() (uint32, []byte, error) {
	off := r.ng.offset
	hdr := &r.ng.hdr
	if n, err := io.ReadFull(r.br, hdr[:8]); err != nil {
		if n == 0 && err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, r.readError(off, err, int64(n), 0)
	}
	typ := binary.LittleEndian.Uint32(hdr[:4]) // a section header's type reads the same either way
	head := 8
	if typ != pcapng.BlockSHB && r.ng.order != nil {
		typ = r.ng.order.Uint32(hdr[:4])
	}
	if typ == pcapng.BlockSHB {
		if n, err := io.ReadFull(r.br, hdr[8:12]); err != nil {
			return 0, nil, r.readError(off, err, 8+int64(n), 0)
		}
		switch uint32(pcapng.ByteOrderMagic) {
		case binary.LittleEndian.Uint32(hdr[8:12]):
			r.ng.order = binary.LittleEndian
		case binary.BigEndian.Uint32(hdr[8:12]):
			r.ng.order = binary.BigEndian
		default:
			return 0, nil, &Error{Name: r.name, Offset: off, Err: fmt.Errorf("section header with byte order magic 0x%x", hdr[8:12])}
		}
		head = 12
	} else if r.ng.order == nil {
		return 0, nil, &Error{Name: r.name, Offset: off, Err: fmt.Errorf("block type 0x%x before the first section header", typ)}
	}
	length := int64(r.ng.order.Uint32(hdr[4:8]))
	if length%4 != 0 || length < int64(head)+4 || length > MaxBlockSize {
		return 0, nil, &Error{Name: r.name, Offset: off, Err: fmt.Errorf("block type 0x%x with impossible length %d", typ, length)}
	}
	n, err := r.readBody(int(length) - head)
	if err != nil {
		return 0, nil, r.readError(off, err, int64(head+n), length)
	}
	body := r.ng.block
	if trailer := r.ng.order.Uint32(body[len(body)-4:]); int64(trailer) != length {
		return 0, nil, &Error{Name: r.name, Offset: off, Err: fmt.Errorf("block type 0x%x: length %d at its start and %d at its end", typ, length, trailer)}
	}
	r.ng.offset += length
	return typ, body[:len(body)-4], nil
}

// readBody reads n bytes into the block buffer. The buffer grows with the
// bytes that arrive, so a damaged length cannot make the reader allocate
// more than the file holds.
func (r *Reader) readBody(n int) (int, error) {
	b := r.ng.block[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(n-len(b), max(len(b), 64<<10)))
		}
		m, err := io.ReadFull(r.br, b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		if err != nil {
			r.ng.block = b
			return len(b), err
		}
	}
	r.ng.block = b
	return n, nil
}

// readError turns a short read at off into a truncation error.
func (r *Reader) readError(off int64, err error, have, want int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &Error{Name: r.name, Offset: off, Truncated: true, Have: have, Want: want}
	}
	return fmt.Errorf("read %s: %w", r.name, err)
}

// options walks the options in b, calling fn for each until opt_endofopt or
// the end of b. An option running past the block ends the walk: the options
// before it count, as in Wireshark.
func (r *Reader) options(b []byte, fn func(code uint16, value []byte)) {
	for len(b) >= 4 {
		code := r.ng.order.Uint16(b[0:2])
		n := int(r.ng.order.Uint16(b[2:4]))
		if code == pcapng.OptEnd || 4+n > len(b) {
			return
		}
		fn(code, b[4:4+n])
		b = b[min(len(b), 4+n+(-n&3)):]
	}
}

func (r *Reader) readSHB(b []byte) error {
	if len(b) < 12 {
		return errors.New("too short")
	}
	if major := r.ng.order.Uint16(b[0:2]); major != 1 {
		return fmt.Errorf("pcapng version %d.%d, not 1.x", major, r.ng.order.Uint16(b[2:4]))
	}
	var s writer.Section
	var comments []string
	r.options(b[12:], func(code uint16, v []byte) {
		switch code {
		case pcapng.OptComment:
			comments = append(comments, string(v))
		case pcapng.OptSHBHardware:
			s.Hardware = string(v)
		case pcapng.OptSHBOS:
			s.OS = string(v)
		case pcapng.OptSHBUserAppl:
			s.Application = string(v)
		}
	})
	s.Comment = strings.Join(comments, "\n")
	r.section = s
	if r.ng.section == 0 {
		r.first = s
	}
	r.ng.section++
	r.ng.ifaces = nil // interface ids are per section
	return nil
}

func (r *Reader) readIDB(b []byte) (*Interface, error) {
	if len(b) < 8 {
		return nil, errors.New("too short")
	}
	ifc := &Interface{
		Source:   r.name,
		Section:  r.ng.section - 1,
		ID:       uint32(len(r.ng.ifaces)),
		LinkType: layers.LinkType(r.ng.order.Uint16(b[0:2])),
		SnapLen:  r.ng.order.Uint32(b[4:8]),
		tsResol:  6,
	}
	var comments []string
	r.options(b[8:], func(code uint16, v []byte) {
		switch code {
		case pcapng.OptComment:
			comments = append(comments, string(v))
		case pcapng.OptIfName:
			ifc.Name = string(v)
		case pcapng.OptIfDescription:
			ifc.Description = string(v)
		case pcapng.OptIfFilter:
			if len(v) > 1 && v[0] == 0 { // type 0: a libpcap filter string
				ifc.Filter = string(v[1:])
			}
		case pcapng.OptIfOS:
			ifc.OS = string(v)
		case pcapng.OptIfTsresol:
			if len(v) >= 1 {
				ifc.tsResol = v[0]
			}
		case pcapng.OptIfTsoffset:
			if len(v) >= 8 {
				ifc.tsOffset = int64(r.ng.order.Uint64(v))
			}
		}
	})
	if exp := ifc.tsResol & 0x7f; ifc.tsResol&0x80 == 0 && exp > 19 || exp > 63 {
		return nil, fmt.Errorf("interface %d: time stamp resolution 0x%02x is beyond what lwtdump reads", ifc.ID, ifc.tsResol)
	}
	ifc.Comment = strings.Join(comments, "\n")
	ifc.Meta, ifc.HasMeta = writer.ParseInterface(ifc.Name, ifc.Description)
	r.ng.ifaces = append(r.ng.ifaces, ifc)
	return ifc, nil
}

// iface returns the interface with the given id, or an error naming it.
func (r *Reader) iface(id uint32) (*Interface, error) {
	if int64(id) >= int64(len(r.ng.ifaces)) {
		return nil, fmt.Errorf("names interface %d, but the section describes %d", id, len(r.ng.ifaces))
	}
	return r.ng.ifaces[id], nil
}

// readPacket reads an Enhanced Packet Block or an obsolete Packet Block.
func (r *Reader) readPacket(typ uint32, b []byte, off int64) error {
	if len(b) < 20 {
		return errors.New("too short")
	}
	var id uint32
	if typ == pcapng.BlockEPB {
		id = r.ng.order.Uint32(b[0:4])
	} else {
		id = uint32(r.ng.order.Uint16(b[0:2]))
	}
	ifc, err := r.iface(id)
	if err != nil {
		return err
	}
	caplen := int64(r.ng.order.Uint32(b[12:16]))
	if 20+caplen > int64(len(b)) {
		return fmt.Errorf("%d captured bytes in a block of %d", caplen, len(b)+12)
	}
	rec := &r.rec
	rec.reset(KindPacket, off)
	rec.Interface = ifc
	rec.Time = ifc.nanoseconds(uint64(r.ng.order.Uint32(b[4:8]))<<32 | uint64(r.ng.order.Uint32(b[8:12])))
	rec.OrigLen = r.ng.order.Uint32(b[16:20])
	rec.Data = b[20 : 20+caplen]
	r.options(b[min(int64(len(b)), 20+caplen+(-caplen&3)):], func(code uint16, v []byte) {
		switch code {
		case pcapng.OptComment:
			rec.Comments = append(rec.Comments, v)
		case pcapng.OptEPBFlags:
			if len(v) >= 4 {
				rec.Flags, rec.HasFlags = r.ng.order.Uint32(v), true
			}
		}
	})
	return nil
}

// readSPB reads a Simple Packet Block: interface 0, no time stamp.
func (r *Reader) readSPB(b []byte, off int64) error {
	if len(b) < 4 {
		return errors.New("too short")
	}
	ifc, err := r.iface(0)
	if err != nil {
		return err
	}
	rec := &r.rec
	rec.reset(KindPacket, off)
	rec.Interface = ifc
	rec.OrigLen = r.ng.order.Uint32(b[0:4])
	caplen := min(int64(rec.OrigLen), int64(len(b)-4))
	if ifc.SnapLen > 0 {
		caplen = min(caplen, int64(ifc.SnapLen))
	}
	rec.Data = b[4 : 4+caplen]
	return nil
}

func (r *Reader) readISB(b []byte, off int64) error {
	if len(b) < 12 {
		return errors.New("too short")
	}
	ifc, err := r.iface(r.ng.order.Uint32(b[0:4]))
	if err != nil {
		return err
	}
	rec := &r.rec
	rec.reset(KindStats, off)
	rec.Interface = ifc
	rec.Time = ifc.nanoseconds(uint64(r.ng.order.Uint32(b[4:8]))<<32 | uint64(r.ng.order.Uint32(b[8:12])))
	s := writer.Stats{
		Time:     rec.Time,
		Received: writer.NoValue, Dropped: writer.NoValue, FilterAccept: writer.NoValue,
		OSDropped: writer.NoValue, Delivered: writer.NoValue,
	}
	r.options(b[12:], func(code uint16, v []byte) {
		if code == pcapng.OptComment {
			s.Comments = append(s.Comments, string(v))
			return
		}
		if len(v) < 8 {
			return
		}
		u := r.ng.order.Uint64(v)
		switch code {
		case pcapng.OptISBStartTime:
			s.Start = ifc.nanoseconds(uint64(r.ng.order.Uint32(v[0:4]))<<32 | uint64(r.ng.order.Uint32(v[4:8])))
		case pcapng.OptISBEndTime:
			s.End = ifc.nanoseconds(uint64(r.ng.order.Uint32(v[0:4]))<<32 | uint64(r.ng.order.Uint32(v[4:8])))
		case pcapng.OptISBIfRecv:
			s.Received = u
		case pcapng.OptISBIfDrop:
			s.Dropped = u
		case pcapng.OptISBFilterAccept:
			s.FilterAccept = u
		case pcapng.OptISBOSDrop:
			s.OSDropped = u
		case pcapng.OptISBUsrDeliv:
			s.Delivered = u
		}
	})
	rec.Stats = s
	return nil
}

// nanoseconds converts a time stamp in the interface's resolution
// (if_tsresol: 10^-n, or 2^-n with the top bit set) and offset to
// nanoseconds since the epoch.
func (i *Interface) nanoseconds(ts uint64) int64 {
	exp := uint(i.tsResol & 0x7f)
	var ns uint64
	switch {
	case i.tsResol&0x80 != 0: // 2^-exp seconds; readIDB keeps exp below 64
		sec := ts >> exp
		frac := ts & (1<<exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns = sec*1e9 + (lo>>exp | hi<<(64-exp)) // frac*1e9 / 2^exp
	case exp <= 9:
		ns = ts * pow10[9-exp]
	default: // readIDB keeps exp at most 19
		ns = ts / pow10[exp-9]
	}
	return int64(ns) + i.tsOffset*1e9
}

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

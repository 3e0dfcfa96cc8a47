// Package pcapread reads pcapng and classic pcap captures back, one record at
// a time in constant memory: packets with their interface, comments and
// flags, the interfaces as they are described, and interface statistics. It
// reads what lwtdump writes (and what other tools write), merges several
// captures in timestamp order, selects packets by the metadata lwtdump
// wrote, tallies per-interface statistics and copies a selection into a new
// pcapng. Like writer it knows nothing of files: it reads an io.Reader.
package pcapread

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

// format is the file format of a capture.
type format uint8

const (
	formatPcapng format = iota + 1
	formatPcap          // classic libpcap format, microsecond or nanosecond
)

// Kind says what a Record holds.
type Kind uint8

// The kinds of records.
const (
	KindPacket    Kind = iota + 1 // a packet: Time, OrigLen, Data, Comments, Flags
	KindInterface                 // an interface was described: Interface
	KindStats                     // statistics of an interface: Time, Stats
)

// Record is one packet, interface description or statistics block. A
// Reader reuses its Record: Data and Comments are valid until the next call
// to Next.
type Record struct {
	Kind      Kind
	Interface *Interface // the packet's or the statistics' interface; the one described for KindInterface
	Time      int64      // nanoseconds since the Unix epoch (0 when the block has no time stamp)
	OrigLen   uint32     // length of the packet on the wire; Data may be shorter
	Data      []byte     // the captured bytes, starting with the interface's link-layer header
	Comments  [][]byte   // opt_comment of the packet, one per option
	Flags     uint32     // epb_flags, when HasFlags
	HasFlags  bool
	Stats     writer.Stats // for KindStats; counters it does not hold are writer.NoValue
	Offset    int64        // where the record's block starts in its capture

	meta             writer.Meta
	metaDone, metaOK bool
}

// Meta returns what lwtdump wrote about a packet: its comment, or when the
// packet has none of lwtdump's, what its interface's name and description
// say. It reports false for a packet lwtdump did not capture.
func (r *Record) Meta() (writer.Meta, bool) {
	if r.metaDone {
		return r.meta, r.metaOK
	}
	r.metaDone = true
	for _, c := range r.Comments {
		if m, ok := writer.ParseComment(c); ok {
			r.meta, r.metaOK = m, true
			return r.meta, true
		}
	}
	if r.Interface != nil && r.Interface.HasMeta {
		r.meta, r.metaOK = r.Interface.Meta, true
	}
	return r.meta, r.metaOK
}

// reset clears the record for the next block, keeping its buffers.
func (r *Record) reset(kind Kind, offset int64) {
	comments := r.Comments[:0]
	*r = Record{Kind: kind, Offset: offset, Comments: comments}
}

// Interface is a capture interface: a pcapng Interface Description Block, or
// the one interface of a classic pcap file. lwtdump writes one per
// attachment (route x hook).
type Interface struct {
	Source      string // the capture it was read from, as named to NewReader
	Section     int    // the pcapng section it belongs to, 0 for the first
	ID          uint32 // its id in that section
	LinkType    layers.LinkType
	SnapLen     uint32
	Name        string // if_name
	Description string // if_description
	Comment     string // opt_comment (several joined by newlines)
	Filter      string // if_filter (a libpcap filter string)
	OS          string // if_os
	// Meta is what lwtdump wrote into the name and description, when
	// HasMeta: hook, route, device and cookie.
	Meta    writer.Meta
	HasMeta bool

	tsResol  uint8 // if_tsresol
	tsOffset int64 // if_tsoffset, seconds
}

// NgInterface describes the interface for pcapgo and writer.Copier.
func (i *Interface) NgInterface() pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name:                i.Name,
		Comment:             i.Comment,
		Description:         i.Description,
		Filter:              i.Filter,
		OS:                  i.OS,
		LinkType:            i.LinkType,
		TimestampResolution: pcapgo.NgResolution(i.tsResol),
		SnapLength:          i.SnapLen,
	}
}

// Label is how a line names the interface: its name, or "#ID" when it has none.
func (i *Interface) Label() string {
	if i.Name != "" {
		return i.Name
	}
	return fmt.Sprintf("#%d", i.ID)
}

// ErrNotCapture is the error for a file that is neither pcapng nor pcap.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// Error is a capture that cannot be read on from an offset: the file ends
// inside a record (Truncated, as when a capture was killed while writing),
// or a block is damaged. Every record before Offset was read.
type Error struct {
	Name      string // the capture, as named to NewReader
	Offset    int64  // where the record that cannot be read starts
	Truncated bool
	Have      int64 // for Truncated: bytes of the record in the file, when known (-1 when not)
	Want      int64 // for Truncated: bytes the record should have, when known (0 when not)
	Err       error // what is wrong with a damaged block
}

func (e *Error) Error() string { return e.Name + ": " + e.Detail() }

// Detail is the error without the capture's name.
func (e *Error) Detail() string {
	if !e.Truncated {
		return fmt.Sprintf("damaged at offset %d: %v", e.Offset, e.Err)
	}
	var what string
	switch {
	case e.Want > 0 && e.Have >= 0:
		what = fmt.Sprintf("the file ends %d bytes into a %d-byte record", e.Have, e.Want)
	case e.Want > 0:
		what = fmt.Sprintf("the file ends inside a %d-byte record", e.Want)
	default:
		what = "the file ends inside a record"
	}
	return fmt.Sprintf("truncated at offset %d: %s (a capture killed while writing?)", e.Offset, what)
}

func (e *Error) Unwrap() error { return e.Err }

// Reader reads the records of one capture in file order.
type Reader struct {
	name    string
	format  format
	br      *bufio.Reader
	rec     Record
	err     error          // sticky: once reading failed or ended, Next returns it
	section writer.Section // of the section being read
	first   writer.Section // of the first section
	ng      ngState
	pcap    *pcapgo.Reader
	pcapIfc *Interface
}

// Bytes of a capture a Reader reads ahead.
const readAhead = 256 << 10

// NewReader detects the format of the capture in r, which may be gzip
// compressed (offsets then count bytes of the uncompressed stream). name
// names the capture in errors and in Interface.Source. It reads nothing but
// the magic number: errors in the file come from Next.
func NewReader(r io.Reader, name string) (*Reader, error) {
	br := bufio.NewReaderSize(r, readAhead)
	magic, err := br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: read gzip header: %w", name, err)
		}
		br = bufio.NewReaderSize(gz, readAhead)
		magic, err = br.Peek(4)
		if err != nil && len(magic) == 0 {
			return nil, fmt.Errorf("%s: gzip-compressed but empty: %w", name, ErrNotCapture)
		}
	}
	rd := &Reader{name: name, br: br}
	switch {
	case len(magic) == 0 && (err == io.EOF || err == nil):
		return nil, fmt.Errorf("%s: empty file: %w", name, ErrNotCapture)
	case len(magic) < 4 && err != nil && err != io.EOF:
		return nil, fmt.Errorf("read %s: %w", name, err)
	case len(magic) < 4:
		return nil, fmt.Errorf("%s: %d bytes, too short for a capture: %w", name, len(magic), ErrNotCapture)
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case pcapng.BlockSHB:
		rd.format = formatPcapng
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		rd.format = formatPcap
	default:
		return nil, fmt.Errorf("%s: %w: it starts with %s", name, ErrNotCapture, describeMagic(magic))
	}
	return rd, nil
}

// LooksLikeCapture reports whether magic, the first four bytes of a file,
// start a pcapng or pcap capture, or a gzip stream (which may hold one).
func LooksLikeCapture(magic []byte) bool {
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return true
	}
	if len(magic) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(magic) {
	case pcapng.BlockSHB, 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return true
	}
	return false
}

// describeMagic shows the first bytes of a file that is not a capture, as
// text when they are printable.
func describeMagic(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%x", b)
		}
	}
	return fmt.Sprintf("%q", b)
}

// Section is the provenance in the header of the section being read (empty
// for classic pcap, and before the first Next).
func (r *Reader) Section() writer.Section { return r.section }

// Run returns the lwtdump run and sequence number that the capture's first
// section header names (see writer.RunComment), reading the header if no
// record was read yet. It reports false for a capture that names none: one
// of another tool, a copy, classic pcap, or one whose header cannot be
// read (Next then returns the error).
func (r *Reader) Run() (run string, seq int, ok bool) {
	if r.format == formatPcapng && r.ng.section == 0 && r.err == nil {
		r.err = r.readHeader()
	}
	if r.ng.section == 0 {
		return "", 0, false
	}
	return writer.ParseRun(r.first.Comment)
}

// Next returns the next record. It returns io.EOF at the end of the
// capture, and an *Error when the capture ends inside a record or a block
// is damaged; every record before it has been returned. The Record is
// reused by the next call.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	var err error
	if r.format == formatPcapng {
		err = r.nextNg()
	} else {
		err = r.nextPcap()
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	return &r.rec, nil
}

// pcap magic numbers are 4 bytes, the rest of the file header 20.
const pcapHeaderLen = 24

// nextPcap reads a classic pcap file with gopacket's pcapgo.Reader, counting
// offsets itself: record header 16 bytes, then the captured bytes.
func (r *Reader) nextPcap() error {
	if r.pcap == nil {
		p, err := pcapgo.NewReader(r.br)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return &Error{Name: r.name, Truncated: true, Have: -1, Want: pcapHeaderLen}
			}
			return &Error{Name: r.name, Err: err}
		}
		r.pcap = p
		r.ng.offset = pcapHeaderLen
		r.pcapIfc = &Interface{Source: r.name, LinkType: p.LinkType(), SnapLen: p.Snaplen(), tsResol: 9}
		r.rec.reset(KindInterface, 0)
		r.rec.Interface = r.pcapIfc
		return nil
	}
	off := r.ng.offset
	data, ci, err := r.pcap.ZeroCopyReadPacketData()
	switch {
	case err == io.EOF && ci.CaptureLength == 0 && ci.Length == 0 && ci.Timestamp.IsZero():
		return io.EOF
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		// pcapgo reads the record header and then the data, and does not
		// say how much of either it found.
		e := &Error{Name: r.name, Offset: off, Truncated: true, Have: -1}
		if ci.CaptureLength > 0 {
			e.Want = 16 + int64(ci.CaptureLength)
		}
		return e
	case err != nil:
		return &Error{Name: r.name, Offset: off, Err: err}
	}
	r.ng.offset += 16 + int64(len(data))
	r.rec.reset(KindPacket, off)
	r.rec.Interface = r.pcapIfc
	r.rec.Time = ci.Timestamp.UnixNano()
	r.rec.OrigLen = uint32(ci.Length)
	r.rec.Data = data
	return nil
}

package writer

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

// Copier writes records read back from captures as one pcapng section:
// interfaces as they were described, packets with their comments and
// epb_flags, and interface statistics. It uses the encoders of the live
// Writer. Timestamps are written in nanoseconds (if_tsresol 9, no
// if_tsoffset), whatever the resolution of the capture they came from.
//
// Like Writer it is not safe for concurrent use, keeps its first error, and
// knows nothing of files: it writes whole blocks to an io.Writer.
type Copier struct {
	out    io.Writer
	ng     *pcapgo.NgWriter // appends IDBs to buf
	buf    []byte
	ifaces uint32
	err    error
}

// Packet is a packet for a Copier to write.
type Packet struct {
	Interface uint32 // an id that AddInterface returned
	Time      int64  // nanoseconds since the Unix epoch
	OrigLen   uint32 // length on the wire; Data may be shorter
	Data      []byte
	Comments  [][]byte // opt_comment, one option each
	Flags     uint32   // epb_flags, written when HasFlags
	HasFlags  bool
}

// NewCopier starts a section with the provenance s. Nothing reaches out
// before the buffer fills up or Close.
func NewCopier(out io.Writer, s Section) (*Copier, error) {
	c := &Copier{out: out, buf: make([]byte, 0, 64<<10)} // grows to DefaultBufferSize
	// pcapgo writes a section header only together with a first interface.
	// A copy adds the interfaces it reads as it meets them, so that first
	// one is cut off again: the SHB ends where its length field says.
	ng, err := appendSection(&c.buf, s, pcapgo.NgInterface{LinkType: layers.LinkTypeRaw})
	if err != nil {
		return nil, err
	}
	c.buf = c.buf[:le.Uint32(c.buf[4:8])]
	c.ng = ng
	return c, nil
}

// AddInterface writes an Interface Description Block for ifc and returns its
// id in the copy: 0 for the first, then 1, 2, ... Its name, description,
// comment, filter, OS, link type and snap length are kept; its timestamp
// resolution and offset are not, since WritePacket writes absolute
// nanoseconds.
func (c *Copier) AddInterface(ifc pcapgo.NgInterface) (uint32, error) {
	if c.err != nil {
		return 0, c.err
	}
	ifc.TimestampOffset = 0
	ifc.TimestampResolution = 9
	if err := appendInterface(c.ng, ifc); err != nil {
		return 0, c.fail(err)
	}
	c.ifaces++
	return c.ifaces - 1, c.writeOutIfFull()
}

// WritePacket writes an Enhanced Packet Block.
func (c *Copier) WritePacket(p *Packet) error {
	if c.err != nil {
		return c.err
	}
	if p.Interface >= c.ifaces {
		// An EPB naming an undefined interface stops readers.
		return fmt.Errorf("write packet: interface %d not added (have %d)", p.Interface, c.ifaces)
	}
	opts := 0
	for _, cm := range p.Comments {
		if len(cm) > math.MaxUint16 {
			return fmt.Errorf("write packet: comment of %d bytes is longer than a pcapng option", len(cm))
		}
		opts += optionLen(len(cm))
	}
	if p.HasFlags {
		opts += optionLen(4)
	}
	if opts > 0 {
		opts += 4 // opt_endofopt
	}
	b, length := appendEPBHead(c.buf, p.Interface, p.Time, p.OrigLen, p.Data, opts)
	for _, cm := range p.Comments {
		b = appendOption(b, pcapng.OptComment, cm)
	}
	if p.HasFlags {
		b = appendU32Option(b, pcapng.OptEPBFlags, p.Flags)
	}
	if opts > 0 {
		b = appendOptionHeader(b, pcapng.OptEnd, 0)
	}
	c.buf = le.AppendUint32(b, length)
	return c.writeOutIfFull()
}

// WriteStats writes an Interface Statistics Block for an interface.
func (c *Copier) WriteStats(iface uint32, s *Stats) error {
	if c.err != nil {
		return c.err
	}
	if iface >= c.ifaces {
		return fmt.Errorf("write statistics: interface %d not added (have %d)", iface, c.ifaces)
	}
	for _, cm := range s.Comments {
		if len(cm) > math.MaxUint16 {
			return errors.New("write statistics: comment is longer than a pcapng option")
		}
	}
	c.buf = appendISB(c.buf, iface, s)
	return c.writeOutIfFull()
}

// Flush writes out everything buffered.
func (c *Copier) Flush() error { return c.writeOut() }

// Close writes out everything buffered. It does not close the io.Writer.
func (c *Copier) Close() error { return c.writeOut() }

func (c *Copier) writeOutIfFull() error {
	if len(c.buf) < DefaultBufferSize {
		return nil
	}
	return c.writeOut()
}

func (c *Copier) writeOut() error {
	if c.err != nil {
		return c.err
	}
	if len(c.buf) == 0 {
		return nil
	}
	if err := writeBlocks(c.out, c.buf); err != nil {
		return c.fail(err)
	}
	c.buf = c.buf[:0]
	return nil
}

func (c *Copier) fail(err error) error {
	c.err = err
	return err
}

// Package writer encodes samples as pcapng: a section header with the
// capture's provenance, one interface per attachment (route x hook), one
// Enhanced Packet Block per sample with its metadata as a comment, and an
// Interface Statistics Block per interface when a section ends. It knows
// nothing of files: it writes whole blocks to an Output.
package writer

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

// Output is where a Writer puts its pcapng stream.
//
// This is the seam between pcapng and files. The Writer passes an Output
// only whole blocks (a Write never ends inside a block), and before every
// packet, and on every Flush, it asks RolloverDue whether the current file
// is complete. When it is, the Writer ends the section (an ISB for every
// interface), writes out what it holds, calls Rollover, and starts a new
// section (SHB and IDBs) in whatever the Output writes to next. So every
// file is a complete pcapng, and the Output needs to know nothing of pcapng.
type Output interface {
	io.Writer
	// RolloverDue reports whether the current file should be finished
	// before more is written: size is the number of bytes of the current
	// file so far, now is the time of the packet about to be written (or
	// of the flush).
	RolloverDue(now time.Time, size int64) bool
	// Rollover finishes the current file and starts the next one. It
	// returns ErrDone when no further file is wanted; the capture then ends.
	Rollover() error
}

// ErrDone is returned by an Output's Rollover when its last file is
// complete, and then by the Writer; also by the Writer when a rollover of a
// LastOutput's last file is due. It wraps sample.ErrDone: a capture that
// meets it ends normally.
var ErrDone = fmt.Errorf("last output file complete: %w", sample.ErrDone)

// Stream is an Output that never rolls over: a pipe, stdout, or a single file.
func Stream(w io.Writer) Output { return stream{w} }

type stream struct{ io.Writer }

func (stream) RolloverDue(time.Time, int64) bool { return false }
func (stream) Rollover() error                   { return nil }

// Section is the provenance written into every section header.
type Section struct {
	Application string // shb_userappl, such as "lwtdump 1.0.0"
	OS          string // shb_os, the kernel release
	Hardware    string // shb_hardware, the machine
	Comment     string // the command line, host, start time and netns
}

// Options configure a Writer.
type Options struct {
	Section     Section
	Attachments []sample.Attachment // one pcapng interface each, in order: interface id = attachment index
	// Counters reads the kernel's counters of an attachment for its ISB.
	// When nil, no ISBs are written.
	Counters func(attachment uint32) (sample.Counters, error)
	// Gaps returns the gaps of an attachment (the times its route was
	// gone). Each statistics block gets a comment for each gap of its
	// section (see GapComment). When nil, there are none.
	Gaps func(attachment uint32) []sample.Gap
	// Start is the time the capture started (isb_starttime); default now.
	Start time.Time
	// Unbuffered writes every packet out at once (tcpdump -U).
	Unbuffered bool
	// BufferSize is how many bytes are gathered before they are written out (default 1 MiB).
	BufferSize int
	// Now is the clock that dates statistics blocks (default time.Now).
	Now func() time.Time
	// Run names the capture run the sections belong to. When set, the
	// comment of every section header ends with "run=RUN seq=N", N counting
	// the sections from 1 (see RunComment), so that a file taken out of its
	// directory still says which run it belongs to and where.
	Run string
	// OneInterface writes every packet on one interface of link type RAW
	// instead of one interface per attachment (see OneInterfaceName). Each
	// packet's comment names its attachment as always, and the statistics
	// block gives the counters of each attachment in a comment of its own.
	// libpcap, and so tcpdump, reads only files whose interfaces all have one
	// link type: a capture of IPv4 and IPv6 routes together needs this there.
	OneInterface bool
}

// OneInterfaceName is the if_name of the interface of Options.OneInterface.
const OneInterfaceName = "lwtdump"

// DefaultBufferSize is the default of Options.BufferSize.
const DefaultBufferSize = 1 << 20

// attachment is what the Writer keeps of an attachment.
type attachment struct {
	att   sample.Attachment
	flags uint32 // epb_flags: the hook's direction
	iface uint32 // the interface its packets are written on
	// version is the IP version the link type of that interface holds (4
	// or 6), 0 when it holds any (RAW).
	version byte
	// other is the interface, of link type RAW, of the attachment's packets
	// of another IP version, added on the first one: never, as the kernel
	// routes packets; -1 until then.
	other int
	// The attachment's packets, over all sections: handed to the Output,
	// and held in buf (lost if the Write fails).
	written, pending           uint64
	writtenBytes, pendingBytes uint64 // their captured bytes
	// The comment of the attachment's last packet, and what it was made of:
	// consecutive packets of an attachment mostly share it.
	comment    []byte
	commentKey commentKey
}

// iface is a pcapng interface of the Writer: an attachment's, the RAW one
// for an attachment's packets of another IP version, or the one interface
// of Options.OneInterface.
type iface struct {
	desc  pcapgo.NgInterface
	att   int  // the attachment whose counters its statistics give; -1 for all of them
	other bool // the RAW interface of an attachment's packets of another IP version
	// The interface's packets, over all sections: handed to the Output,
	// and held in buf (lost if the Write fails).
	written, pending uint64
}

// commentKey is what of a sample goes into its comment besides the
// attachment, which is fixed for an interface.
type commentKey struct {
	hook            sample.Hook
	cookie          uint64
	ifindex, cpu, m uint32
}

// Writer encodes samples as pcapng into an Output. It is not safe for
// concurrent use. Like bufio.Writer it keeps its first error and returns it
// from every later call.
type Writer struct {
	out       Output
	opts      Options
	atts      []attachment
	ifaces    []iface
	buf       []byte
	ng        *pcapgo.NgWriter // appends interfaces to buf
	section   int64            // bytes of the current section already written to out
	start     int64
	begun     int64 // when the current section began: the capture's start, or the end of the section before
	err       error
	sections  int
	malformed uint64
	stats     SectionStats // of the current section: packets handed to out
	pending   SectionStats // packets in buf, not yet handed to out
	// writeFailed is set once a Write to out failed; out then holds none
	// of the blocks of that Write (see Close).
	writeFailed bool
	// lastOpen is set when the last file's rollover was due (see
	// LastOutput): err is ErrDone, and Close ends the section.
	lastOpen bool
}

// LastOutput is an Output that knows when its current file is its last
// one, such as a Rotator's Count-th file of an Interval. When a rollover of
// that file is due, the Writer returns ErrDone without ending the section,
// and Close ends it: so the last file's statistics are those of the whole
// capture, taken once the capture has stopped, rather than a moment
// before.
type LastOutput interface {
	Output
	// Last reports whether the current file is the last one.
	Last() bool
}

// SectionStats counts the packets of one section that reached the Output.
type SectionStats struct {
	Seq     int    // the section's number, 1 for the first
	Packets uint64 // packet blocks
	// First and Last are the earliest and the latest packet time stamps
	// (nanoseconds since the epoch); 0 when there is no packet.
	First, Last int64
}

// add counts a packet at time ts.
func (s *SectionStats) add(ts int64) {
	if s.Packets == 0 || ts < s.First {
		s.First = ts
	}
	if s.Packets == 0 || ts > s.Last {
		s.Last = ts
	}
	s.Packets++
}

// merge adds the packets of o.
func (s *SectionStats) merge(o SectionStats) {
	if o.Packets == 0 {
		return
	}
	if s.Packets == 0 || o.First < s.First {
		s.First = o.First
	}
	if s.Packets == 0 || o.Last > s.Last {
		s.Last = o.Last
	}
	s.Packets += o.Packets
}

// New writes the section header and the interfaces to out at once, so that a
// reader of a stream sees them before the first packet.
func New(out Output, opts Options) (*Writer, error) {
	if len(opts.Attachments) == 0 {
		return nil, errors.New("create pcapng writer: no attachments")
	}
	if opts.Run != "" && strings.ContainsAny(opts.Run, " =\n") {
		return nil, fmt.Errorf("create pcapng writer: run %q: no spaces, newlines or '=' allowed", opts.Run)
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Start.IsZero() {
		opts.Start = opts.Now()
	}
	w := &Writer{
		out:   out,
		opts:  opts,
		buf:   make([]byte, 0, opts.BufferSize+64<<10),
		start: opts.Start.UnixNano(),
	}
	if opts.OneInterface {
		w.ifaces = []iface{{desc: oneInterface(opts.Attachments), att: -1}}
	}
	lt := LinkType(opts.Attachments)
	for i, a := range opts.Attachments {
		f := uint32(pcapng.FlagOutbound)
		if a.Hook.Inbound() {
			f = pcapng.FlagInbound
		}
		at := attachment{att: a, flags: f, other: -1}
		if !opts.OneInterface {
			at.iface, at.version = uint32(len(w.ifaces)), ipVersion(lt)
			w.ifaces = append(w.ifaces, iface{desc: ngInterface(a, lt), att: i})
		}
		w.atts = append(w.atts, at)
	}
	if err := w.beginSection(); err != nil {
		return nil, err
	}
	if err := w.writeOut(); err != nil {
		return nil, err
	}
	return w, nil
}

// Sections is the number of sections (files) begun so far.
func (w *Writer) Sections() int { return w.sections }

// SectionStats returns the counts of the current section: the one being
// written, or, while the Output's Rollover runs, the one just ended. They
// count the packets in the Output, not those the Writer still holds, nor
// those of a Write that failed.
func (w *Writer) SectionStats() SectionStats { return w.stats }

// Malformed is the number of samples skipped because they named no interface.
func (w *Writer) Malformed() uint64 { return w.malformed }

// Delivered is the number of packets written for an attachment: handed to
// the Output, or held to be written with the next blocks. Those held when
// a Write fails are lost, and no longer counted; so are those given after,
// and the one whose WriteSample returns an error.
func (w *Writer) Delivered(attachment uint32) uint64 {
	if int(attachment) >= len(w.atts) {
		return 0
	}
	a := &w.atts[attachment]
	return a.written + a.pending
}

// DeliveredBytes is the number of captured bytes (the packet data, as
// snaplen cut it) of the packets written for an attachment.
func (w *Writer) DeliveredBytes(attachment uint32) uint64 {
	if int(attachment) >= len(w.atts) {
		return 0
	}
	a := &w.atts[attachment]
	return a.writtenBytes + a.pendingBytes
}

// WriteSample encodes one sample as an Enhanced Packet Block on its
// attachment's interface, rolling over to a new file first when the Output
// asks for it.
func (w *Writer) WriteSample(s *sample.Sample) error {
	if w.err != nil {
		return w.err
	}
	if int(s.Attachment) >= len(w.atts) {
		w.malformed++ // an EPB naming an undefined interface would stop readers
		return nil
	}
	if w.out.RolloverDue(time.Unix(0, s.Time), w.size()) {
		if err := w.rollover(); err != nil {
			return err
		}
	}
	a := &w.atts[s.Attachment]
	id := a.iface
	if a.version != 0 && len(s.Data) > 0 && s.Data[0]>>4 != a.version {
		// Written as LINKTYPE_IPV4 or _IPV6, the packet would be read
		// as what it is not.
		var err error
		if id, err = w.otherInterface(s.Attachment); err != nil {
			return err
		}
	}
	if key := (commentKey{s.Hook, s.Cookie, s.Ifindex, s.CPU, s.Mark}); key != a.commentKey || a.comment == nil {
		a.comment = AppendComment(a.comment[:0], s, &a.att)
		a.commentKey = key
	}
	w.buf = appendEPB(w.buf, id, s.Time, s.OrigLen, s.Data, a.comment, a.flags)
	a.pending++
	a.pendingBytes += uint64(len(s.Data))
	w.ifaces[id].pending++
	w.pending.add(s.Time)
	if w.opts.Unbuffered || len(w.buf) >= w.opts.BufferSize {
		return w.writeOut()
	}
	return nil
}

// Flush rolls over when the Output asks for it (a time limit passed, even
// with no packet) and writes out everything gathered so far.
func (w *Writer) Flush(now time.Time) error {
	if w.err != nil {
		return w.err
	}
	if w.out.RolloverDue(now, w.size()) {
		return w.rollover()
	}
	return w.writeOut()
}

// Close ends the section with its statistics and writes everything out. It
// does not close the Output. After a failed write it returns that error,
// and yet tries to end the section (see endAfterFailure).
func (w *Writer) Close() error {
	if w.lastOpen {
		w.lastOpen, w.err = false, nil
		if err := w.endSection(w.opts.Now()); err != nil {
			return err
		}
		if err := w.writeOut(); err != nil {
			return err
		}
		w.err = ErrDone
		return nil
	}
	if w.err != nil {
		w.endAfterFailure()
		return w.err
	}
	if err := w.endSection(w.opts.Now()); err != nil {
		return err
	}
	return w.writeOut()
}

func (w *Writer) size() int64 { return w.section + int64(len(w.buf)) }

func (w *Writer) rollover() error {
	if l, ok := w.out.(LastOutput); ok && l.Last() {
		if err := w.writeOut(); err != nil {
			return err
		}
		w.err, w.lastOpen = ErrDone, true
		return ErrDone
	}
	if err := w.endSection(w.opts.Now()); err != nil {
		return err
	}
	if err := w.writeOut(); err != nil {
		return err
	}
	if err := w.out.Rollover(); err != nil {
		if !errors.Is(err, ErrDone) {
			err = fmt.Errorf("roll over output: %w", err)
		}
		w.err = err
		return err
	}
	w.section = 0
	return w.beginSection()
}

// writeBlocks writes buf, whole blocks, to out in one Write; a short write
// is an error.
func writeBlocks(out io.Writer, buf []byte) error {
	n, err := out.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("write pcapng: %w", err)
	}
	return nil
}

// writeOut hands the gathered blocks to the Output in one Write.
func (w *Writer) writeOut() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	if err := writeBlocks(w.out, w.buf); err != nil {
		w.err, w.writeFailed = err, true
		w.buf = w.buf[:0]
		for i := range w.ifaces {
			w.ifaces[i].pending = 0
		}
		for i := range w.atts {
			w.atts[i].pending, w.atts[i].pendingBytes = 0, 0
		}
		w.pending = SectionStats{}
		return err
	}
	w.section += int64(len(w.buf))
	w.buf = w.buf[:0]
	for i := range w.ifaces {
		w.ifaces[i].written += w.ifaces[i].pending
		w.ifaces[i].pending = 0
	}
	for i := range w.atts {
		a := &w.atts[i]
		a.written, a.writtenBytes = a.written+a.pending, a.writtenBytes+a.pendingBytes
		a.pending, a.pendingBytes = 0, 0
	}
	w.stats.merge(w.pending)
	w.pending = SectionStats{}
	return nil
}

// UndoingOutput is an Output whose failed Write leaves nothing of what it
// was given, as a Rotator writing a regular file does (it cuts the file
// back), so that what it holds still ends with a whole block.
type UndoingOutput interface {
	Output
	// UndoesFailedWrites reports whether a failed Write is undone.
	UndoesFailedWrites() bool
}

// endAfterFailure tries, once a Write to the Output has failed, to end the
// section with its statistics all the same, so that the file itself says
// how many packets the failure lost: it can when the Output undoes a failed
// write (an UndoingOutput), so that the file ends with a whole block, when
// the section's header reached the Output, and when the Output has room
// for a few more bytes (a full disk often has some left in the file's last
// page; a failing one has none). Its own failure is not reported: the
// first one was.
func (w *Writer) endAfterFailure() {
	u, ok := w.out.(UndoingOutput)
	if !w.writeFailed || !ok || !u.UndoesFailedWrites() || w.section == 0 {
		return
	}
	w.writeFailed = false // once
	w.buf = w.buf[:0]
	if w.endSection(w.opts.Now()) == nil && writeBlocks(w.out, w.buf) == nil {
		w.section += int64(len(w.buf))
	}
	w.buf = w.buf[:0]
}

// beginSection appends a Section Header Block and one Interface Description
// Block per attachment.
func (w *Writer) beginSection() error {
	s := w.opts.Section
	if w.opts.Run != "" {
		s.Comment = RunComment(s.Comment, w.opts.Run, w.sections+1)
	}
	ng, err := appendSection(&w.buf, s, w.ifaces[0].desc)
	if err != nil {
		return w.fail(err)
	}
	for _, ifc := range w.ifaces[1:] {
		if err := appendInterface(ng, ifc.desc); err != nil {
			return w.fail(err)
		}
	}
	w.ng = ng
	w.sections++
	w.stats = SectionStats{Seq: w.sections}
	if w.sections == 1 {
		w.begun = w.start
	}
	return nil
}

// appendSection appends to *b a Section Header Block and the Interface
// Description Block of first, both written by gopacket's pcapgo, and returns
// the pcapgo writer that appends further interfaces to *b.
func appendSection(b *[]byte, s Section, first pcapgo.NgInterface) (*pcapgo.NgWriter, error) {
	ng, err := pcapgo.NewNgWriterInterface((*appender)(b), first, pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Hardware: s.Hardware, OS: s.OS, Application: s.Application, Comment: s.Comment},
	})
	if err == nil {
		err = ng.Flush()
	}
	if err != nil {
		return nil, fmt.Errorf("write section header: %w", err)
	}
	return ng, nil
}

// appendInterface appends an Interface Description Block written by pcapgo
// (with if_tsresol 9) to the buffer ng writes to.
func appendInterface(ng *pcapgo.NgWriter, ifc pcapgo.NgInterface) error {
	_, err := ng.AddInterface(ifc)
	if err == nil {
		err = ng.Flush()
	}
	if err != nil {
		return fmt.Errorf("write interface: %w", err)
	}
	return nil
}

// endSection appends one Interface Statistics Block per interface.
func (w *Writer) endSection(now time.Time) error {
	ns := now.UnixNano()
	// The next section's gaps are those from here on, whatever time the
	// Output takes to roll over.
	defer func() { w.begun = ns }()
	if w.opts.Counters == nil {
		return nil
	}
	for i := range w.ifaces {
		ifc := &w.ifaces[i]
		st := Stats{
			Time: ns, Start: w.start, End: ns,
			Received: NoValue, Dropped: NoValue, FilterAccept: NoValue,
			OSDropped: NoValue, Delivered: ifc.written + ifc.pending,
		}
		switch {
		case ifc.other:
			// The kernel counts the attachment's packets in the
			// statistics of its own interface.
		case ifc.att >= 0:
			c, err := w.opts.Counters(uint32(ifc.att))
			if err != nil {
				return w.fail(err)
			}
			st.Received, st.Dropped, st.FilterAccept = c.Seen, c.Dropped, accepted(c, &w.atts[ifc.att].att)
			if w.opts.Gaps != nil {
				st.Comments = sectionGaps(w.opts.Gaps(uint32(ifc.att)), w.begun, ns)
			}
			st.Comments = append(st.Comments, NotWrittenComments(c)...)
		default:
			if err := w.allCounters(&st); err != nil {
				return w.fail(err)
			}
			st.Comments = append(st.Comments, w.allGaps(ns)...)
		}
		w.buf = appendISB(w.buf, uint32(i), &st)
	}
	return nil
}

// accepted is the isb_filteraccept of an attachment's counters: NoValue
// when it has no filter.
func accepted(c sample.Counters, a *sample.Attachment) uint64 {
	if a.Filter == "" {
		return NoValue
	}
	return c.Seen - c.Filtered
}

// allCounters fills the statistics of the one interface of
// Options.OneInterface: the sums of the attachments' counters, and a
// comment with each attachment's (see AttachmentStatsComment).
func (w *Writer) allCounters(st *Stats) error {
	st.Received, st.Dropped = 0, 0
	for i := range w.atts {
		a := &w.atts[i]
		c, err := w.opts.Counters(uint32(i))
		if err != nil {
			return err
		}
		acc := accepted(c, &a.att)
		st.Received += c.Seen
		st.Dropped += c.Dropped
		if acc != NoValue && st.FilterAccept == NoValue {
			st.FilterAccept = acc
		} else if acc != NoValue {
			st.FilterAccept += acc
		}
		st.Comments = append(st.Comments, AttachmentStatsComment(&a.att, &Stats{
			Received: c.Seen, Dropped: c.Dropped, FilterAccept: acc, Delivered: a.written + a.pending,
		}))
		for _, nw := range NotWrittenComments(c) {
			st.Comments = append(st.Comments, nw+" ("+a.att.Name()+")")
		}
	}
	return nil
}

// allGaps are the gap comments of every route for the one interface of
// Options.OneInterface, each once (a route's hooks share its gaps) and
// naming its route.
func (w *Writer) allGaps(end int64) []string {
	if w.opts.Gaps == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i := range w.atts {
		a := &w.atts[i].att
		for _, c := range sectionGaps(w.opts.Gaps(uint32(i)), w.begun, end) {
			if key := a.Route + "\x00" + c; !seen[key] {
				seen[key] = true
				out = append(out, c+" (route "+a.Route+")")
			}
		}
	}
	return out
}

// AttachmentStatsComment is the comment that gives an attachment's counters
// in the statistics block of the one interface of Options.OneInterface:
//
//	lwt_xmit:2001:db8:20::/48@r1_h2 cookie=0xbeef received=12 dropped=0 delivered=12
//
// with accepted=N before delivered when the attachment has a filter
// expression. The counters mean what those of the block do.
func AttachmentStatsComment(a *sample.Attachment, s *Stats) string {
	b := fmt.Appendf(nil, "%s cookie=%#x received=%d dropped=%d", a.Name(), a.Cookie, s.Received, s.Dropped)
	if s.FilterAccept != NoValue {
		b = fmt.Appendf(b, " accepted=%d", s.FilterAccept)
	}
	return string(fmt.Appendf(b, " delivered=%d", s.Delivered))
}

// otherInterface returns the RAW interface of an attachment's packets of
// another IP version than its route's, adding it to the section (and to
// every later one) the first time.
func (w *Writer) otherInterface(att uint32) (uint32, error) {
	a := &w.atts[att]
	if a.other >= 0 {
		return uint32(a.other), nil
	}
	desc := ngInterface(a.att, layers.LinkTypeRaw)
	desc.Comment = fmt.Sprintf("the packets of %s that are not IPv%d", a.att.Name(), a.version)
	if err := appendInterface(w.ng, desc); err != nil {
		return 0, w.fail(err)
	}
	a.other = len(w.ifaces)
	w.ifaces = append(w.ifaces, iface{desc: desc, att: int(att), other: true})
	return uint32(a.other), nil
}

func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

// ngInterface describes an attachment as a pcapng interface of link type lt.
func ngInterface(a sample.Attachment, lt layers.LinkType) pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name:                a.Name(),
		Description:         Description(a),
		Filter:              a.Filter,
		OS:                  "",
		LinkType:            lt,
		TimestampResolution: 9,
		SnapLength:          a.Snaplen,
	}
}

// oneInterface describes the one interface of Options.OneInterface: RAW,
// named OneInterfaceName, with a comment naming every attachment.
func oneInterface(atts []sample.Attachment) pcapgo.NgInterface {
	var names strings.Builder
	for i, a := range atts {
		if i > 0 {
			names.WriteByte('\n')
		}
		names.WriteString(a.Name() + " " + Description(a))
	}
	var snaplen uint32
	for _, a := range atts {
		snaplen = max(snaplen, a.Snaplen)
	}
	desc := fmt.Sprintf("%d attachments, each packet's in its comment", len(atts))
	if len(atts) == 1 {
		desc = "1 attachment, each packet's in its comment"
	}
	return pcapgo.NgInterface{
		Name:                OneInterfaceName,
		Description:         desc,
		Comment:             names.String(),
		Filter:              atts[0].Filter,
		LinkType:            layers.LinkTypeRaw,
		TimestampResolution: 9,
		SnapLength:          snaplen,
	}
}

// LinkType is the link type of the interfaces of a capture of attachments:
// LINKTYPE_IPV4 when they are all at routes to IPv4 prefixes,
// LINKTYPE_IPV6 when they are all at routes to IPv6 prefixes or SRv6
// End.BPF, and LINKTYPE_RAW (either version) otherwise. So every interface
// of a file has the same link type: libpcap (and so tcpdump) reads a file
// only then, and gopacket's pcapgo reader skips the packets of the
// interfaces whose link type is not the first's. libpcap reads files of
// several LINKTYPE_IPV4 or LINKTYPE_IPV6 interfaces, but not of several
// RAW ones: it compares each interface's link type with the DLT of the
// first, and RAW's DLT (12) is not its LINKTYPE (101). Options.OneInterface
// writes a capture of both families so that libpcap reads it.
//
// The kernel runs a route's programs only for packets it routed with that
// route, so of its family: at lwt_in after the input lookup, at lwt_out and
// lwt_xmit on the output path of that family, and End.BPF only for IPv6
// packets with a segment routing header. A packet encapsulated on its way
// (4in6, 6in4, SRv6 encap) is routed again, by the route of its outer
// header. The Writer still checks every packet's version, and writes one
// of another version on a RAW interface of its attachment, added for it.
func LinkType(atts []sample.Attachment) layers.LinkType {
	var lt layers.LinkType
	for _, a := range atts {
		f := family(a)
		if lt != 0 && f != lt {
			return layers.LinkTypeRaw
		}
		lt = f
	}
	if lt == 0 {
		return layers.LinkTypeRaw
	}
	return lt
}

// family is the link type of the packets of an attachment's route:
// LINKTYPE_IPV4, LINKTYPE_IPV6, or LINKTYPE_RAW when its prefix does not say.
func family(a sample.Attachment) layers.LinkType {
	if a.Hook == sample.HookSeg6Local {
		return layers.LinkTypeIPv6
	}
	p, err := netip.ParsePrefix(a.Route)
	switch {
	case err != nil:
		return layers.LinkTypeRaw
	case p.Addr().Is4():
		return layers.LinkTypeIPv4
	default:
		return layers.LinkTypeIPv6
	}
}

// LibpcapReads reports whether libpcap, and so tcpdump, reads the files of
// a Writer with these options whole: unless they are written with
// OneInterface, not those of a capture of IPv4 and IPv6 routes together
// (see LinkType).
func (o *Options) LibpcapReads() bool {
	return o.OneInterface || len(o.Attachments) < 2 || LinkType(o.Attachments) != layers.LinkTypeRaw
}

// ipVersion is the IP version a link type holds, 0 for either.
func ipVersion(lt layers.LinkType) byte {
	switch lt {
	case layers.LinkTypeIPv4:
		return 4
	case layers.LinkTypeIPv6:
		return 6
	}
	return 0
}

// Description is an attachment's if_description: "cookie=0xbeef netns=r1 table=254".
func Description(a sample.Attachment) string {
	netns := a.Netns
	if netns == "" {
		netns = "-"
	}
	return fmt.Sprintf("cookie=%#x netns=%s table=%d", a.Cookie, netns, a.Table)
}

// appender is an io.Writer that appends to a byte slice.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}

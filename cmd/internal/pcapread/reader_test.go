package pcapread_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/writertest"
)

// readAll reads every record of a capture, copying what the reader reuses.
func readAll(t testing.TB, data []byte) ([]pcapread.Record, error) {
	t.Helper()
	r, err := pcapread.NewReader(bytes.NewReader(data), "test.pcapng")
	if err != nil {
		return nil, err
	}
	return drain(r)
}

func drain(r interface {
	Next() (*pcapread.Record, error)
}) ([]pcapread.Record, error) {
	var recs []pcapread.Record
	for {
		rec, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return recs, err
		}
		c := *rec
		c.Data = bytes.Clone(rec.Data)
		c.Comments = nil
		for _, cm := range rec.Comments {
			c.Comments = append(c.Comments, bytes.Clone(cm))
		}
		recs = append(recs, c)
	}
}

func packets(recs []pcapread.Record) []pcapread.Record {
	var ps []pcapread.Record
	for _, r := range recs {
		if r.Kind == pcapread.KindPacket {
			ps = append(ps, r)
		}
	}
	return ps
}

// A capture lwtdump wrote reads back as written: its interfaces first, then
// every sample with its time, length, bytes, comment and direction, then
// the statistics of every interface.
func TestReadLwtdumpCapture(t *testing.T) {
	data := writertest.Bytes()
	recs, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	atts := writertest.Attachments()
	samples := writertest.Samples()
	if want := len(atts) + len(samples) + len(atts); len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
	for i, a := range atts {
		rec := recs[i]
		ifc := rec.Interface
		if rec.Kind != pcapread.KindInterface || ifc.ID != uint32(i) || ifc.Name != a.Name() || ifc.Description != writer.Description(a) ||
			ifc.LinkType != layers.LinkTypeRaw || ifc.SnapLen != a.Snaplen || !ifc.HasMeta || ifc.Meta.Hook != a.Hook || ifc.Meta.Route != a.Route {
			t.Errorf("record %d: %+v %+v", i, rec, ifc)
		}
	}
	for i, s := range samples {
		rec := recs[len(atts)+i]
		comment := writer.AppendComment(nil, &s, &atts[s.Attachment])
		flags := uint32(2)
		if s.Hook.Inbound() {
			flags = 1
		}
		if rec.Kind != pcapread.KindPacket || rec.Interface.ID != s.Attachment || rec.Time != s.Time || rec.OrigLen != s.OrigLen ||
			!bytes.Equal(rec.Data, s.Data) || len(rec.Comments) != 1 || !bytes.Equal(rec.Comments[0], comment) ||
			!rec.HasFlags || rec.Flags != flags {
			t.Errorf("packet %d: %+v", i, rec)
		}
		if m, ok := rec.Meta(); !ok || m.Hook != s.Hook || m.Cookie != s.Cookie || m.Ifindex != s.Ifindex {
			t.Errorf("packet %d: meta %+v %v", i, m, ok)
		}
	}
	for i := range atts {
		rec := recs[len(atts)+len(samples)+i]
		st := rec.Stats
		var delivered uint64
		for _, s := range samples {
			if s.Attachment == uint32(i) {
				delivered++
			}
		}
		want := writer.Stats{Time: writertest.End.UnixNano(), Start: writertest.Start.UnixNano(), End: writertest.End.UnixNano(),
			Received: delivered + 2, Dropped: 2, FilterAccept: writer.NoValue, OSDropped: writer.NoValue, Delivered: delivered}
		if rec.Kind != pcapread.KindStats || rec.Interface.ID != uint32(i) || !reflect.DeepEqual(st, want) {
			t.Errorf("statistics %d: %+v, want %+v", i, st, want)
		}
	}
	r, _ := pcapread.NewReader(bytes.NewReader(data), "x")
	r.Next()
	if s := r.Section(); s != writertest.Section {
		t.Errorf("section %+v", s)
	}
}

// What the reader reads, gopacket's pcapgo reads too.
func TestReadMatchesPcapgo(t *testing.T) {
	data := writertest.Bytes()
	recs, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range packets(recs) {
		d, ci, opts, err := ng.ReadPacketDataWithOptions()
		if err != nil {
			t.Fatalf("pcapgo, packet %d: %v", i, err)
		}
		if !bytes.Equal(d, rec.Data) || ci.Timestamp.UnixNano() != rec.Time || ci.Length != int(rec.OrigLen) ||
			ci.InterfaceIndex != int(rec.Interface.ID) || len(opts.Comments) != 1 || opts.Comments[0] != string(rec.Comments[0]) ||
			opts.Flags.ToUint32() != rec.Flags {
			t.Errorf("packet %d: pcapgo %+v %+v, pcapread %+v", i, ci, opts, rec)
		}
	}
	if _, _, err := ng.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("pcapgo reads more packets: %v", err)
	}
}

// blockEnds returns the offset after each block of a pcapng stream.
func blockEnds(data []byte) []int {
	var ends []int
	for off := 0; off+8 <= len(data); {
		off += int(binary.LittleEndian.Uint32(data[off+4:]))
		ends = append(ends, off)
	}
	return ends
}

// A capture cut anywhere yields every record before the cut, then an error
// that says it is truncated and where the cut record starts; a cut between
// blocks is a shorter capture.
func TestReadTruncated(t *testing.T) {
	data := writertest.Bytes()
	full, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	ends := blockEnds(data)
	for n := 4; n < len(data); n++ {
		recs, err := readAll(t, data[:n])
		start := 0 // of the block the cut falls in
		blocks := 0
		for _, e := range ends {
			if e <= n {
				start, blocks = e, blocks+1
			}
		}
		// Complete blocks after the section header are records.
		if want := full[:max(blocks-1, 0)]; !sameRecords(recs, want) {
			t.Fatalf("cut at %d: %d records, want %d", n, len(recs), len(want))
		}
		if start == n {
			if err != nil {
				t.Errorf("cut at %d, between blocks: %v", n, err)
			}
			continue
		}
		var pe *pcapread.Error
		if !errors.As(err, &pe) || !pe.Truncated || pe.Offset != int64(start) || pe.Have != int64(n-start) {
			t.Fatalf("cut at %d: %v, want truncated at %d", n, err, start)
		}
		if !strings.Contains(err.Error(), "truncated at offset") {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
}

func sameRecords(a, b []pcapread.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].Offset != b[i].Offset || a[i].Time != b[i].Time || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// A gzip-compressed capture (as -z gzip leaves them) reads as it is.
func TestReadGzip(t *testing.T) {
	data := writertest.Bytes()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	want, _ := readAll(t, data)
	got, err := readAll(t, z.Bytes())
	if err != nil || !sameRecords(got, want) {
		t.Fatalf("%d records, %v; want %d", len(got), err, len(want))
	}
	_, err = readAll(t, z.Bytes()[:z.Len()-30])
	var pe *pcapread.Error
	if !errors.As(err, &pe) || !pe.Truncated {
		t.Errorf("cut gzip stream: %v", err)
	}
}

// Files that are not captures fail at once with ErrNotCapture.
func TestReadNotCapture(t *testing.T) {
	for _, tc := range []struct {
		name, data, msg string
	}{
		{"empty", "", "empty file"},
		{"short", "\x0a\x0d", "2 bytes, too short"},
		{"html", "<html><body>", `it starts with "<htm"`},
		{"binary", "\x7fELF\x02\x01", "it starts with 0x7f454c46"},
		{"text", "hook=lwt_xmit cookie=0x1\n", `starts with "hook"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pcapread.NewReader(strings.NewReader(tc.data), "f")
			if !errors.Is(err, pcapread.ErrNotCapture) || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "f: ") {
				t.Errorf("%v", err)
			}
		})
	}
}

// Damaged blocks stop the reading with an error naming their offset, after
// the records before them.
func TestReadDamaged(t *testing.T) {
	data := writertest.Bytes()
	ends := blockEnds(data)
	at := ends[3] // the fourth block: the third interface
	for _, tc := range []struct {
		name   string
		damage func(b []byte)
		msg    string
	}{
		{"length not a multiple of 4", func(b []byte) { binary.LittleEndian.PutUint32(b[at+4:], 21) }, "impossible length 21"},
		{"length too large", func(b []byte) { binary.LittleEndian.PutUint32(b[at+4:], 1<<30) }, "impossible length"},
		{"trailer differs", func(b []byte) { binary.LittleEndian.PutUint32(b[ends[4]-4:], 8) }, "and 8 at its end"},
		{"packet on an undefined interface", func(b []byte) {
			binary.LittleEndian.PutUint32(b[ends[5]+8:], 9) // the first packet's interface id
		}, "names interface 9"},
		{"captured length beyond the block", func(b []byte) { binary.LittleEndian.PutUint32(b[ends[5]+20:], 5000) }, "5000 captured bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(data)
			tc.damage(b)
			recs, err := readAll(t, b)
			var pe *pcapread.Error
			if !errors.As(err, &pe) || pe.Truncated || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "damaged at offset") {
				t.Fatalf("%v", err)
			}
			if n := len(blockEnds(b[:pe.Offset])); len(recs) != n-1 {
				t.Errorf("%d records before the damage at %d, want %d", len(recs), pe.Offset, n-1)
			}
		})
	}
}

// Classic pcap, microsecond and nanosecond, reads as one interface; a cut
// record is reported with its offset.
func TestReadPcap(t *testing.T) {
	samples := writertest.Samples()
	for _, nano := range []bool{false, true} {
		var b bytes.Buffer
		var w *pcapgo.Writer
		if nano {
			w = pcapgo.NewWriterNanos(&b)
		} else {
			w = pcapgo.NewWriter(&b)
		}
		if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
			t.Fatal(err)
		}
		for _, s := range samples {
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, s.Time), CaptureLength: len(s.Data), Length: int(s.OrigLen)}
			if err := w.WritePacket(ci, s.Data); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := readAll(t, b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1+len(samples) || recs[0].Kind != pcapread.KindInterface || recs[0].Interface.LinkType != layers.LinkTypeRaw {
			t.Fatalf("nano %v: %d records, first %+v", nano, len(recs), recs[0])
		}
		off := int64(24)
		for i, s := range samples {
			rec := recs[1+i]
			want := s.Time
			if !nano {
				want = s.Time / 1000 * 1000
			}
			if rec.Time != want || !bytes.Equal(rec.Data, s.Data) || rec.OrigLen != s.OrigLen || rec.Offset != off || rec.Interface != recs[0].Interface {
				t.Errorf("nano %v, packet %d: %+v", nano, i, rec)
			}
			off += 16 + int64(len(s.Data))
		}
		for _, tc := range []struct {
			cut          int
			offset, want int64
			records      int
		}{
			{10, 0, 24, 0},                  // in the file header
			{24 + 8, 24, 0, 1},              // in the first record's header
			{24 + 16 + 50, 24, 16 + 104, 1}, // in its data
			{24 + 16 + 104 + 16 + 3, 24 + 16 + 104, 16 + 104, 2}, // in the second's data
		} {
			recs, err := readAll(t, b.Bytes()[:tc.cut])
			var pe *pcapread.Error
			if !errors.As(err, &pe) || !pe.Truncated || pe.Offset != tc.offset || pe.Want != tc.want || len(recs) != tc.records {
				t.Errorf("nano %v, cut at %d: %v (%+v), %d records", nano, tc.cut, err, pe, len(recs))
			}
		}
	}
}

// be is a pcapng stream built block by block, in either byte order.
type be struct {
	order byteOrder
	b     []byte
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func (s *be) block(typ uint32, body ...[]byte) {
	var bb []byte
	for _, p := range body {
		bb = append(bb, p...)
	}
	n := uint32(12 + len(bb))
	s.b = s.order.AppendUint32(s.b, typ)
	s.b = s.order.AppendUint32(s.b, n)
	s.b = append(s.b, bb...)
	s.b = s.order.AppendUint32(s.b, n)
}

func (s *be) u16(v uint16) []byte { return s.order.AppendUint16(nil, v) }
func (s *be) u32(v uint32) []byte { return s.order.AppendUint32(nil, v) }
func (s *be) u64(v uint64) []byte { return s.order.AppendUint64(nil, v) }

func (s *be) opt(code uint16, v []byte) []byte {
	o := append(s.u16(code), s.u16(uint16(len(v)))...)
	o = append(o, v...)
	return append(o, make([]byte, -len(v)&3)...)
}

// Either byte order, any time stamp resolution and offset, and every
// statistics counter read right; blocks of unknown types are skipped; a
// second section starts its interfaces anew.
func TestReadByteOrderAndResolution(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		s := &be{order: order}
		shb := func(app string) {
			s.block(0x0a0d0d0a, s.u32(0x1a2b3c4d), s.u16(1), s.u16(0), s.u64(^uint64(0)), s.opt(4, []byte(app)), s.opt(0, nil))
		}
		idb := func(name string, resol byte, offset int64) {
			s.block(1, s.u16(uint16(layers.LinkTypeRaw)), s.u16(0), s.u32(0), s.opt(2, []byte(name)), s.opt(9, []byte{resol}),
				s.opt(14, s.u64(uint64(offset))), s.opt(0, nil))
		}
		epb := func(id uint32, units uint64, flags uint32) {
			s.block(6, s.u32(id), s.u32(uint32(units>>32)), s.u32(uint32(units)), s.u32(3), s.u32(3), []byte{0x60, 0, 0, 0},
				s.opt(1, []byte("c")), s.opt(2, s.u32(flags)), s.opt(0, nil))
		}
		shb("one")
		idb("micro", 6, 0)
		idb("binary", 0x80|20, 0)
		idb("offset", 9, 100)
		s.block(0x0bad, []byte("custom!!"))
		sec := uint64(ts.Unix())
		epb(0, sec*1e6+250000, 1)
		epb(1, sec<<20|1<<19, 2)
		epb(2, uint64(ts.UnixNano()-100e9), 3)
		s.block(5, s.u32(0), s.u32(0), s.u32(0), s.opt(2, append(s.u32(uint32(sec*1e6>>32)), s.u32(uint32(sec*1e6))...)),
			s.opt(4, s.u64(10)), s.opt(5, s.u64(1)), s.opt(6, s.u64(9)), s.opt(7, s.u64(2)), s.opt(8, s.u64(8)), s.opt(1, []byte("isb")), s.opt(0, nil))
		shb("two")
		idb("again", 9, 0)
		epb(0, uint64(ts.UnixNano()), 0)

		recs, err := readAll(t, s.b)
		if err != nil {
			t.Fatalf("%v: %v", order, err)
		}
		ps := packets(recs)
		want := []struct {
			name  string
			ns    int64
			flags uint32
		}{
			{"micro", ts.UnixNano() + 250e6, 1}, {"binary", ts.UnixNano() + 500e6, 2}, {"offset", ts.UnixNano(), 3}, {"again", ts.UnixNano(), 0},
		}
		if len(ps) != len(want) {
			t.Fatalf("%v: %d packets", order, len(ps))
		}
		for i, w := range want {
			if p := ps[i]; p.Interface.Name != w.name || p.Time != w.ns || p.Flags != w.flags || !p.HasFlags || string(p.Comments[0]) != "c" {
				t.Errorf("%v, packet %d: %s %v flags %d, want %+v", order, i, p.Interface.Name, time.Unix(0, p.Time).UTC(), p.Flags, w)
			}
		}
		if last := ps[3].Interface; last.Section != 1 || last.ID != 0 {
			t.Errorf("%v: interface of the second section: section %d id %d", order, last.Section, last.ID)
		}
		var st *pcapread.Record
		for i := range recs {
			if recs[i].Kind == pcapread.KindStats {
				st = &recs[i]
			}
		}
		if st == nil {
			t.Fatalf("%v: no statistics", order)
		}
		wantStats := writer.Stats{Start: ts.UnixNano(), Received: 10, Dropped: 1, FilterAccept: 9, OSDropped: 2, Delivered: 8, Comments: []string{"isb"}}
		if !reflect.DeepEqual(st.Stats, wantStats) {
			t.Errorf("%v: statistics %+v, want %+v", order, st.Stats, wantStats)
		}
	}
}

// Several captures merge in time order; each interface comes before its
// packets; a capture that fails is reported once and the others read on.
func TestMerge(t *testing.T) {
	data := writertest.Bytes()
	later := rewrite(t, data, time.Millisecond/2) // interleaves with data
	truncated := data[:len(data)-100]
	var rs []*pcapread.Reader
	for i, d := range [][]byte{data, later, truncated} {
		r, err := pcapread.NewReader(bytes.NewReader(d), []string{"a", "b", "c"}[i])
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	m := pcapread.Merge(rs...)
	seen := map[*pcapread.Interface]bool{}
	var last int64
	var n, problems int
	err := pcapread.Scan(m, nil, 0, func(rec *pcapread.Record) error {
		switch rec.Kind {
		case pcapread.KindInterface:
			seen[rec.Interface] = true
		case pcapread.KindPacket:
			if !seen[rec.Interface] {
				t.Errorf("packet at %d of %s before its interface", rec.Offset, rec.Interface.Source)
			}
			if rec.Time < last {
				t.Errorf("packet of %s at %v after %v", rec.Interface.Source, rec.Time, last)
			}
			last = rec.Time
			n++
		}
		return nil
	}, func(err error) {
		problems++
		var pe *pcapread.Error
		if !errors.As(err, &pe) || pe.Name != "c" || !pe.Truncated {
			t.Errorf("problem %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if samples := len(writertest.Samples()); n != 3*samples || problems != 1 {
		t.Errorf("%d packets, %d problems; want %d and 1", n, problems, 3*samples)
	}
	if s := m.Section(); s.Application != writertest.Section.Application || s.Comment != writertest.Section.Comment {
		t.Errorf("section of the merge %+v", s)
	}
}

// rewrite copies a capture with its packets shifted in time.
func rewrite(t testing.TB, data []byte, shift time.Duration) []byte {
	t.Helper()
	r, err := pcapread.NewReader(bytes.NewReader(data), "in")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c, err := writer.NewCopier(&out, writertest.Section)
	if err != nil {
		t.Fatal(err)
	}
	rw := pcapread.NewRewriter(c)
	err = pcapread.Scan(pcapread.Merge(r), nil, 0, func(rec *pcapread.Record) error {
		if rec.Kind == pcapread.KindPacket {
			rec.Time += int64(shift)
		}
		return rw.Write(rec)
	}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestSelection(t *testing.T) {
	recs, err := readAll(t, writertest.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ps := packets(recs)
	samples := writertest.Samples()
	atts := writertest.Attachments()
	for _, tc := range []struct {
		name string
		sel  pcapread.Selection
		want func(s sample.Sample) bool
	}{
		{"all", pcapread.Selection{}, func(sample.Sample) bool { return true }},
		{"xmit", pcapread.Selection{Hooks: []sample.Hook{sample.HookXmit}}, func(s sample.Sample) bool { return s.Hook == sample.HookXmit }},
		{"in or out", pcapread.Selection{Hooks: []sample.Hook{sample.HookIn, sample.HookOut}}, func(s sample.Sample) bool { return s.Hook == sample.HookIn }},
		{"cookie", pcapread.Selection{Cookies: []uint64{0xbeef}}, func(sample.Sample) bool { return true }},
		{"other cookie", pcapread.Selection{Cookies: []uint64{1}}, func(sample.Sample) bool { return false }},
		{"route", pcapread.Selection{Routes: []netip.Prefix{mustPrefix("203.0.113.0/24")}}, func(s sample.Sample) bool { return atts[s.Attachment].Route == "203.0.113.0/24" }},
		{"route and hook", pcapread.Selection{Routes: []netip.Prefix{mustPrefix("2001:db8:20::/48")}, Hooks: []sample.Hook{sample.HookIn}},
			func(s sample.Sample) bool { return s.Attachment == 0 }},
		{"content", pcapread.Selection{Match: func(lt layers.LinkType, d []byte, _ uint32) bool { return lt == layers.LinkTypeRaw && d[0]>>4 == 4 }},
			func(s sample.Sample) bool { return s.Data[0]>>4 == 4 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range ps {
				if got, want := tc.sel.Selects(&ps[i]), tc.want(samples[i]); got != want {
					t.Errorf("packet %d: selected %v, want %v", i, got, want)
				}
			}
		})
	}
	// Without lwtdump's metadata nothing is selected by it.
	foreign := pcapread.Record{Kind: pcapread.KindPacket, Interface: &pcapread.Interface{Name: "eth0"}, Data: []byte{0x45}}
	if (&pcapread.Selection{Hooks: []sample.Hook{sample.HookXmit}}).Selects(&foreign) {
		t.Error("a packet without metadata was selected by hook")
	}
	if !(&pcapread.Selection{}).Selects(&foreign) {
		t.Error("a packet without metadata was not selected by the empty selection")
	}
	// The interface's name speaks for a packet without comment.
	ps[0].Comments = nil
	if !(&pcapread.Selection{Hooks: []sample.Hook{sample.HookIn}}).Selects(&pcapread.Record{Kind: pcapread.KindPacket, Interface: ps[0].Interface}) {
		t.Error("a packet without comment was not selected by its interface's hook")
	}
}

func TestIPOffset(t *testing.T) {
	ip4, ip6 := []byte{0x45, 0, 0, 20}, []byte{0x60, 0, 0, 0}
	eth := func(types ...uint16) []byte {
		b := make([]byte, 12)
		for _, t := range types {
			b = binary.BigEndian.AppendUint16(b, t)
			if t == 0x8100 || t == 0x88a8 {
				b = append(b, 0, 1) // the tag's priority and VLAN id
			}
		}
		return append(b, ip4...)
	}
	for _, tc := range []struct {
		name   string
		lt     layers.LinkType
		data   []byte
		offset int
		ok     bool
	}{
		{"raw", layers.LinkTypeRaw, ip6, 0, true},
		{"ipv4", layers.LinkTypeIPv4, ip4, 0, true},
		{"ethernet", layers.LinkTypeEthernet, eth(0x0800), 14, true},
		{"vlan", layers.LinkTypeEthernet, eth(0x8100, 0x86dd), 18, true},
		{"q-in-q", layers.LinkTypeEthernet, eth(0x88a8, 0x8100, 0x0800), 22, true},
		{"arp", layers.LinkTypeEthernet, eth(0x0806), 0, false},
		{"short", layers.LinkTypeEthernet, make([]byte, 10), 0, false},
		{"sll", layers.LinkTypeLinuxSLL, append(append(make([]byte, 14), 0x86, 0xdd), ip6...), 16, true},
		{"sll2", layers.LinkTypeLinuxSLL2, append([]byte{0x08, 0, 0, 0}, make([]byte, 16)...), 20, true},
		{"loopback linux ipv6", layers.LinkTypeNull, []byte{10, 0, 0, 0, 0x60}, 4, true},
		{"loopback big endian ipv4", layers.LinkTypeNull, []byte{0, 0, 0, 2, 0x45}, 4, true},
		{"loopback other", layers.LinkTypeNull, []byte{7, 0, 0, 0}, 0, false},
		{"other link type", layers.LinkTypeIEEE802_11, ip4, 0, false},
	} {
		if off, ok := pcapread.IPOffset(tc.lt, tc.data); off != tc.offset || ok != tc.ok {
			t.Errorf("%s: %d %v, want %d %v", tc.name, off, ok, tc.offset, tc.ok)
		}
	}
}

// Copying keeps every interface with its id, the selected packets with
// their comments and flags, and the statistics; merging two files of one
// capture keeps one interface per attachment.
func TestRewrite(t *testing.T) {
	data := writertest.Bytes()
	for _, files := range []int{1, 2} {
		var rs []*pcapread.Reader
		for i := range files {
			r, err := pcapread.NewReader(bytes.NewReader(data), []string{"a", "b"}[i])
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		var out bytes.Buffer
		c, err := writer.NewCopier(&out, writertest.Section)
		if err != nil {
			t.Fatal(err)
		}
		rw := pcapread.NewRewriter(c)
		sel := pcapread.Selection{Hooks: []sample.Hook{sample.HookXmit}}
		if err := pcapread.Scan(pcapread.Merge(rs...), &sel, 0, rw.Write, func(err error) { t.Error(err) }); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		in, _ := readAll(t, data)
		got, err := readAll(t, out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var ifaces []string
		var stats int
		for _, r := range got {
			switch r.Kind {
			case pcapread.KindInterface:
				ifaces = append(ifaces, r.Interface.Name)
			case pcapread.KindStats:
				stats++
			}
		}
		var want []string
		for _, a := range writertest.Attachments() {
			want = append(want, a.Name())
		}
		if !slices.Equal(ifaces, want) || stats != files*len(want) {
			t.Errorf("%d files: interfaces %q, %d statistics", files, ifaces, stats)
		}
		var wantPkts []pcapread.Record
		for _, p := range packets(in) {
			if m, _ := p.Meta(); m.Hook == sample.HookXmit {
				for range files {
					wantPkts = append(wantPkts, p)
				}
			}
		}
		gotPkts := packets(got)
		if len(gotPkts) != len(wantPkts) {
			t.Fatalf("%d files: %d packets, want %d", files, len(gotPkts), len(wantPkts))
		}
		for i, p := range gotPkts {
			w := wantPkts[i]
			if p.Interface.ID != w.Interface.ID || p.Time != w.Time || !bytes.Equal(p.Data, w.Data) || p.Flags != w.Flags ||
				!slices.EqualFunc(p.Comments, w.Comments, bytes.Equal) {
				t.Errorf("%d files, packet %d: %+v, want %+v", files, i, p, w)
			}
		}
	}
}

func TestTally(t *testing.T) {
	data := writertest.Bytes()
	var tally pcapread.Tally
	for _, name := range []string{"a", "b"} { // two files of one capture run
		r, err := pcapread.NewReader(bytes.NewReader(data), name)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := drain(r)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			tally.Add(&recs[i])
		}
	}
	got := tally.Interfaces()
	if len(got) != 4 {
		t.Fatalf("%d interfaces", len(got))
	}
	x := got[1]
	if x.Name != "lwt_xmit:2001:db8:20::/48@r1_h2" || x.Packets != 10 || !slices.Equal(x.Files, []string{"a", "b"}) ||
		*x.Received != 7 || *x.Dropped != 2 || !slices.Equal(x.Hooks, []string{"lwt_xmit"}) || !slices.Equal(x.Cookies, []string{"0xbeef"}) {
		t.Errorf("%+v", x)
	}
	if e := got[2]; e.Packets != 0 || e.First != nil || *e.Received != 2 || len(e.Hooks) != 0 {
		t.Errorf("%+v", e)
	}
}

// FuzzRead reads anything without panicking, and copies and tallies what
// it reads. The corpus starts from lwtdump's own output.
func FuzzRead(f *testing.F) {
	data := writertest.Bytes()
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[:300])
	f.Add(rewrite(f, data, 0))
	var pcap bytes.Buffer
	w := pcapgo.NewWriter(&pcap)
	w.WriteFileHeader(65535, layers.LinkTypeRaw)
	for _, s := range writertest.Samples() {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, s.Time), CaptureLength: len(s.Data), Length: int(s.OrigLen)}, s.Data)
	}
	f.Add(pcap.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := pcapread.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			if !errors.Is(err, pcapread.ErrNotCapture) && !strings.Contains(err.Error(), "gzip") {
				t.Fatalf("NewReader: %v", err)
			}
			return
		}
		c, err := writer.NewCopier(io.Discard, writer.Section{})
		if err != nil {
			t.Fatal(err)
		}
		rw := pcapread.NewRewriter(c)
		var tally pcapread.Tally
		sel := pcapread.Selection{Hooks: []sample.Hook{sample.HookXmit}}
		for {
			rec, err := r.Next()
			if err != nil {
				var pe *pcapread.Error
				if !errors.Is(err, io.EOF) && !errors.As(err, &pe) {
					t.Fatalf("Next: %v", err)
				}
				break
			}
			tally.Add(rec)
			sel.Selects(rec)
			if err := rw.Write(rec); err != nil {
				t.Fatalf("copy: %v", err)
			}
		}
		tally.Interfaces()
	})
}

// BenchmarkRead reads a capture of lwtdump's samples from memory.
func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	w, err := writer.New(writer.Stream(&buf), writer.Options{Section: writertest.Section, Attachments: writertest.Attachments()})
	if err != nil {
		b.Fatal(err)
	}
	samples := writertest.Samples()
	for i := 0; buf.Len() < 8<<20; i++ {
		if err := w.WriteSample(&samples[i%len(samples)]); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	capture := buf.Bytes()
	b.SetBytes(int64(len(capture)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := pcapread.NewReader(bytes.NewReader(capture), "bench")
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

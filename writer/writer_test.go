package writer

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer/pcapng"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var testAttachments = []sample.Attachment{
	{Hook: sample.HookXmit, Cookie: 0xbeef, Route: "2001:db8:20::/48", Dev: "r1_h2", Table: 254, Netns: "r1", Snaplen: 262144},
	{Hook: sample.HookIn, Cookie: 1, Route: "192.0.2.128/25", Dev: "r1_h2", Table: 100, Snaplen: 64, Filter: "udp"},
}

var testSection = Section{Application: "lwtdump test", OS: "Linux 6.18", Hardware: "x86_64", Comment: "command=lwtdump -i 2001:db8:20::/48 host=test"}

// testPacket returns n bytes that count up from seed.
func testPacket(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range n {
		p[i] = seed + byte(i)
	}
	return p
}

// ipPacket returns a packet of n bytes that starts with the IP version and
// counts up from seed after it.
func ipPacket(version byte, n int, seed byte) []byte {
	p := testPacket(n, seed)
	p[0] = version<<4 | 5
	return p
}

// testSamples are three samples on the two test attachments, one truncated by snaplen.
func testSamples() []sample.Sample {
	return []sample.Sample{
		{Attachment: 0, Hook: sample.HookXmit, Cookie: 0xbeef, Ifindex: 3, CPU: 1, Protocol: 0x86dd, Time: 1_795_600_000_123_456_789, OrigLen: 104, Data: ipPacket(6, 104, 1)},
		{Attachment: 1, Hook: sample.HookIn, Cookie: 1, Ifindex: 2, CPU: 0, Mark: 0x2a, Protocol: 0x0800, Time: 1_795_600_000_223_456_789, OrigLen: 1500, Data: ipPacket(4, 64, 2)},
		{Attachment: 0, Hook: sample.HookXmit, Cookie: 0xbeef, Ifindex: 3, CPU: 0, Protocol: 0x86dd, Time: 1_795_600_001_000_000_001, OrigLen: 61, Data: ipPacket(6, 61, 3)},
	}
}

func testCounters(id uint32) (sample.Counters, error) {
	return []sample.Counters{{Seen: 4, Dropped: 2}, {Seen: 9, Dropped: 0, Filtered: 8}}[id], nil
}

// writeTestCapture writes the test samples with fixed times, so the bytes are reproducible.
func writeTestCapture(t testing.TB, out Output) {
	t.Helper()
	w, err := New(out, Options{
		Section: testSection, Attachments: testAttachments, Counters: testCounters,
		Start: time.Unix(0, 1_795_600_000_000_000_000), Now: fixedNow(1_795_600_002_000_000_000),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range testSamples() {
		if err := w.WriteSample(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func fixedNow(ns int64) func() time.Time { return func() time.Time { return time.Unix(0, ns) } }

// The bytes of a small capture are exactly those of the golden file
// (go test ./writer -update rewrites it after a deliberate change).
func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	writeTestCapture(t, Stream(&buf))
	golden := filepath.Join("testdata", "small.pcapng")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("capture differs from %s (%d bytes, want %d); run go test ./writer -update after a deliberate change", golden, buf.Len(), len(want))
	}
}

// pcapgo reads back everything the writer wrote: section, interfaces,
// packets with their comments and flags, and the statistics.
func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	writeTestCapture(t, Stream(&buf))
	stats := map[int]pcapgo.NgInterfaceStatistics{}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.NgReaderOptions{
		StatisticsCallback: func(id int, s pcapgo.NgInterfaceStatistics) { stats[id] = s },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.SectionInfo(); got.Application != testSection.Application || got.OS != testSection.OS ||
		got.Hardware != testSection.Hardware || got.Comment != testSection.Comment {
		t.Errorf("section %+v", got)
	}
	samples := testSamples()
	for i := range samples {
		s := &samples[i]
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		a := testAttachments[s.Attachment]
		wantComment := string(AppendComment(nil, s, &a))
		wantDir := pcapgo.NgEpbFlagDirectionOutbound
		if a.Hook == sample.HookIn {
			wantDir = pcapgo.NgEpbFlagDirectionInbound
		}
		switch {
		case !bytes.Equal(data, s.Data):
			t.Errorf("packet %d: data differs", i)
		case ci.Timestamp.UnixNano() != s.Time:
			t.Errorf("packet %d: time %d, want %d", i, ci.Timestamp.UnixNano(), s.Time)
		case ci.Length != int(s.OrigLen) || ci.CaptureLength != len(s.Data):
			t.Errorf("packet %d: length %d/%d, want %d/%d", i, ci.CaptureLength, ci.Length, len(s.Data), s.OrigLen)
		case ci.InterfaceIndex != int(s.Attachment):
			t.Errorf("packet %d: interface %d, want %d", i, ci.InterfaceIndex, s.Attachment)
		case len(opts.Comments) != 1 || opts.Comments[0] != wantComment:
			t.Errorf("packet %d: comments %q, want %q", i, opts.Comments, wantComment)
		case opts.Flags == nil || opts.Flags.Direction != wantDir:
			t.Errorf("packet %d: flags %+v, want direction %v", i, opts.Flags, wantDir)
		}
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the packets: %v, want EOF", err)
	}
	for i, a := range testAttachments {
		intf, err := r.Interface(i)
		if err != nil {
			t.Fatal(err)
		}
		if intf.Name != a.Name() || intf.Description != Description(a) || intf.Filter != a.Filter ||
			intf.LinkType != LinkType(testAttachments) || intf.SnapLength != a.Snaplen || intf.TimestampResolution != 9 {
			t.Errorf("interface %d: %+v", i, intf)
		}
		c, _ := testCounters(uint32(i))
		st := stats[i]
		if st.PacketsReceived != c.Seen || st.PacketsDropped != c.Dropped ||
			st.StartTime.UnixNano() != 1_795_600_000_000_000_000 || st.EndTime.UnixNano() != 1_795_600_002_000_000_000 {
			t.Errorf("interface %d statistics: %+v", i, st)
		}
	}
}

// The hand-written packet block is byte for byte what pcapgo writes.
func TestEPBMatchesPcapgo(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 61, 104, 1500} {
		for _, comment := range []string{"", "a", "hook=lwt_xmit cookie=0x1", "abcd"} {
			data := testPacket(n, byte(n))
			var ref bytes.Buffer
			ng, err := pcapgo.NewNgWriterInterface(&ref, pcapgo.NgInterface{LinkType: layers.LinkTypeRaw}, pcapgo.NgWriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ng.Flush()
			ref.Reset()
			var opts pcapgo.NgPacketOptions
			opts.Comments = []string{comment}
			opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionOutbound}
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, 1_795_600_000_987_654_321), CaptureLength: n, Length: n + 7}
			if err := ng.WritePacketWithOptions(ci, data, opts); err != nil {
				t.Fatal(err)
			}
			ng.Flush()
			got := appendEPB(nil, 0, ci.Timestamp.UnixNano(), uint32(n+7), data, []byte(comment), pcapng.FlagOutbound)
			if !bytes.Equal(got, ref.Bytes()) {
				t.Errorf("%d bytes, comment %q:\n got %x\nwant %x", n, comment, got, ref.Bytes())
			}
		}
	}
}

// A Writer keeps its first error, like bufio.Writer, and never writes a partial block.
func TestStickyError(t *testing.T) {
	out := &failingOutput{limit: 1}
	w, err := New(out, Options{Attachments: testAttachments[:1], Unbuffered: true})
	if err != nil {
		t.Fatal(err)
	}
	s := testSamples()[0]
	first := w.WriteSample(&s)
	if first == nil {
		t.Fatal("write past the failing output succeeded")
	}
	if again := w.WriteSample(&s); !errors.Is(again, errFull) {
		t.Fatalf("second write: %v, want the first error", again)
	}
	if err := w.Close(); !errors.Is(err, errFull) {
		t.Fatalf("close: %v, want the first error", err)
	}
	if out.writes != 2 {
		t.Fatalf("%d writes reached the output, want 2 (header, failed packet)", out.writes)
	}
}

var errFull = errors.New("no space left")

type failingOutput struct {
	limit, writes int
}

func (f *failingOutput) Write(p []byte) (int, error) {
	f.writes++
	if f.writes > f.limit {
		return 0, errFull
	}
	return len(p), nil
}
func (f *failingOutput) RolloverDue(time.Time, int64) bool { return false }
func (f *failingOutput) Rollover() error                   { return nil }

func BenchmarkWriteSample(b *testing.B) {
	w, err := New(Stream(io.Discard), Options{Attachments: testAttachments})
	if err != nil {
		b.Fatal(err)
	}
	s := sample.Sample{Attachment: 0, Hook: sample.HookXmit, Cookie: 0xbeef, Ifindex: 3, CPU: 1, Protocol: 0x86dd,
		Time: time.Now().UnixNano(), OrigLen: 100, Data: ipPacket(6, 100, 0)}
	b.ReportAllocs()
	b.SetBytes(int64(len(s.Data)))
	for b.Loop() {
		s.Time++
		if err := w.WriteSample(&s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

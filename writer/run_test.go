package writer

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

func TestRunComment(t *testing.T) {
	for _, tc := range []struct {
		comment string
		run     string
		seq     int
		ok      bool
	}{
		{RunComment("command=lwtdump -i 2001:db8:20::/48 host=r1", "0123456789abcdef", 1), "0123456789abcdef", 1, true},
		{RunComment("", "0123456789abcdef", 42), "0123456789abcdef", 42, true},
		// The command line may hold anything; only the end counts.
		{RunComment("command=lwtdump 'run=x seq=9' host=r1", "feed", 3), "feed", 3, true},
		{"command=lwtdump -i 2001:db8:20::/48 host=r1", "", 0, false},
		{"run=abc seq=0", "", 0, false},
		{"run=abc seq=01", "", 0, false},
		{"run=abc seq=1 extra", "", 0, false},
		{"xrun=abc seq=1", "", 0, false},
		// A copy (lwtdump -r -w) ends with what was selected: not a file of the run.
		{RunComment("command=lwtdump", "abc", 2) + "\nselected by lwtdump 1.0: lwtdump -r x", "", 0, false},
		{"", "", 0, false},
	} {
		run, seq, ok := ParseRun(tc.comment)
		if run != tc.run || seq != tc.seq || ok != tc.ok {
			t.Errorf("ParseRun(%q) = %q, %d, %v; want %q, %d, %v", tc.comment, run, seq, ok, tc.run, tc.seq, tc.ok)
		}
	}
}

// rollingOutput rolls over after every packets packets and keeps the bytes
// of each file, and the writer's section statistics at each Rollover.
type rollingOutput struct {
	every   int
	files   []bytes.Buffer
	w       *Writer
	stats   []SectionStats
	packets int
}

func (o *rollingOutput) Write(p []byte) (int, error) {
	if len(o.files) == 0 {
		o.files = append(o.files, bytes.Buffer{})
	}
	return o.files[len(o.files)-1].Write(p)
}

func (o *rollingOutput) RolloverDue(time.Time, int64) bool {
	o.packets++
	return o.packets > 1 && (o.packets-1)%o.every == 0
}

func (o *rollingOutput) Rollover() error {
	o.stats = append(o.stats, o.w.SectionStats())
	o.files = append(o.files, bytes.Buffer{})
	return nil
}

// With Options.Run, every section header ends with run=RUN seq=N, N the
// section's number, and SectionStats counts each section's packets and
// their earliest and latest time, as the Output holds them at Rollover.
func TestRunSections(t *testing.T) {
	out := &rollingOutput{every: 2}
	w, err := New(out, Options{Section: testSection, Attachments: testAttachments, Run: "00c0ffee00c0ffee", Start: time.Unix(1, 0), Now: fixedNow(2)})
	if err != nil {
		t.Fatal(err)
	}
	out.w = w
	times := []int64{500, 400, 900, 700, 800}
	for i, ts := range times {
		s := sample.Sample{Attachment: 0, Hook: sample.HookXmit, Time: ts, OrigLen: 10, Data: testPacket(10, byte(i))}
		if err := w.WriteSample(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.stats = append(out.stats, w.SectionStats())
	want := []SectionStats{{1, 2, 400, 500}, {2, 2, 700, 900}, {3, 1, 800, 800}}
	if len(out.stats) != len(want) {
		t.Fatalf("stats %+v, want %+v", out.stats, want)
	}
	for i := range want {
		if out.stats[i] != want[i] {
			t.Errorf("section %d: %+v, want %+v", i+1, out.stats[i], want[i])
		}
		r, err := pcapgo.NewNgReader(&out.files[i], pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		run, seq, ok := ParseRun(r.SectionInfo().Comment)
		if !ok || run != "00c0ffee00c0ffee" || seq != i+1 {
			t.Errorf("file %d: section comment %q", i+1, r.SectionInfo().Comment)
		}
		n := 0
		for ; ; n++ {
			if _, _, err := r.ReadPacketData(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if uint64(n) != want[i].Packets {
			t.Errorf("file %d: %d packets, want %d", i+1, n, want[i].Packets)
		}
	}
	if w.Sections() != 3 {
		t.Errorf("Sections() = %d", w.Sections())
	}
	if _, err := New(Stream(io.Discard), Options{Attachments: testAttachments, Run: "a b"}); err == nil {
		t.Error("a run with a space was accepted")
	}
}

// Packets of a Write that failed are not counted: the statistics describe
// what the Output holds.
func TestSectionStatsFailedWrite(t *testing.T) {
	out := &failingOutput{limit: 2}
	w, err := New(out, Options{Attachments: testAttachments[:1]})
	if err != nil {
		t.Fatal(err)
	}
	s := testSamples()[0]
	if err := w.WriteSample(&s); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Time += 10
	if err := w.WriteSample(&s); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(time.Now()); !errors.Is(err, errFull) {
		t.Fatalf("flush: %v, want %v", err, errFull)
	}
	if got, want := w.SectionStats(), (SectionStats{Seq: 1, Packets: 1, First: s.Time - 10, Last: s.Time - 10}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

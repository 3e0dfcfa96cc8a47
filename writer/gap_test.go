package writer

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer/pcapngtest"
)

func TestGapComment(t *testing.T) {
	const s = int64(1_795_600_001_234_567_890)
	closed := sample.Gap{Start: s, End: s + 3_222_000_000, Cause: "route removed by zebra (pid 4242)", Back: "via fe80::1 dev r1_h2 proto bgp"}
	open := sample.Gap{Start: s, Cause: "route removed by ip (pid 77)"}
	for _, tc := range []struct {
		g          sample.Gap
		want       string
		start, end int64
	}{
		{closed, "gap from=2026-11-25T09:46:41.234567890Z to=2026-11-25T09:46:44.456567890Z seconds=3.222: route removed by zebra (pid 4242); captured again (route via fe80::1 dev r1_h2 proto bgp)", s, s + 3_222_000_000},
		{open, "gap from=2026-11-25T09:46:41.234567890Z to=open seconds=9.000: route removed by ip (pid 77); not back when this file ended", s, 0},
	} {
		got := GapComment(tc.g, s+9e9)
		if got != tc.want {
			t.Errorf("GapComment:\n got %s\nwant %s", got, tc.want)
		}
		start, end, ok := ParseGap(got)
		if !ok || start != tc.start || end != tc.end {
			t.Errorf("ParseGap(%q) = %d, %d, %v", got, start, end, ok)
		}
	}
	for _, c := range []string{"", "gap", "gap from=x to=open seconds=1: y", "hook=lwt_xmit cookie=0x0"} {
		if _, _, ok := ParseGap(c); ok {
			t.Errorf("ParseGap(%q) accepted", c)
		}
	}
}

// Each file's statistics blocks carry the gaps of its own time: a gap
// within the first file in it alone; a gap open across a rotation in both,
// open in the first, closed in the second; tshark reads the comments from
// the interface's block, one per gap.
func TestGapsInStatistics(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	const sec = int64(time.Second)
	start := int64(1_795_600_000_000_000_000)
	now := start
	gaps := []sample.Gap{
		{Start: start + 1*sec, End: start + 2*sec, Cause: "route removed by zebra (pid 42)", Back: "via fe80::1 dev r1_h2 proto bgp"},
		{Start: start + 3*sec, End: start + 11*sec/2, Cause: "route replaced by ip (pid 7): an identical route", Back: "via 2001:db8:2::1 dev r1_h2 proto boot"},
	}
	// The rollover takes a second (a slow disk, the manifest): a gap that
	// ends meanwhile belongs to the second file, where it is closed.
	out := slowRollover{rollingOutput: rollingOutput{every: 2}, during: func() { now += sec }}
	w, err := New(&out, Options{
		Section: testSection, Attachments: testAttachments, Counters: testCounters,
		Start: time.Unix(0, start), Now: func() time.Time { return time.Unix(0, now) },
		Gaps: func(a uint32) []sample.Gap {
			if a != 0 {
				return nil
			}
			var g []sample.Gap
			for _, x := range gaps {
				if x.Start <= now {
					if x.End > now {
						x.End, x.Back = 0, ""
					}
					g = append(g, x)
				}
			}
			return g
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out.w = w
	for i, ts := range []int64{start + sec/2, start + 5*sec/2, start + 5*sec, start + 10*sec} {
		now = ts
		s := testSamples()[0]
		s.Time = ts
		if err := w.WriteSample(&s); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	now = start + 11*sec
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(out.files) != 2 {
		t.Fatalf("%d files, want 2", len(out.files))
	}
	want := [][]string{
		{GapComment(gaps[0], 0), GapComment(sample.Gap{Start: gaps[1].Start, Cause: gaps[1].Cause}, start+5*sec)},
		{GapComment(gaps[1], 0)},
	}
	for i, f := range out.files {
		path := filepath.Join(t.TempDir(), "f.pcapng")
		if err := os.WriteFile(path, f.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		got := pcapngtest.ISBComments(t, path)
		if !slices.Equal(got[0], want[i]) || len(got[1]) != 0 {
			t.Errorf("file %d: statistics comments %v, want %q on interface 0 only", i+1, got, want[i])
		}
	}
}

// slowRollover is a rollingOutput whose Rollover calls during first.
type slowRollover struct {
	rollingOutput
	during func()
}

func (o *slowRollover) Rollover() error {
	o.during()
	return o.rollingOutput.Rollover()
}

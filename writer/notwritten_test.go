package writer

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer/pcapngtest"
)

// The comments of the packets left out read back into the counters they
// say, and only those.
func TestNotWrittenComments(t *testing.T) {
	for _, c := range []sample.Counters{
		{}, {Unwritten: 49}, {AfterEnd: 12}, {Unwritten: 1, AfterEnd: 2},
	} {
		var back sample.Counters
		for _, comment := range NotWrittenComments(c) {
			n, ok := ParseNotWritten(comment)
			if !ok {
				t.Fatalf("%q does not read back", comment)
			}
			back.Unwritten += n.Unwritten
			back.AfterEnd += n.AfterEnd
		}
		if back != c {
			t.Errorf("%+v: comments %q read back as %+v", c, NotWrittenComments(c), back)
		}
	}
	if got := NotWrittenComments(sample.Counters{Unwritten: 49}); !slices.Equal(got, []string{"not written packets=49: lost to a failed write"}) {
		t.Errorf("comment %q", got)
	}
	for _, other := range []string{"gap from=2026-12-01T12:00:01Z to=open seconds=1.000: x", "not written packets=x: lost to a failed write", "not written packets=1: other"} {
		if _, ok := ParseNotWritten(other); ok {
			t.Errorf("%q read as a not-written comment", other)
		}
	}
}

// scriptedOutput fails the Writes whose numbers (from 1) are in fail, and
// keeps the bytes of the others; a failed Write leaves nothing, as a
// Rotator's on a regular file, and it says so when undoes is set. It rolls
// over at the rollAt-th question (from 1), if any.
type scriptedOutput struct {
	fail      map[int]bool
	undoes    bool
	rollAt    int
	writes    int
	questions int
	data      bytes.Buffer
}

func (o *scriptedOutput) Write(p []byte) (int, error) {
	o.writes++
	if o.fail[o.writes] {
		return 0, errFull
	}
	return o.data.Write(p)
}

func (o *scriptedOutput) RolloverDue(time.Time, int64) bool {
	o.questions++
	return o.questions == o.rollAt
}

func (o *scriptedOutput) Rollover() error {
	o.data.Reset() // the next file
	return nil
}

func (o *scriptedOutput) UndoesFailedWrites() bool { return o.undoes }

// After a failed write, Delivered counts only the packets the Output holds,
// and Close, which returns the failure, still ends the section with its
// statistics when it can: when the Output undoes a failed write, holds the
// section's header, and takes the few bytes. The statistics then say the
// packets delivered and those lost (from the Counters, as the capture
// tallies them). Otherwise the Output gets no further Write.
func TestStatisticsAfterFailedWrite(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	for _, tc := range []struct {
		name       string
		out        *scriptedOutput
		wantWrites int
		wantISB    bool
	}{
		// Writes: 1 the header, 2 the first packet, 3 the two others (fails), 4 the statistics.
		{"undone, room left", &scriptedOutput{fail: map[int]bool{3: true}, undoes: true}, 4, true},
		{"undone, no room", &scriptedOutput{fail: map[int]bool{3: true, 4: true}, undoes: true}, 4, false},
		{"not undone", &scriptedOutput{fail: map[int]bool{3: true}}, 3, false},
		// A rollover before the second packet: 3 the first file's end, 4
		// the next file's header with two packets (fails): nothing of the
		// next file reached the Output, which must stay empty.
		{"no header in the output", &scriptedOutput{fail: map[int]bool{4: true}, undoes: true, rollAt: 3}, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counters := func(id uint32) (sample.Counters, error) {
				return sample.Counters{Seen: 5, Dropped: 1, Unwritten: 3, AfterEnd: 1}, nil
			}
			w, err := New(tc.out, Options{Section: testSection, Attachments: testAttachments[:1], Counters: counters, Now: fixedNow(2e18)})
			if err != nil {
				t.Fatal(err)
			}
			s := testSamples()[0]
			var errs []error
			for i := range 3 {
				s.Time += int64(i)
				errs = append(errs, w.WriteSample(&s))
				if i != 1 {
					errs = append(errs, w.Flush(time.Unix(0, s.Time)))
				}
			}
			if err := errors.Join(errs...); !errors.Is(err, errFull) {
				t.Fatalf("writes: %v, want %v", err, errFull)
			}
			if tc.out.rollAt == 0 && w.Delivered(0) != 1 {
				t.Errorf("Delivered %d after the failure, want 1", w.Delivered(0))
			}
			if err := w.Close(); !errors.Is(err, errFull) {
				t.Fatalf("Close: %v, want the first error", err)
			}
			if err := w.Close(); !errors.Is(err, errFull) || tc.out.writes != tc.wantWrites {
				t.Fatalf("Close again: %v; %d writes, want %d", err, tc.out.writes, tc.wantWrites)
			}
			if tc.out.rollAt != 0 {
				if tc.out.data.Len() != 0 {
					t.Fatalf("the next file holds %d bytes", tc.out.data.Len())
				}
				return
			}
			path := filepath.Join(t.TempDir(), "f.pcapng")
			if err := os.WriteFile(path, tc.out.data.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			got := pcapngtest.ISBComments(t, path)
			delivered, err := exec.Command("tshark", "-r", path, "-X", "read_format:MIME Files Format", "-T", "fields",
				"-e", "pcapng.options.option.data.interface.received", "-e", "pcapng.options.option.data.interface.delivered_to_user").Output()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"not written packets=3: lost to a failed write", "not written packets=1: " + reasonAfterEnd}
			switch {
			case tc.wantISB && (!slices.Equal(got[0], want) || strings.TrimSpace(string(delivered)) != "5\t1"):
				t.Errorf("statistics: comments %q, received and delivered %q; want %q, 5 and 1", got[0], delivered, want)
			case !tc.wantISB && (len(got) != 0 || strings.TrimSpace(string(delivered)) != ""):
				t.Errorf("statistics written: %v %q", got, delivered)
			}
		})
	}
}

// lastOutput is a scriptedOutput whose current file is its last one.
type lastOutput struct{ scriptedOutput }

func (*lastOutput) Last() bool { return true }

// When the rollover of a LastOutput's last file is due, the Writer returns
// ErrDone and leaves the section open; Close ends it with the statistics
// as they are then (the capture stopped), and later calls get ErrDone.
func TestLastFileEndsAtClose(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	out := &lastOutput{scriptedOutput{rollAt: 2}}
	seen := uint64(1)
	counters := func(uint32) (sample.Counters, error) {
		return sample.Counters{Seen: seen, AfterEnd: seen - 1}, nil
	}
	w, err := New(out, Options{Section: testSection, Attachments: testAttachments[:1], Counters: counters, Now: fixedNow(2e18)})
	if err != nil {
		t.Fatal(err)
	}
	s := testSamples()[0]
	if err := w.WriteSample(&s); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteSample(&s); !errors.Is(err, ErrDone) || !errors.Is(err, sample.ErrDone) {
		t.Fatalf("at the last file's rollover: %v, want ErrDone", err)
	}
	seen = 4 // the hook saw three more before it was detached
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.WriteSample(&s); !errors.Is(err, ErrDone) {
		t.Fatalf("after Close: %v, want ErrDone", err)
	}
	path := filepath.Join(t.TempDir(), "f.pcapng")
	if err := os.WriteFile(path, out.data.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("tshark", "-r", path, "-X", "read_format:MIME Files Format", "-T", "fields",
		"-e", "pcapng.options.option.data.interface.received", "-e", "pcapng.options.option.data.interface.delivered_to_user").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "4\t1" || !slices.Equal(pcapngtest.ISBComments(t, path)[0], []string{"not written packets=3: " + reasonAfterEnd}) {
		t.Errorf("statistics: received and delivered %q, comments %q; want 4, 1 and 3 seen after the end", got, pcapngtest.ISBComments(t, path)[0])
	}
}

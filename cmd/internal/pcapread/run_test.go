package pcapread_test

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/lwtdump/lwtdump/writer/writertest"
	"slices"
	"testing"
)

func newReader(t *testing.T, data []byte, name string) *pcapread.Reader {
	t.Helper()
	r, err := pcapread.NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Run reads the run and sequence number from the section header before
// the first record, and the records still come whole after it.
func TestReaderRun(t *testing.T) {
	files := writertest.Rotated("00112233aabbccdd", 3)
	r := newReader(t, files[1], "f1")
	run, seq, ok := r.Run()
	if !ok || run != "00112233aabbccdd" || seq != 2 {
		t.Fatalf("Run() = %q, %d, %v", run, seq, ok)
	}
	recs, err := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(packets(recs)); n != 3 || recs[0].Kind != pcapread.KindInterface {
		t.Errorf("%d packets, first record %v", n, recs[0].Kind)
	}
	if _, _, ok := newReader(t, writertest.Bytes(), "plain").Run(); ok {
		t.Error("a capture without a run names one")
	}
	// A damaged header: no run, and Next says why.
	bad := bytes.Clone(files[0])
	bad[8] = 0 // the byte order magic
	r = newReader(t, bad, "bad")
	if _, _, ok := r.Run(); ok {
		t.Error("a damaged header names a run")
	}
	var pe *pcapread.Error
	if _, err := r.Next(); !errors.As(err, &pe) || pe.Offset != 0 {
		t.Errorf("Next after a damaged header: %v", err)
	}
}

// The files of a run are read one after the other in sequence order,
// whatever order they are given in; another capture is merged with them
// by time; a damaged file of a run is reported once and the run goes on
// with its next file.
func TestMergeRun(t *testing.T) {
	files := writertest.Rotated("00112233aabbccdd", 2)
	if len(files) < 4 {
		t.Fatalf("%d files", len(files))
	}
	want := timesOf(t, pcapread.Merge(newReader(t, writertest.Bytes(), "whole")))

	order := []int{2, 0, 3, 1}
	for i := 4; i < len(files); i++ {
		order = append(order, i)
	}
	var rs []*pcapread.Reader
	for _, i := range order {
		rs = append(rs, newReader(t, files[i], fmt.Sprintf("f%d", i)))
	}
	if got := timesOf(t, pcapread.Merge(rs...)); !slices.Equal(got, want) {
		t.Errorf("run in sequence order: %v, want %v", got, want)
	}

	// Concatenated, not merged by time: a file of the run whose packets
	// are older than its predecessor's still comes after it.
	rs = nil
	for _, i := range []int{1, 0} {
		rs = append(rs, newReader(t, files[i], fmt.Sprintf("f%d", i)))
	}
	got := timesOf(t, pcapread.Merge(rs...))
	if w := append(timesOf(t, pcapread.Merge(newReader(t, files[0], "a"))), timesOf(t, pcapread.Merge(newReader(t, files[1], "b")))...); !slices.Equal(got, w) {
		t.Errorf("two files of a run: %v, want %v", got, w)
	}

	// With a damaged middle file.
	rs = nil
	for i, f := range files {
		if i == 1 {
			f = f[:len(f)-10]
		}
		rs = append(rs, newReader(t, f, fmt.Sprintf("f%d", i)))
	}
	var problems []error
	var n int
	err := pcapread.Scan(pcapread.Merge(rs...), nil, 0, func(rec *pcapread.Record) error {
		if rec.Kind == pcapread.KindPacket {
			n++
		}
		return nil
	}, func(err error) { problems = append(problems, err) })
	if err != nil || len(problems) != 1 || n != len(want) { // the cut falls in the statistics at the end
		t.Errorf("damaged middle file: %d packets (want %d), problems %v, %v", n, len(want), problems, err)
	}
}

func timesOf(t *testing.T, m *pcapread.Merger) []int64 {
	t.Helper()
	var ts []int64
	err := pcapread.Scan(m, nil, 0, func(rec *pcapread.Record) error {
		if rec.Kind == pcapread.KindPacket {
			ts = append(ts, rec.Time)
		}
		return nil
	}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestSummarize(t *testing.T) {
	files := writertest.Rotated("00112233aabbccdd", 4)
	s, err := pcapread.Summarize(bytes.NewReader(files[0]), "f0")
	if err != nil || s.Run != "00112233aabbccdd" || s.Seq != 1 || s.Packets != 4 || s.Sections != 1 || s.Damage != nil || s.First == 0 || s.Last <= s.First {
		t.Errorf("Summarize = %+v, %v", s, err)
	}
	s, err = pcapread.Summarize(bytes.NewReader(files[0][:len(files[0])-7]), "cut")
	if err != nil || s.Damage == nil || !s.Damage.Truncated || s.Packets != 4 {
		t.Errorf("a cut file: %+v, %v", s, err)
	}
	if _, err := pcapread.Summarize(bytes.NewReader([]byte("hello world")), "text"); !errors.Is(err, pcapread.ErrNotCapture) {
		t.Errorf("a text file: %v", err)
	}
}

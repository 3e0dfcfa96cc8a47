package main

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/writertest"
)

// files is a writer.Output of files in memory: a new one at every
// Rollover; with every, each file holds one packet, as with -C of one byte.
type files struct {
	every bool
	files []*bytes.Buffer
	n     int // packets in the current file (RolloverDue is asked before each)
}

func (f *files) Write(p []byte) (int, error) {
	if len(f.files) == 0 {
		f.files = append(f.files, &bytes.Buffer{})
	}
	return f.files[len(f.files)-1].Write(p)
}

func (f *files) RolloverDue(time.Time, int64) bool {
	f.n++
	return f.every && f.n > 1
}

func (f *files) Rollover() error {
	f.files, f.n = append(f.files, &bytes.Buffer{}), 1 // the packet about to be written
	return nil
}

// writeAll writes writertest's samples to out until the writer ends it,
// and closes the writer; it returns the error that ended it.
func writeAll(t *testing.T, out writer.Output) error {
	t.Helper()
	var w *writer.Writer
	w, err := writer.New(out, writer.Options{Section: writertest.Section, Attachments: writertest.Attachments(),
		Counters: writertest.Counters(func(a uint32) uint64 { return w.Delivered(a) }), Start: writertest.Start})
	if err != nil {
		t.Fatal(err)
	}
	var runErr error
	for _, s := range writertest.Samples() {
		if runErr = w.WriteSample(&s); runErr != nil {
			break
		}
	}
	if err := w.Close(); !errors.Is(err, runErr) && runErr != nil {
		t.Fatalf("close: %v after %v", err, runErr)
	}
	return runErr
}

// packets counts the packets of a pcapng and fails the test unless it reads
// to its end.
func packets(t *testing.T, b []byte) int {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n+1, err)
		}
		n++
	}
}

// -a filesize ends a stream (or a file that does not rotate) once it holds
// the size: a complete pcapng, ended as writer.ErrDone, a normal end, with
// the condition said. With rotation, the next file begins instead.
func TestAutostopFileSize(t *testing.T) {
	all := len(writertest.Samples())
	a, err := parseAutostop([]string{"filesize:1"}, "-", false)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = writeAll(t, a.output(writer.Stream(&b), false))
	var reached autostopReached
	if !errors.As(err, &reached) || !errors.Is(err, writer.ErrDone) || err.Error() != "-a filesize:1 reached" {
		t.Fatalf("error %v, want -a filesize:1 reached", err)
	}
	if n := packets(t, b.Bytes()); b.Len() < 1000 || n == 0 || n >= all {
		t.Errorf("%d bytes, %d of %d packets", b.Len(), n, all)
	}

	out := &files{}
	if err := writeAll(t, a.output(out, true)); err != nil {
		t.Fatalf("rotating: %v", err)
	}
	n := 0
	for _, f := range out.files {
		n += packets(t, f.Bytes())
	}
	if len(out.files) < 2 || n != all {
		t.Errorf("rotating: %d files, %d of %d packets", len(out.files), n, all)
	}
}

// -a files ends a rotating output once that many files are written.
func TestAutostopFiles(t *testing.T) {
	a, err := parseAutostop([]string{"files:3"}, "x.pcapng", true)
	if err != nil {
		t.Fatal(err)
	}
	out := &files{every: true}
	err = writeAll(t, a.output(out, true))
	if !errors.Is(err, writer.ErrDone) || err.Error() != "-a files:3 reached" {
		t.Fatalf("error %v, want -a files:3 reached", err)
	}
	if len(out.files) != 3 {
		t.Fatalf("%d files, want 3", len(out.files))
	}
	for i, f := range out.files {
		if n := packets(t, f.Bytes()); n != 1 {
			t.Errorf("file %d: %d packets, want 1", i+1, n)
		}
	}
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/writer"
)

var _ writer.Output = rotation{}

// Bad rotation flags are usage errors (exit 2, one line), found before
// anything is touched.
func TestRotationFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pcapng")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-C", "0", "-w", out}, "-C 0: give a size"},
		{[]string{"-C", "-3", "-w", out}, "-C -3: give a size"},
		{[]string{"-C", "1x", "-w", out}, "-C 1x: give a size"},
		{[]string{"-C", "1", "-w", "-"}, "-C needs -w FILE"},
		{[]string{"-C", "1"}, "-C needs -w FILE"},
		{[]string{"-G", "-1", "-w", out}, "-G -1: give a number of seconds"},
		{[]string{"-G", "0", "-w", out}, "-G 0: give a number of seconds"},
		{[]string{"-G", "x", "-w", out}, `invalid value "x" for flag -G`},
		{[]string{"-W", "3", "-w", out}, "-W 3 needs -C (a ring of files) or -G"},
		{[]string{"-C", "1", "-W", "0", "-w", out}, "-W 0: give a number of files"},
		{[]string{"-z", "gzip", "-w", "-"}, "-z needs -w FILE"},
		{[]string{"-z", filepath.Join(dir, "missing"), "-w", out}, "no such program"},
		{[]string{"--file-mode", "0600", "-w", "-"}, "--file-mode needs -w FILE"},
		{[]string{"--no-manifest", "-w", "-"}, "--no-manifest needs -w FILE"},
		{[]string{"--file-mode", "0800", "-w", out}, "--file-mode 0800: give permissions in octal"},
		{[]string{"--file-mode", "01600", "-w", out}, "--file-mode 01600: give permissions in octal"},
		{[]string{"-G", "1", "-w", out + "-%Q"}, "unknown conversion %Q"},
		{[]string{"-G", "1", "-w", filepath.Join(dir, "%Y", "out")}, "does not exist; create it first"},
		{[]string{"-w", filepath.Join(dir, "no", "out")}, "does not exist; create it first"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"lwtdump", "-i", "2001:db8:20::/48"}, tc.args...)
		code := run(args, &stdout, &stderr)
		if code != exitUsage || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
		}
	}
}

func TestParseFileSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1", 1_000_000}, {"250", 250_000_000}, {"64k", 64 << 10}, {"2M", 2 << 20}, {"1g", 1 << 30},
		{"0", 0}, {"-1", 0}, {"k", 0}, {"1.5", 0}, {"1t", 0}, {"", 0}, {"9999999999999999", 0},
	} {
		got, err := parseFileSize(tc.in)
		if (tc.want == 0) != (err != nil) || got != tc.want {
			t.Errorf("parseFileSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// The end of a capture: a gone reader and the last -G -W file are normal;
// the writer's first error, which Close returns again, is told once; a
// route that could not be restored is never dropped.
func TestCaptureError(t *testing.T) {
	write := fmt.Errorf("write pcapng: %w", syscall.ENOSPC)
	restore := errors.New("restore route 2001:db8:20::/48: no such process")
	for _, tc := range []struct {
		run, finish error
		want        string
	}{
		{nil, nil, ""},
		{fmt.Errorf("write pcapng: %w", syscall.EPIPE), nil, ""},
		{writer.ErrDone, writer.ErrDone, ""},
		{errors.Join(writer.ErrDone, restore), writer.ErrDone, restore.Error()},
		{errors.Join(write, nil), errors.Join(write, nil), write.Error()},
		{nil, errors.New("sync out: input/output error"), "sync out: input/output error"},
	} {
		got := ""
		if err := captureError(tc.run, tc.finish); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("captureError(%v, %v) = %q, want %q", tc.run, tc.finish, got, tc.want)
		}
	}
}

// The writer and a Rotator together: every file is a complete pcapng
// (section header, interface, packets, statistics) that pcapgo reads, and the
// packets follow each other across files.
func TestWriterIntoRotation(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC)
	r, err := rotate.New(rotate.Options{Path: filepath.Join(dir, "out"), SizeLimit: 3000, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	att := sample.Attachment{Hook: sample.HookXmit, Route: "2001:db8:20::/48", Dev: "r1_h2", Table: 254, Snaplen: 262144}
	w, err := writer.New(rotation{Rotator: r}, writer.Options{
		Section:     writer.Section{Application: "lwtdump test"},
		Attachments: []sample.Attachment{att},
		Counters:    func(uint32) (sample.Counters, error) { return sample.Counters{Seen: 40}, nil },
		Start:       now,
	})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 200)
	for i := range 40 {
		data[0], data[1] = 0x60, byte(i) // IPv6, as the route is; numbered
		s := sample.Sample{Hook: sample.HookXmit, Time: now.Add(time.Duration(i) * time.Millisecond).UnixNano(), OrigLen: 200, Data: data}
		if err := w.WriteSample(&s); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			if err := w.Flush(now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := errors.Join(w.Close(), r.Close()); err != nil {
		t.Fatal(err)
	}
	files := ls(t, dir)
	if len(files) < 3 || files[0] != "out" || files[1] != "out1" {
		t.Fatalf("files %v", files)
	}
	next := 0
	for _, name := range []string{"out", "out1", "out2", "out3", "out4"}[:len(files)] {
		path := filepath.Join(dir, name)
		requireComplete(t, path, true)
		ng := ngReader(t, path)
		for {
			b, _, err := ng.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if int(b[1]) != next {
				t.Fatalf("%s: packet %d, want %d", name, b[1], next)
			}
			next++
		}
	}
	if next != 40 {
		t.Errorf("%d packets in the files, want 40", next)
	}
}

// -G with -W and no packet: the writer's flushes roll the files over, and
// the last one ends the capture as writer.ErrDone.
func TestWriterIntoRotationDone(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r, err := rotate.New(rotate.Options{Path: filepath.Join(dir, "out-%H%M%S"), Interval: time.Second, Count: 2, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	att := sample.Attachment{Hook: sample.HookXmit, Route: "203.0.113.0/24", Snaplen: 262144}
	w, err := writer.New(rotation{Rotator: r}, writer.Options{
		Attachments: []sample.Attachment{att},
		Counters:    func(uint32) (sample.Counters, error) { return sample.Counters{}, nil },
		Start:       now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && err == nil; i++ {
		now = now.Add(100 * time.Millisecond)
		err = w.Flush(now)
	}
	if !errors.Is(err, writer.ErrDone) {
		t.Fatalf("flushes: %v, want writer.ErrDone", err)
	}
	if err := captureError(err, errors.Join(w.Close(), r.Close())); err != nil {
		t.Errorf("end after the last file: %v", err)
	}
	files := ls(t, dir)
	if strings.Join(files, " ") != "out-100000 out-100001" {
		t.Fatalf("files %v", files)
	}
	for _, name := range files {
		requireComplete(t, filepath.Join(dir, name), true)
	}
}

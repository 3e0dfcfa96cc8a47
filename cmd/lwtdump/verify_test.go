package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/writertest"
)

// writeRun writes the samples of writertest as a capture into files does
// (openSink's wiring: the Rotator reports each finished file, the writer
// what it holds, the manifest records it) with the rotation opts, and
// returns the run id and the files' names in sequence order (a name twice
// when a ring came round).
func writeRun(t *testing.T, opts rotate.Options) (string, []string) {
	t.Helper()
	run := newRunID()
	rec := &manifestRecording{rec: manifest.NewRecorder(run, 0o600), warn: func(err error) { t.Error(err) }}
	var names []string
	opts.Finished = func(f rotate.File) {
		names = append(names, f.Name)
		rec.finished(f)
	}
	opts.Clock = func() time.Time { return writertest.Start }
	r, err := rotate.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var w *writer.Writer
	w, err = writer.New(rotation{Rotator: r}, writer.Options{
		Section:     writertest.Section,
		Attachments: writertest.Attachments(),
		Counters:    writertest.Counters(func(a uint32) uint64 { return w.Delivered(a) }),
		Start:       writertest.Start,
		Now:         func() time.Time { return writertest.End },
		Run:         run,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec.w = w
	for _, s := range writertest.Samples() {
		if err := w.WriteSample(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(w.Close(), r.Close()); err != nil {
		t.Fatal(err)
	}
	return run, names
}

// ringRun writes a ring of three files that came round (five files or
// more), in a directory of its own.
func ringRun(t *testing.T) (dir, run string, names []string) {
	t.Helper()
	dir = t.TempDir()
	run, names = writeRun(t, rotate.Options{Path: filepath.Join(dir, "ring.pcapng"), SizeLimit: 900, Count: 3})
	if len(names) < 5 {
		t.Fatalf("%d files finished, want 5 or more for the ring to come round", len(names))
	}
	return dir, run, names
}

func runVerify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, stdout, stderr := runLwtdump(t, inProcess, append([]string{"verify"}, args...)...)
	if stderr != "" && code != exitUsage {
		t.Errorf("stderr: %s", stderr)
	}
	return code, stdout + stderr
}

// The manifest of a rotated capture: a line per finished file with what
// the writer wrote into it, chained; every file's header names the run
// and its sequence number.
func TestManifestOfRotation(t *testing.T) {
	dir, run, names := ringRun(t)
	m, err := manifest.Read(manifest.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != len(names) || len(m.Bad) != 0 {
		t.Fatalf("%d entries for %d files, bad lines %v", len(m.Entries), len(names), m.Bad)
	}
	var packets uint64
	for i, e := range m.Entries {
		overwrites := 0
		if i >= 3 {
			overwrites = i - 2 // the ring's file of three files before
		}
		if e.Run != run || e.Seq != i+1 || e.File != filepath.Base(names[i]) || e.Overwrites != overwrites {
			t.Errorf("line %d: %+v", i+1, e)
		}
		packets += e.Packets
	}
	if packets != uint64(len(writertest.Samples())) {
		t.Errorf("%d packets recorded, %d written", packets, len(writertest.Samples()))
	}
	for i, name := range names[len(names)-3:] {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := inspectCapture(f, name)
		f.Close()
		seq := len(names) - 2 + i
		if err != nil || s.Run != run || s.Seq != seq || s.Packets != m.Entries[seq-1].Packets {
			t.Errorf("%s: %+v, %v; want run %s seq %d", name, s, err, run, seq)
		}
	}
}

// lwtdump verify on a ring: every file intact, exit code 0; then on a fresh
// ring each time, a change found, named, and exit code 1.
func TestVerifyCommand(t *testing.T) {
	dir, _, names := ringRun(t)
	code, out := runVerify(t, dir)
	if want := "lwtdump verify: 3 files intact, 0 findings (" + strconv.Itoa(len(names)-3); code != 0 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit code %d:\n%s", code, out)
	}
	other, _, _ := ringRun(t)

	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, dir string, seqs []string) // seqs: the ring's files, oldest first
		want   []string                                      // finding lines, the directory as D
	}{
		{"flip a byte in a packet", func(t *testing.T, d string, seqs []string) {
			b, _ := os.ReadFile(seqs[1])
			b[len(b)-300] ^= 0x20
			os.WriteFile(seqs[1], b, 0o600)
		}, []string{"D/NEWEST-1: sha256 differs from the manifest (file altered)"}},
		{"truncate", func(t *testing.T, d string, seqs []string) {
			fi, _ := os.Stat(seqs[2])
			os.Truncate(seqs[2], fi.Size()-50)
		}, []string{"D/NEWEST: SIZE-50 bytes, the manifest records SIZE (file truncated); truncated at offset"}},
		{"delete the middle file", func(t *testing.T, d string, seqs []string) {
			os.Remove(seqs[1])
		}, []string{"D/NEWEST-1: missing (the manifest records it as run RUN seq"}},
		{"swap two names", func(t *testing.T, d string, seqs []string) {
			os.Rename(seqs[0], filepath.Join(d, "x"))
			os.Rename(seqs[2], seqs[0])
			os.Rename(filepath.Join(d, "x"), seqs[2])
		}, []string{"D/NEWEST: holds the file recorded as", "D/OLDEST: holds the file recorded as"}},
		{"a file of another run", func(t *testing.T, d string, seqs []string) {
			b, _ := os.ReadFile(filepath.Join(other, "ring.pcapng1"))
			os.WriteFile(filepath.Join(d, "other.pcapng"), b, 0o600)
		}, []string{"D/other.pcapng: not in the manifest: a file of another capture (run "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, run, names := ringRun(t)
			seqs := names[len(names)-3:]
			tc.mutate(t, d, seqs)
			code, out := runVerify(t, d)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 1 || len(lines) != len(tc.want)+1 || !strings.Contains(lines[len(lines)-1], " finding") {
				t.Fatalf("exit code %d, want 1 and %d findings:\n%s", code, len(tc.want), out)
			}
			for i, w := range tc.want {
				m, _ := manifest.Read(manifest.Path(d))
				size := m.Entries[len(m.Entries)-1].Size // of the newest file
				r := strings.NewReplacer("SIZE-50", strconv.FormatInt(size-50, 10), "SIZE", strconv.FormatInt(size, 10), "D/", d+"/", "NEWEST-1", filepath.Base(seqs[1]), "NEWEST", filepath.Base(seqs[2]), "OLDEST", filepath.Base(seqs[0]), "RUN", run)
				if want := "lwtdump verify: " + r.Replace(w); !strings.HasPrefix(lines[i], want) {
					t.Errorf("finding %d:\n%s\nwant it to start with\n%s", i+1, lines[i], want)
				}
			}
		})
	}
}

// --json: the findings and the status of every file, recorded or found.
func TestVerifyJSON(t *testing.T) {
	dir, _, names := ringRun(t)
	os.Remove(names[len(names)-2])
	code, out := runVerify(t, dir, "--json")
	var rep manifest.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	var statuses []string
	for _, f := range rep.Files {
		statuses = append(statuses, f.Status)
	}
	slices.Sort(statuses)
	want := []string{"intact", "intact", "missing"}
	for range len(names) - 3 {
		want = append(want, "overwritten")
	}
	slices.Sort(want)
	if code != 1 || len(rep.Findings) != 1 || rep.Findings[0].Kind != manifest.StatusMissing || rep.Intact != 2 || !slices.Equal(statuses, want) {
		t.Errorf("exit code %d, report:\n%s", code, out)
	}
}

func TestVerifyUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"/nonexistent/lwtdump"}} {
		if code, out := runVerify(t, args...); code != exitUsage || strings.Count(out, "\n") != 1 {
			t.Errorf("verify %q: exit code %d, %q", args, code, out)
		}
	}
}

// lwtdump -r DIR reads a rotated capture as one, in the order it was
// captured: by sequence number, whatever the names say; the manifest and
// other files in the directory are left out.
func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, names := writeRun(t, rotate.Options{Path: filepath.Join(dir, "cap.pcapng"), SizeLimit: 1200})
	if len(names) < 3 {
		t.Fatalf("%d files", len(names))
	}
	// Names in reverse order of the sequence.
	for i, n := range names {
		os.Rename(n, filepath.Join(dir, string(rune('z'-i))+".pcapng"))
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a capture\n"), 0o600)
	whole := filepath.Join(t.TempDir(), "whole.pcapng")
	os.WriteFile(whole, writertest.Bytes(), 0o600)
	_, want, _ := runLwtdump(t, utcIn(dir), "-tttt", "-v", "-r", whole)
	code, got, stderr := runLwtdump(t, utcIn(dir), "-tttt", "-v", "-r", dir)
	if code != 0 || stderr != "" || got != want {
		t.Errorf("-r DIR: exit code %d, stderr %q\n%s\nwant\n%s", code, stderr, got, want)
	}
	code, _, stderr = runLwtdump(t, utcIn(dir), "-r", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "the directory holds no capture") {
		t.Errorf("-r of an empty directory: exit code %d, %q", code, stderr)
	}
}

// openFiles records the files in the manifest, announcing the run, unless
// --no-manifest; a device is never recorded.
func TestOpenFilesManifest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		path       string
		noManifest bool
		quiet      bool
		want       bool
	}{
		{"file", "out.pcapng", false, false, true},
		{"quiet", "out.pcapng", false, true, true},
		{"--no-manifest", "out.pcapng", true, false, false},
		{"device", os.DevNull, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.path
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			var stderr bytes.Buffer
			cfg := &captureConfig{write: path, rotate: rotate.Options{Path: path}, noManifest: tc.noManifest, quiet: tc.quiet}
			r, rec, err := openFiles(cfg, "0123456789abcdef", eventlog.New(&stderr, eventlog.Human))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			m, err := manifest.Read(manifest.Path(filepath.Dir(path)))
			recorded := err == nil && len(m.Entries) == 1 && m.Entries[0].Run == "0123456789abcdef" && m.Entries[0].Size == 4
			announced := strings.Contains(stderr.String(), "lwtdump: run 0123456789abcdef: every finished file is recorded in "+manifest.Path(dir)+"\n")
			if recorded != tc.want || (rec != nil) != tc.want || announced != (tc.want && !tc.quiet) {
				t.Errorf("recorded %v (%v), recording %v, announced %v (%q); want %v", recorded, err, rec != nil, announced, stderr.String(), tc.want)
			}
			if tc.path == os.DevNull {
				if _, err := os.Stat(manifest.Path("/dev")); err == nil {
					t.Errorf("a manifest in /dev")
				}
			}
		})
	}
}

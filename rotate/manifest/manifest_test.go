package manifest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/rotate"
)

// The files of these tests are a small text format of their own, which
// inspect reads: "CAP" or "CAP run=RUN seq=N" as the header, then one
// "P NANOSECONDS" line per packet. The package knows nothing of pcapng: the
// program hands it the reader of its own format the same way.
func inspect(r io.Reader, _ string) (Inspection, error) {
	var in Inspection
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			if !strings.HasPrefix(line, "CAP") {
				return in, nil
			}
			in.Capture = true
			fmt.Sscanf(line, "CAP run=%s seq=%d", &in.Run, &in.Seq)
			continue
		}
		ns, err := strconv.ParseInt(strings.TrimPrefix(line, "P "), 10, 64)
		if !strings.HasPrefix(line, "P ") || err != nil {
			in.Damage = fmt.Errorf("damaged at line %d", n)
			return in, nil
		}
		t := time.Unix(0, ns)
		if in.Packets == 0 || t.Before(in.First) {
			in.First = t
		}
		if in.Packets == 0 || t.After(in.Last) {
			in.Last = t
		}
		in.Packets++
	}
	return in, sc.Err()
}

// capture is the content of a file of run with n packets from time t0.
func capture(run string, seq, n int, t0 int64) []byte {
	b := fmt.Appendf(nil, "CAP run=%s seq=%d\n", run, seq)
	for i := range n {
		b = fmt.Appendf(b, "P %d\n", t0+int64(i))
	}
	return b
}

// ring writes a ring of three files, r0 to r2, as a capture of five files
// would leave it (seq 4 and 5 overwrote 1 and 2), and records each file as
// it is finished, as the program does.
func ring(t *testing.T, dir, run string) {
	t.Helper()
	rec := NewRecorder(run, 0o600)
	for seq := 1; seq <= 5; seq++ {
		name := filepath.Join(dir, fmt.Sprintf("r%d", (seq-1)%3))
		b := capture(run, seq, seq+1, int64(seq)*1000)
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c := Contents{Seq: seq, Packets: uint64(seq + 1), First: time.Unix(0, int64(seq)*1000), Last: time.Unix(0, int64(seq)*1000+int64(seq))}
		if _, err := rec.Record(rotate.File{Name: name, Size: int64(len(b)), SHA256: sha256.Sum256(b)}, c); err != nil {
			t.Fatal(err)
		}
	}
}

// The manifest a Recorder writes: one line per file in the order they were
// finished, each chained to the one before, and a ring's files saying which
// one they overwrote.
func TestRecord(t *testing.T) {
	dir := t.TempDir()
	ring(t, dir, "r1")
	m, err := Read(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 5 || len(m.Bad) != 0 {
		t.Fatalf("entries %+v, bad %+v", m.Entries, m.Bad)
	}
	prev := ""
	for i, e := range m.Entries {
		b := capture("r1", i+1, i+2, int64(i+1)*1000)
		sum := sha256.Sum256(b)
		want := Entry{File: fmt.Sprintf("r%d", i%3), Size: int64(len(b)), Packets: uint64(i + 2), Run: "r1", Seq: i + 1, PrevSHA256: prev}
		want.SHA256 = fmt.Sprintf("%x", sum)
		if i >= 3 {
			want.Overwrites = i - 2
		}
		if e.File != want.File || e.SHA256 != want.SHA256 || e.Size != want.Size || e.Packets != want.Packets ||
			e.Run != want.Run || e.Seq != want.Seq || e.PrevSHA256 != want.PrevSHA256 || e.Overwrites != want.Overwrites {
			t.Errorf("line %d: %+v, want %+v", i+1, e, want)
		}
		if e.First == nil || e.First.UnixNano() != int64(i+1)*1000 || e.Last.UnixNano() != int64(i+1)*1000+int64(i+1) || e.First.Location() != time.UTC {
			t.Errorf("line %d: first %v, last %v", i+1, e.First, e.Last)
		}
		prev = want.SHA256
	}
	fi, err := os.Stat(Path(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("manifest: %v, mode %v", err, fi.Mode())
	}

	// A file without packets has null times; the line is JSON with the
	// documented keys.
	empty := filepath.Join(dir, "e")
	b := capture("r2", 1, 0, 0)
	if _, err := NewRecorder("r2", 0o600).Record(rotate.File{Name: empty, Size: int64(len(b)), SHA256: sha256.Sum256(b)}, Contents{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(Path(dir))
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range last {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "file first last packets prev_sha256 run seq sha256 size" || last["first"] != nil {
		t.Errorf("line %s: keys %s", lines[len(lines)-1], got)
	}
}

// A manifest that cannot be written is an error naming the file; the chain
// goes on from the file all the same.
func TestRecordFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(Path(dir), 0o700); err != nil { // a directory where the manifest should be
		t.Fatal(err)
	}
	rec := NewRecorder("r", 0o600)
	_, err := rec.Record(rotate.File{Name: filepath.Join(dir, "a"), SHA256: [32]byte{1}}, Contents{Seq: 1})
	if err == nil || !strings.Contains(err.Error(), "record a in the manifest") {
		t.Fatalf("error %v", err)
	}
	os.Remove(Path(dir))
	e, err := rec.Record(rotate.File{Name: filepath.Join(dir, "b"), SHA256: [32]byte{2}}, Contents{Seq: 2})
	if err != nil || e.PrevSHA256 != fmt.Sprintf("%x", [32]byte{1}) {
		t.Fatalf("second file: %+v, %v", e, err)
	}
}

func TestReadBadLines(t *testing.T) {
	dir := t.TempDir()
	ring(t, dir, "r1")
	good, _ := os.ReadFile(Path(dir))
	lines := strings.Split(string(good), "\n")
	bad := []string{
		`not json`,
		`{"file":"a/b","sha256":"` + strings.Repeat("0", 64) + `","size":1,"run":"x","seq":1}`,
		`{"file":"a","sha256":"xyz","size":1,"run":"x","seq":1}`,
		`{"file":"a","sha256":"` + strings.Repeat("0", 64) + `","size":1,"run":"x y","seq":1}`,
		`{"file":"a","sha256":"` + strings.Repeat("0", 64) + `","size":1,"run":"x","seq":0}`,
		`{"file":"a","sha256":"` + strings.Repeat("0", 64) + `","size":1,"run":"x","seq":2,"overwrites":2}`,
	}
	content := strings.Join(append(append([]string{}, lines[:2]...), bad...), "\n") + "\n"
	if err := os.WriteFile(Path(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Read(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 2 || len(m.Bad) != len(bad) || m.Bad[0].Line != 3 {
		t.Fatalf("entries %d, bad %+v", len(m.Entries), m.Bad)
	}
}

// finding is a finding as the tests expect it: the base name of its file
// and its kind.
type finding struct{ file, kind string }

func findingsOf(rep *Report) []finding {
	var got []finding
	for _, f := range rep.Findings {
		got = append(got, finding{filepath.Base(f.File), f.Kind})
	}
	return got
}

// Verify finds every change to a ring's files and manifest, and names the
// file: the table mutates a fresh ring each time.
func TestVerify(t *testing.T) {
	other := t.TempDir()
	ring(t, other, "other")
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, dir string)
		args   func(dir string) []string // default: the directory
		intact int
		want   []finding
		// overwritten is the number of files recorded as overwritten
		// when the directory is given (default 2: five files recorded,
		// three kept).
		overwritten int
	}{
		{name: "intact", intact: 3},
		{name: "manifest given", args: func(d string) []string { return []string{Path(d)} }, intact: 3},
		{name: "flip a byte", intact: 2, want: []finding{{"r1", StatusAltered}}, mutate: func(t *testing.T, d string) {
			flip(t, filepath.Join(d, "r1"), 20)
		}},
		{name: "flip a byte into damage", intact: 2, want: []finding{{"r1", StatusAltered}}, mutate: func(t *testing.T, d string) {
			flip(t, filepath.Join(d, "r1"), 18) // "P" of the first packet
		}},
		{name: "truncate", intact: 2, want: []finding{{"r2", StatusTruncated}}, mutate: func(t *testing.T, d string) {
			if err := os.Truncate(filepath.Join(d, "r2"), 30); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "append", intact: 2, want: []finding{{"r2", StatusAltered}}, mutate: func(t *testing.T, d string) {
			appendTo(t, filepath.Join(d, "r2"), "P 1\n")
		}},
		{name: "delete the middle file", intact: 2, want: []finding{{"r1", StatusMissing}}, mutate: func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, "r1"))
		}},
		{name: "swap two names", intact: 1, want: []finding{{"r0", StatusSwapped}, {"r2", StatusSwapped}}, mutate: func(t *testing.T, d string) {
			rename(t, filepath.Join(d, "r0"), filepath.Join(d, "tmp"))
			rename(t, filepath.Join(d, "r2"), filepath.Join(d, "r0"))
			rename(t, filepath.Join(d, "tmp"), filepath.Join(d, "r2"))
		}},
		{name: "rename", intact: 2, want: []finding{{"r1", StatusMissing}, {"x", StatusRenamed}}, mutate: func(t *testing.T, d string) {
			rename(t, filepath.Join(d, "r1"), filepath.Join(d, "x"))
		}},
		{name: "a file of another run", intact: 3, want: []finding{{"x", StatusForeign}}, mutate: func(t *testing.T, d string) {
			copyFile(t, filepath.Join(other, "r1"), filepath.Join(d, "x"))
		}},
		{name: "a file of another run in place of one", intact: 2, want: []finding{{"r1", StatusReplaced}}, mutate: func(t *testing.T, d string) {
			copyFile(t, filepath.Join(other, "r2"), filepath.Join(d, "r1"))
		}},
		{name: "a capture of another tool", intact: 3, want: []finding{{"x", StatusForeign}}, mutate: func(t *testing.T, d string) {
			write(t, filepath.Join(d, "x"), "CAP\nP 5\n")
		}},
		{name: "files that are no captures", intact: 3, mutate: func(t *testing.T, d string) {
			write(t, filepath.Join(d, "z.sh"), "#!/bin/sh\n")
			write(t, filepath.Join(d, "empty"), "")
		}},
		{name: "a capture killed while writing", intact: 2, want: []finding{{"r0", StatusUnfinished}}, mutate: func(t *testing.T, d string) {
			write(t, filepath.Join(d, "r0"), "CAP run=r1 seq=6\nP 1\n")
		}},
		{name: "compressed by -z gzip", intact: 3, mutate: func(t *testing.T, d string) {
			gzipFile(t, filepath.Join(d, "r2"))
		}},
		{name: "compressed, then altered", intact: 2, want: []finding{{"r2.gz", StatusAltered}}, mutate: func(t *testing.T, d string) {
			flip(t, filepath.Join(d, "r2"), 20)
			gzipFile(t, filepath.Join(d, "r2"))
		}},
		{name: "a manifest line altered to match an altered file", intact: 3, want: []finding{{Name, KindChain}}, mutate: func(t *testing.T, d string) {
			// The attacker alters r2 (seq 3) and its line: seq 4's
			// prev_sha256 gives it away.
			flip(t, filepath.Join(d, "r2"), 20)
			b, _ := os.ReadFile(filepath.Join(d, "r2"))
			editLine(t, d, 3, func(e *Entry) { e.SHA256 = fmt.Sprintf("%x", sha256.Sum256(b)) })
		}},
		{name: "a manifest line removed", intact: 2, want: []finding{{"r2", StatusUnfinished}, {Name, KindChain}}, mutate: func(t *testing.T, d string) {
			editLine(t, d, 3, nil)
		}},
		{name: "a manifest line that is not one", intact: 3, want: []finding{{Name, KindManifest}}, mutate: func(t *testing.T, d string) {
			appendTo(t, Path(d), "garbage\n")
		}},
		{name: "a line recorded twice", intact: 3, overwritten: 3, want: []finding{{Name, KindChain}}, mutate: func(t *testing.T, d string) {
			b, _ := os.ReadFile(Path(d))
			appendTo(t, Path(d), strings.SplitAfter(string(b), "\n")[4])
		}},
		{name: "the oldest files pruned with their lines", intact: 2, overwritten: -1, mutate: func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, "r2")) // seq 3; seq 1 and 2 were overwritten
			for range 3 {
				editLine(t, d, 1, nil)
			}
		}},
		{name: "no manifest", intact: 0, want: []finding{{Name, KindNoManifest}}, mutate: func(t *testing.T, d string) {
			os.Remove(Path(d))
		}},
		{name: "one file given", args: func(d string) []string { return []string{filepath.Join(d, "r2")} }, intact: 1, mutate: func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, "r1")) // not asked about
		}},
		{name: "one altered file given", args: func(d string) []string { return []string{filepath.Join(d, "r1")} }, want: []finding{{"r1", StatusAltered}}, mutate: func(t *testing.T, d string) {
			flip(t, filepath.Join(d, "r1"), 20)
		}},
		{name: "a foreign file given", args: func(d string) []string { return []string{filepath.Join(other, "r1")} }, intact: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ring(t, dir, "r1")
			if tc.mutate != nil {
				tc.mutate(t, dir)
			}
			args := []string{dir}
			if tc.args != nil {
				args = tc.args(dir)
			}
			rep, err := Verify(args, inspect)
			if err != nil {
				t.Fatal(err)
			}
			got := findingsOf(rep)
			if rep.Intact != tc.intact || !slices.Equal(got, tc.want) {
				t.Errorf("intact %d, findings %v; want %d, %v", rep.Intact, got, tc.intact, tc.want)
				for _, f := range rep.Findings {
					t.Log(f)
				}
			}
			switch tc.overwritten {
			case 0:
				tc.overwritten = 2
			case -1:
				tc.overwritten = 0
			}
			if tc.args == nil && tc.name != "no manifest" && rep.Overwritten != tc.overwritten {
				t.Errorf("%d overwritten, want %d", rep.Overwritten, tc.overwritten)
			}
		})
	}
}

// The messages name what happened.
func TestVerifyMessages(t *testing.T) {
	dir := t.TempDir()
	ring(t, dir, "r1")
	flip(t, filepath.Join(dir, "r1"), 20)
	os.Truncate(filepath.Join(dir, "r2"), 30)
	rep, err := Verify([]string{dir}, inspect)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range rep.Findings {
		lines = append(lines, strings.TrimPrefix(f.String(), dir+"/"))
	}
	want := []string{
		"r1: sha256 differs from the manifest (file altered)",
		"r2: 30 bytes, the manifest records 45 (file truncated); it holds 2 packets, the manifest records 4",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("findings\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if _, err := Verify([]string{filepath.Join(dir, "nothing")}, inspect); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a path that does not exist: %v", err)
	}
}

func flip(t *testing.T, name string, off int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x01
	write(t, name, string(b))
}

func write(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, name, s string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(b))
}

// gzipFile does what -z gzip does: NAME becomes NAME.gz.
func gzipFile(t *testing.T, name string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	write(t, name+".gz", z.String())
	os.Remove(name)
}

// editLine rewrites line n (from 1) of the manifest of dir with edit, or
// removes it when edit is nil.
func editLine(t *testing.T, dir string, n int, edit func(*Entry)) {
	t.Helper()
	b, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if edit == nil {
		lines = slices.Delete(lines, n-1, n)
	} else {
		e, err := parseEntry([]byte(lines[n-1]))
		if err != nil {
			t.Fatal(err)
		}
		edit(&e)
		j, _ := json.Marshal(e)
		lines[n-1] = string(j) + "\n"
	}
	write(t, Path(dir), strings.Join(lines, ""))
}

// The names a Recorder remembers for Overwrites stay bounded however many
// files a capture finishes: a ring of names is told exactly, and beyond
// maxRecorded new names the oldest are forgotten.
func TestRecorderRemembersBoundedNames(t *testing.T) {
	r := NewRecorder("run", 0o600)
	seq := 0
	for range 3 { // a ring of 10 names, three times round
		for i := range 10 {
			seq++
			r.remember(fmt.Sprintf("/cap/ring%d", i), seq)
		}
	}
	if len(r.recorded) != 10 || r.recorded["/cap/ring0"] != 21 || r.recorded["/cap/ring9"] != 30 {
		t.Fatalf("ring: %d names, ring0 seq %d, ring9 seq %d; want 10, 21, 30", len(r.recorded), r.recorded["/cap/ring0"], r.recorded["/cap/ring9"])
	}
	for i := range 2*maxRecorded + 5 { // names that never come back, as with -G
		seq++
		r.remember(fmt.Sprintf("/cap/%d", i), seq)
	}
	if len(r.recorded) != maxRecorded || len(r.order) != maxRecorded {
		t.Fatalf("%d names remembered, order of %d; want %d", len(r.recorded), len(r.order), maxRecorded)
	}
	last := fmt.Sprintf("/cap/%d", 2*maxRecorded+4)
	firstKept := fmt.Sprintf("/cap/%d", maxRecorded+5)
	if r.recorded[last] != seq || r.recorded[firstKept] == 0 || r.recorded["/cap/ring0"] != 0 || r.recorded[fmt.Sprintf("/cap/%d", maxRecorded+4)] != 0 {
		t.Fatalf("not the newest %d names: newest %d, first kept %d", maxRecorded, r.recorded[last], r.recorded[firstKept])
	}
}

// A manifest the Recorder creates gets its mode exactly, whatever the
// umask, as the capture files do (--file-mode 0640 under umask 077: the
// analysts' group reads both); one that already holds lines keeps its own.
func TestManifestMode(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	for _, tc := range []struct {
		name   string
		before string      // the manifest's content before; "-" for none
		mode   fs.FileMode // of the manifest before
		chown  bool        // created by Chown (-Z) before the first line
		want   fs.FileMode
	}{
		{name: "new", before: "-", want: 0o640},
		{name: "new, -Z", before: "-", chown: true, want: 0o640},
		{name: "empty", before: "", mode: 0o600, want: 0o640},
		{name: "holds lines", before: "{}\n", mode: 0o600, want: 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.before != "-" {
				if err := os.WriteFile(Path(dir), []byte(tc.before), tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			rec := NewRecorder("r", 0o640)
			if tc.chown {
				if err := rec.Chown(dir, os.Getuid(), os.Getgid()); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := rec.Record(rotate.File{Name: filepath.Join(dir, "a"), SHA256: [32]byte{1}}, Contents{Seq: 1}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(Path(dir))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.want {
				t.Errorf("manifest mode %v, want %v", fi.Mode().Perm(), tc.want)
			}
		})
	}
}

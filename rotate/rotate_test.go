package rotate

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clock is a clock the test moves.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock {
	return &clock{time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC)}
}

// section plays the writer's side of the seam with blocks a test can read
// back: every file holds "H\n", then one "P nnnnnn\n" per packet, then "T\n".
type section struct {
	t    *testing.T
	r    *Rotator
	size int64
}

func newSection(t *testing.T, opts Options) *section {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &section{t: t, r: r}
	if err := s.write("H\n"); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *section) write(b string) error {
	n, err := s.r.Write([]byte(b))
	s.size += int64(n)
	return err
}

// packet writes packet seq at now, rolling over first when due.
func (s *section) packet(now time.Time, seq int) error {
	if s.r.RolloverDue(now, s.size) {
		if err := s.rollover(); err != nil {
			return err
		}
	}
	return s.write(fmt.Sprintf("P %06d\n", seq))
}

// flush is the writer's Flush: a rollover when due, no packet.
func (s *section) flush(now time.Time) error {
	if s.r.RolloverDue(now, s.size) {
		return s.rollover()
	}
	return nil
}

func (s *section) rollover() error {
	if err := s.write("T\n"); err != nil {
		return err
	}
	if err := s.r.Rollover(); err != nil {
		return err
	}
	s.size = 0
	return s.write("H\n")
}

func (s *section) close() {
	s.t.Helper()
	if err := s.write("T\n"); err != nil {
		s.t.Fatal(err)
	}
	if err := s.r.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// packets reads a file the section wrote, checks that it is complete and
// returns its packet numbers.
func packets(t *testing.T, name string) []int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "H" || lines[len(lines)-1] != "T" {
		t.Fatalf("%s is not a complete file: %q", filepath.Base(name), b)
	}
	var seqs []int
	for _, l := range lines[1 : len(lines)-1] {
		var seq int
		if _, err := fmt.Sscanf(l, "P %d", &seq); err != nil {
			t.Fatalf("%s: %q", filepath.Base(name), l)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// dir lists the names in a directory.
func dir(t *testing.T, d string) []string {
	t.Helper()
	es, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFileName(t *testing.T) {
	start := time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		opts Options
		n    int
		want string
	}{
		{Options{Path: "out"}, 0, "out"},
		{Options{Path: "out-%H"}, 0, "out-%H"}, // no -G: no expansion, as tcpdump
		{Options{Path: "out", SizeLimit: 1}, 0, "out"},
		{Options{Path: "out", SizeLimit: 1}, 1, "out1"},
		{Options{Path: "out", SizeLimit: 1}, 12, "out12"},
		{Options{Path: "out", SizeLimit: 1, Count: 1}, 0, "out"},
		{Options{Path: "out", SizeLimit: 1, Count: 3}, 0, "out0"},
		{Options{Path: "out", SizeLimit: 1, Count: 3}, 2, "out2"},
		{Options{Path: "out", SizeLimit: 1, Count: 10}, 9, "out9"},
		{Options{Path: "out", SizeLimit: 1, Count: 11}, 3, "out03"},
		{Options{Path: "out", SizeLimit: 1, Count: 101}, 7, "out007"},
		{Options{Path: "out-%H%M%S", Interval: time.Second}, 0, "out-030405"},
		{Options{Path: "out-%H%M%S", Interval: time.Second, Count: 3}, 0, "out-030405"},
		{Options{Path: "out-%S-", Interval: time.Second, SizeLimit: 1}, 0, "out-05-"},
		{Options{Path: "out-%S-", Interval: time.Second, SizeLimit: 1}, 2, "out-05-2"},
		{Options{Path: "out-%S-", Interval: time.Second, SizeLimit: 1, Count: 3}, 0, "out-05-0"},
	} {
		if got := tc.opts.FileName(start, tc.n); got != tc.want {
			t.Errorf("%+v file %d: %q, want %q", tc.opts, tc.n, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "no file name"},
		{Options{Path: "o", SizeLimit: -1}, "size limit"},
		{Options{Path: "o", Interval: -time.Second}, "interval"},
		{Options{Path: "o", SizeLimit: 1, Count: -1}, "file count"},
		{Options{Path: "o", Count: 3}, "needs a size limit or an interval"},
		{Options{Path: "o", FileMode: fs.ModeSetuid | 0o600}, "file mode"},
		{Options{Path: "o-%Q", Interval: time.Second}, "unknown conversion %Q"},
	} {
		err := tc.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
	if err := (Options{Path: "o-%Q"}).Validate(); err != nil {
		t.Errorf("a %% in a name without an interval: %v", err)
	}
}

// -C: FILE, FILE1, FILE2...; a file is finished at the first packet after it
// exceeds the limit, so it holds at most one packet more; no packet is lost
// or written twice.
func TestSizeRotation(t *testing.T) {
	d := t.TempDir()
	clk := newClock()
	s := newSection(t, Options{Path: filepath.Join(d, "out"), SizeLimit: 50, Clock: clk.Now})
	const n = 20 // 9 bytes each: 5 packets per file
	for i := 1; i <= n; i++ {
		clk.Advance(time.Second)
		if err := s.packet(clk.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	want := []string{"out", "out1", "out2", "out3"}
	if got := dir(t, d); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %q, want %q", got, want)
	}
	next := 1
	for i, name := range want {
		seqs := packets(t, filepath.Join(d, name))
		for _, seq := range seqs {
			if seq != next {
				t.Fatalf("%s: packet %d, want %d", name, seq, next)
			}
			next++
		}
		fi, _ := os.Stat(filepath.Join(d, name))
		if i < len(want)-1 && (fi.Size() <= 50 || fi.Size() > 50+9+2) {
			t.Errorf("%s: %d bytes, want 51 to 61", name, fi.Size())
		}
		if fi.Mode().Perm() != DefaultFileMode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), DefaultFileMode)
		}
	}
	if next != n+1 {
		t.Errorf("%d packets in the files, want %d", next-1, n)
	}
	if s.r.Finished() != 4 {
		t.Errorf("%d files finished, want 4", s.r.Finished())
	}
}

// -C -W 3: a ring of FILE0, FILE1, FILE2, the newest overwriting the oldest.
func TestRing(t *testing.T) {
	d := t.TempDir()
	clk := newClock()
	s := newSection(t, Options{Path: filepath.Join(d, "ring"), SizeLimit: 20, Count: 3, Clock: clk.Now})
	// Three packets (29 bytes with the header) per file: files 1 to 7
	// hold packets 1-3, 4-6, ..., 19-21.
	for i := 1; i <= 21; i++ {
		if err := s.packet(clk.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	if got := strings.Join(dir(t, d), " "); got != "ring0 ring1 ring2" {
		t.Fatalf("files %q, want ring0 ring1 ring2", got)
	}
	for name, first := range map[string]int{"ring1": 13, "ring2": 16, "ring0": 19} {
		seqs := packets(t, filepath.Join(d, name))
		if len(seqs) != 3 || seqs[0] != first || seqs[2] != first+2 {
			t.Errorf("%s holds %v, want %d to %d", name, seqs, first, first+2)
		}
	}
}

// -G: a new file per interval, named by strftime, also when no packet comes
// (the writer's flushes drive it), and with -W the end after N files.
func TestTimeRotationIdle(t *testing.T) {
	d := t.TempDir()
	clk := newClock()
	s := newSection(t, Options{Path: filepath.Join(d, "out-%H%M%S.txt"), Interval: time.Second, Count: 3, Clock: clk.Now})
	var err error
	flushes := 0
	for err == nil && flushes < 100 {
		clk.Advance(100 * time.Millisecond)
		err = s.flush(clk.Now())
		flushes++
	}
	if !errors.Is(err, ErrDone) {
		t.Fatalf("after %d flushes: %v, want ErrDone", flushes, err)
	}
	if flushes != 30 {
		t.Errorf("ErrDone after %d flushes of 100 ms, want 30", flushes)
	}
	if err := s.r.Close(); err != nil {
		t.Errorf("close after ErrDone: %v", err)
	}
	want := []string{"out-100000.txt", "out-100001.txt", "out-100002.txt"}
	if got := dir(t, d); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %q, want %q", got, want)
	}
	for _, name := range want {
		if seqs := packets(t, filepath.Join(d, name)); len(seqs) != 0 {
			t.Errorf("%s holds packets %v", name, seqs)
		}
	}
	if s.r.Name() != "" {
		t.Errorf("a file is still open: %s", s.r.Name())
	}
}

// -G with packets: the packet's time decides, and the interval counts from
// the file's start, not from a boundary of the clock.
func TestTimeRotationPackets(t *testing.T) {
	d := t.TempDir()
	clk := newClock()
	clk.Advance(700 * time.Millisecond)
	s := newSection(t, Options{Path: filepath.Join(d, "%M%S"), Interval: 2 * time.Second, Clock: clk.Now})
	for i := 1; i <= 10; i++ {
		clk.Advance(500 * time.Millisecond)
		if err := s.packet(clk.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	// Opened at 00:00.7: packets at 1.2, 1.7, 2.2 stay; 2.7 starts 0002.
	for name, want := range map[string][]int{"0000": {1, 2, 3}, "0002": {4, 5, 6, 7}, "0004": {8, 9, 10}} {
		if got := fmt.Sprint(packets(t, filepath.Join(d, name))); got != fmt.Sprint(want) {
			t.Errorf("%s holds %s, want %v", name, got, want)
		}
	}
}

// -G -C -W: the count applies within each time slot and restarts with it;
// -W makes a ring of each slot and does not end the capture (as tcpdump).
func TestTimeAndSize(t *testing.T) {
	d := t.TempDir()
	clk := newClock()
	s := newSection(t, Options{Path: filepath.Join(d, "s%S-"), Interval: 10 * time.Second, SizeLimit: 20, Count: 2, Clock: clk.Now})
	seq := 0
	for range 2 {
		for range 9 { // three files in the slot: the third overwrites the first
			seq++
			if err := s.packet(clk.Now(), seq); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(10 * time.Second)
	}
	if err := s.flush(clk.Now()); err != nil {
		t.Fatal(err)
	}
	s.close()
	want := map[string][]int{"s00-0": {7, 8, 9}, "s00-1": {4, 5, 6}, "s10-0": {16, 17, 18}, "s10-1": {13, 14, 15}, "s20-0": nil}
	if got := dir(t, d); len(got) != len(want) {
		t.Fatalf("files %q", got)
	}
	for name, w := range want {
		if got := fmt.Sprint(packets(t, filepath.Join(d, name))); got != fmt.Sprint(w) {
			t.Errorf("%s holds %s, want %v", name, got, w)
		}
	}
}

// -z: run once per finished file, the last one included, with its name as the
// only argument (no shell: a space stays in the name), after the file is
// complete.
func TestPostRotate(t *testing.T) {
	d := t.TempDir()
	log := filepath.Join(d, "z.log")
	script := filepath.Join(d, "z.sh")
	// The script records its arguments and whether the file is complete.
	body := "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$#\" \"$1\" \"$(tail -n 1 \"$1\")\" >> " + log + "\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	out := filepath.Join(d, "my capture")
	s := newSection(t, Options{Path: out, SizeLimit: 20, PostRotate: script, Clock: clk.Now})
	for i := 1; i <= 9; i++ {
		if err := s.packet(clk.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	s.r.children.Wait()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// The programs run side by side: their lines come in any order.
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(got)
	want := []string{"1|" + out + "1|T", "1|" + out + "2|T", "1|" + out + "|T"}
	if !slices.Equal(got, want) {
		t.Errorf("-z calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A -z program that cannot start is reported once; rotation goes on.
func TestPostRotateCannotStart(t *testing.T) {
	d := t.TempDir()
	var warnings []error
	clk := newClock()
	s := newSection(t, Options{
		Path: filepath.Join(d, "out"), SizeLimit: 20, PostRotate: filepath.Join(d, "missing"), Clock: clk.Now,
		Warn: func(err error) { warnings = append(warnings, err) },
	})
	for i := 1; i <= 9; i++ {
		if err := s.packet(clk.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	if len(dir(t, d)) != 3 {
		t.Errorf("files %q, want 3", dir(t, d))
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "missing") {
		t.Errorf("warnings %v, want one naming the program", warnings)
	}
}

// FileMode is the exact mode of every file, whatever the umask and whatever
// the mode of a file that was there before.
func TestFileMode(t *testing.T) {
	d := t.TempDir()
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	if err := os.WriteFile(filepath.Join(d, "b"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mode fs.FileMode
		want fs.FileMode
	}{
		{"a", 0, 0o600},
		{"b", 0, 0o600},
		{"c", 0o640, 0o640},
	} {
		r, err := New(Options{Path: filepath.Join(d, tc.name), FileMode: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Write([]byte("new")); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(d, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.want || fi.Size() != 3 {
			t.Errorf("%s: mode %v, %d bytes; want %v, 3 bytes", tc.name, fi.Mode().Perm(), fi.Size(), tc.want)
		}
	}
}

// A write that fails half way (here: the file size limit, as a full disk
// would) leaves the file ending with its last whole write.
func TestWriteFailureCutsBack(t *testing.T) {
	d := t.TempDir()
	s := newSection(t, Options{Path: filepath.Join(d, "out")})
	for i := 1; i <= 3; i++ {
		if err := s.packet(time.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	// Go ignores SIGXFSZ: a write past RLIMIT_FSIZE returns EFBIG after
	// writing what fits.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(s.size) + 5
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("set RLIMIT_FSIZE: %v", err)
	}
	err := s.packet(time.Now(), 4)
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("write past the limit: %v, want EFBIG", err)
	}
	if err := s.r.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(d, "out"))
	if want := "H\nP 000001\nP 000002\nP 000003\n"; string(b) != want {
		t.Errorf("file after the failed write: %q, want %q", b, want)
	}
}

// A file whose first write failed holds nothing: Close removes it rather
// than leave an empty file that no reader accepts.
func TestEmptyFileRemoved(t *testing.T) {
	d := t.TempDir()
	r, err := New(Options{Path: filepath.Join(d, "out")})
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = 4
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("set RLIMIT_FSIZE: %v", err)
	}
	_, err = r.Write([]byte("header"))
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("write past the limit: %v, want EFBIG", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if names := dir(t, d); len(names) != 0 {
		t.Errorf("directory holds %q after an empty file was closed", names)
	}
}

// After Close, or after ErrDone, writing is an error, and Close is harmless.
func TestClosed(t *testing.T) {
	r, err := New(Options{Path: filepath.Join(t.TempDir(), "out")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := r.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if r.RolloverDue(time.Now(), 1<<40) {
		t.Error("rollover due after close")
	}
}

// A directory that does not exist fails at New, naming the file.
func TestNewFails(t *testing.T) {
	_, err := New(Options{Path: filepath.Join(t.TempDir(), "no", "out")})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no/out") {
		t.Errorf("New in a missing directory: %v", err)
	}
}

// A device as the output (-w /dev/null) is written as it is: its mode is not
// changed, and closing it neither fails on fsync nor removes it. It cannot be
// rotated.
func TestSpecialFileOutput(t *testing.T) {
	fi, err := os.Stat(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	r, err := New(Options{Path: os.DevNull})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	after, err := os.Stat(os.DevNull)
	if err != nil || after.Mode() != fi.Mode() {
		t.Fatalf("%s after the capture: %v, mode %v (was %v)", os.DevNull, err, after.Mode(), fi.Mode())
	}
	if _, err := New(Options{Path: os.DevNull, SizeLimit: 1000}); err == nil {
		t.Fatal("rotating /dev/null was accepted")
	}
}

// Finished reports every finished file, in order, with the size and the
// SHA-256 of exactly the bytes it holds at that moment: in a ring, and
// after a write that failed and was cut back.
func TestFinished(t *testing.T) {
	d := t.TempDir()
	var got []File
	var contents [][]byte
	clk := newClock()
	s := newSection(t, Options{Path: filepath.Join(d, "out"), SizeLimit: 20, Count: 2, Clock: clk.Now, Finished: func(f File) {
		b, err := os.ReadFile(f.Name)
		if err != nil {
			t.Errorf("finished file %s: %v", f.Name, err)
		}
		got = append(got, f)
		contents = append(contents, b)
	}})
	for i := 1; i <= 7; i++ {
		if err := s.packet(clk.Now(), i); err != nil {
			t.Fatal(err)
		}
	}
	// The last write fails half way and is cut back.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(s.size) + 3
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("set RLIMIT_FSIZE: %v", err)
	}
	err := s.write("P 000008\n")
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("write past the limit: %v, want EFBIG", err)
	}
	if err := s.r.Close(); err != nil {
		t.Fatal(err)
	}
	names := []string{"out0", "out1", "out0"} // three packets a file
	if len(got) != len(names) {
		t.Fatalf("%d files reported, want %d: %+v", len(got), len(names), got)
	}
	for i, f := range got {
		if filepath.Base(f.Name) != names[i] || f.Size != int64(len(contents[i])) || f.SHA256 != sha256.Sum256(contents[i]) {
			t.Errorf("file %d: %s, %d bytes, sha256 %x; want %s, %d bytes, sha256 %x", i, f.Name, f.Size, f.SHA256, names[i], len(contents[i]), sha256.Sum256(contents[i]))
		}
	}
	if last := string(contents[len(contents)-1]); last != "H\nP 000007\n" {
		t.Errorf("last file %q: want it to end with the last whole write", last)
	}
}

// Nothing is reported for a file that holds nothing, nor for a device.
func TestFinishedNotForEmptyOrDevice(t *testing.T) {
	var got []File
	finished := func(f File) { got = append(got, f) }
	r, err := New(Options{Path: filepath.Join(t.TempDir(), "out"), Finished: finished})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if r, err = New(Options{Path: os.DevNull, Finished: finished}); err != nil {
		t.Skip(err)
	}
	if _, err := r.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("reported %+v", got)
	}
}

// BenchmarkWrite measures what a capture into a file costs the Rotator:
// 1 MiB writes (the writer's buffer) into a file, with a rollover every
// 64 MiB (sync included); hashed: with Finished set, so that every byte is
// hashed as it is written.
func BenchmarkWrite(b *testing.B) {
	for _, hashed := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "hashed"}[hashed], func(b *testing.B) {
			opts := Options{Path: filepath.Join(b.TempDir(), "out"), SizeLimit: 64 << 20, Count: 2}
			if hashed {
				opts.Finished = func(File) {}
			}
			r, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			var size int64
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if r.RolloverDue(time.Now(), size) {
					if err := r.Rollover(); err != nil {
						b.Fatal(err)
					}
					size = 0
				}
				n, err := r.Write(buf)
				if err != nil {
					b.Fatal(err)
				}
				size += int64(n)
			}
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkSHA256 is the hashing part of BenchmarkWrite alone.
func BenchmarkSHA256(b *testing.B) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Write(buf)
	}
}

// Last is true for the file after which Rollover returns ErrDone, and only
// for it: the Count-th file of an Interval without a SizeLimit.
func TestLast(t *testing.T) {
	d := t.TempDir()
	for _, tc := range []struct {
		opts Options
		want []bool // Last of each file, until ErrDone or the fourth
	}{
		{Options{Path: filepath.Join(d, "g-%s-%N"), Interval: time.Second, Count: 3}, []bool{false, false, true}},
		{Options{Path: filepath.Join(d, "g1-%s"), Interval: time.Second, Count: 1}, []bool{true}},
		{Options{Path: filepath.Join(d, "g-nocount-%s"), Interval: time.Second}, []bool{false, false, false, false}},
		{Options{Path: filepath.Join(d, "c"), SizeLimit: 10, Count: 2}, []bool{false, false, false, false}},
		{Options{Path: filepath.Join(d, "gc-%s"), Interval: time.Second, SizeLimit: 10, Count: 2}, []bool{false, false, false, false}},
	} {
		clk := newClock()
		tc.opts.Path = strings.ReplaceAll(tc.opts.Path, "%N", "")
		tc.opts.Clock = clk.Now
		r, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []bool
		for range 4 {
			got = append(got, r.Last())
			if _, err := r.Write([]byte("x")); err != nil { // an empty file is removed, not finished
				t.Fatal(err)
			}
			clk.Advance(time.Second)
			r.RolloverDue(clk.Now(), 0)
			if err := r.Rollover(); errors.Is(err, ErrDone) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: Last %v, want %v", tc.opts, got, tc.want)
		}
		r.Close()
		if r.Last() {
			t.Errorf("%+v: Last after Close", tc.opts)
		}
	}
}

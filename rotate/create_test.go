package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The tests play another user who plants links and files: they need root
// to give those to that user.
const otherUID = 65534

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give links and files to another user")
	}
}

// stickyDir makes a sticky directory that everyone can write, as /tmp,
// owned by uid.
func stickyDir(t *testing.T, uid int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// target is a file of root's that a planted link points to.
func target(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(p, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func symlinkOf(t *testing.T, to, link string, uid int) {
	t.Helper()
	if err := os.Symlink(to, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// CreateFile follows a link, and writes into an existing file, only where
// fs.protected_symlinks and fs.protected_regular would let it.
func TestCreateFile(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir, target string) string // returns the name to create
		planted bool                                          // refused, the target unchanged
		into    bool                                          // written into the target
	}{
		{"new file", func(t *testing.T, dir, _ string) string { return filepath.Join(dir, "new") }, false, false},
		{"another user's link", func(t *testing.T, dir, target string) string {
			symlinkOf(t, target, filepath.Join(dir, "out"), otherUID)
			return filepath.Join(dir, "out")
		}, true, false},
		{"the caller's link", func(t *testing.T, dir, target string) string {
			symlinkOf(t, target, filepath.Join(dir, "out"), 0)
			return filepath.Join(dir, "out")
		}, false, true},
		{"a link of the directory's owner", func(t *testing.T, _, target string) string {
			dir := stickyDir(t, otherUID)
			symlinkOf(t, target, filepath.Join(dir, "out"), otherUID)
			return filepath.Join(dir, "out")
		}, false, true},
		{"another user's link, not in a sticky directory", func(t *testing.T, _, target string) string {
			dir := t.TempDir()
			symlinkOf(t, target, filepath.Join(dir, "out"), otherUID)
			return filepath.Join(dir, "out")
		}, false, true},
		{"the caller's link to another user's link", func(t *testing.T, dir, target string) string {
			symlinkOf(t, target, filepath.Join(dir, "theirs"), otherUID)
			mine := filepath.Join(t.TempDir(), "mine")
			symlinkOf(t, filepath.Join(dir, "theirs"), mine, 0)
			return mine
		}, true, false},
		{"the caller's relative link", func(t *testing.T, dir, target string) string {
			if err := os.WriteFile(filepath.Join(dir, "real"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			symlinkOf(t, "real", filepath.Join(dir, "out"), 0)
			return filepath.Join(dir, "out")
		}, false, false},
		{"another user's file", func(t *testing.T, dir, _ string) string {
			p := filepath.Join(dir, "out")
			if err := os.WriteFile(p, []byte("theirs\n"), 0o666); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			return p
		}, true, false},
		{"a hard link to the target", func(t *testing.T, dir, target string) string {
			p := filepath.Join(dir, "out")
			if err := os.Link(target, p); err != nil {
				t.Fatal(err)
			}
			return p
		}, true, false},
		{"the caller's file", func(t *testing.T, dir, _ string) string {
			p := filepath.Join(dir, "out")
			if err := os.WriteFile(p, []byte("an earlier capture\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := stickyDir(t, 0)
			tgt := target(t)
			name := tc.setup(t, dir, tgt)
			f, err := CreateFile(name, 0o600)
			if tc.planted {
				var pe *PlantedError
				if !errors.Is(err, ErrPlanted) || !errors.As(err, &pe) {
					t.Fatalf("CreateFile(%s) = %v, want a PlantedError", name, err)
				}
				if err := CheckCreate(name); !errors.Is(err, ErrPlanted) {
					t.Errorf("CheckCreate(%s) = %v, want ErrPlanted", name, err)
				}
				if got := readString(t, tgt); got != "root's\n" {
					t.Errorf("target changed: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateFile(%s): %v", name, err)
			}
			if _, err := f.WriteString("capture\n"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if got := readString(t, name); got != "capture\n" {
				t.Errorf("%s holds %q, want what was written alone", name, got)
			}
			if into := readString(t, tgt) == "capture\n"; into != tc.into {
				t.Errorf("written into the target: %v, want %v", into, tc.into)
			}
		})
	}
}

// Devices, FIFOs and /proc/self/fd/N given on purpose are written into as
// they are.
func TestCreateFileSpecial(t *testing.T) {
	f, err := CreateFile("/dev/null", 0o600)
	if err != nil {
		t.Fatalf("/dev/null: %v", err)
	}
	f.Close()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err = CreateFile(fmt.Sprintf("/dev/fd/%d", w.Fd()), 0o600)
	if err != nil {
		t.Fatalf("/dev/fd of a pipe: %v", err)
	}
	f.WriteString("x")
	f.Close()
	b := make([]byte, 1)
	if _, err := r.Read(b); err != nil || b[0] != 'x' {
		t.Errorf("read %q, %v from the pipe", b, err)
	}

	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if f, err = CreateFile(fifo, 0o600); err != nil {
		t.Fatalf("FIFO: %v", err)
	}
	f.Close()
}

// Another user's FIFO in a sticky directory is refused before it is opened
// (which would wait for a reader).
func TestCreateFilePlantedFIFO(t *testing.T) {
	requireRoot(t)
	fifo := filepath.Join(stickyDir(t, 0), "out")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(fifo, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateFile(fifo, 0o600); !errors.Is(err, ErrPlanted) {
		t.Errorf("CreateFile of another user's FIFO: %v", err)
	}
}

// The names lwtdump makes itself are always new files: a planted link is
// replaced, its target unchanged.
func TestRingReplacesPlantedLinks(t *testing.T) {
	requireRoot(t)
	dir := stickyDir(t, 0)
	tgt := target(t)
	path := filepath.Join(dir, "ring")
	for i := range 3 {
		symlinkOf(t, tgt, fmt.Sprintf("%s%d", path, i), otherUID)
	}
	c := newClock()
	s := newSection(t, Options{Path: path, SizeLimit: 10, Count: 3, Clock: c.Now})
	for seq := range 8 {
		if err := s.packet(c.Now(), seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, tgt); got != "root's\n" {
		t.Errorf("target changed: %q", got)
	}
	for i := range 3 {
		name := fmt.Sprintf("%s%d", path, i)
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || !strings.HasPrefix(readString(t, name), "H\n") {
			t.Errorf("%s: %v, want a file of the ring", name, err)
		}
	}
}

// The manifest is appended to only as a regular file that is no link.
func TestOpenAppend(t *testing.T) {
	requireRoot(t)
	dir := stickyDir(t, 0)
	tgt := target(t)
	link := filepath.Join(dir, "manifest")
	symlinkOf(t, tgt, link, 0)
	if _, err := OpenAppend(link, 0o600); err == nil || !strings.Contains(err.Error(), "is a symlink: not followed") {
		t.Errorf("OpenAppend of a link: %v", err)
	}
	theirs := filepath.Join(dir, "theirs")
	if err := os.WriteFile(theirs, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAppend(theirs, 0o600); !errors.Is(err, ErrPlanted) {
		t.Errorf("OpenAppend of another user's file: %v", err)
	}
	mine := filepath.Join(dir, "mine")
	for _, line := range []string{"a\n", "b\n"} {
		f, err := OpenAppend(mine, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
	}
	if got := readString(t, mine); got != "a\nb\n" {
		t.Errorf("appended %q", got)
	}
	if got := readString(t, tgt); got != "root's\n" {
		t.Errorf("target changed: %q", got)
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readerEnds are the kinds of output watchReader watches: each returns the
// end lwtdump writes to and the reader's end, both closed when the test
// ends.
var readerEnds = []struct {
	name string
	open func(t *testing.T) (w, r *os.File)
}{
	{"pipe", func(t *testing.T) (w, r *os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		return closeLater(t, w), closeLater(t, r)
	}},
	{"fifo", func(t *testing.T) (w, r *os.File) {
		path := filepath.Join(t.TempDir(), "fifo")
		if err := unix.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		// The reader first, without blocking, so that opening the writer does not block.
		r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		closeLater(t, r)
		w, err = os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		return closeLater(t, w), r
	}},
	{"socket", func(t *testing.T) (w, r *os.File) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		return closeLater(t, os.NewFile(uintptr(fds[0]), "socket")), closeLater(t, os.NewFile(uintptr(fds[1]), "peer"))
	}},
}

// closeLater closes f when the test ends; closing it again is harmless.
func closeLater(t *testing.T, f *os.File) *os.File {
	t.Cleanup(func() { f.Close() })
	return f
}

// live fails the test if ctx has ended.
func live(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	if err := ctx.Err(); err != nil {
		t.Fatalf("context ended %s: %v", when, err)
	}
}

// watchReader leaves the context alone while the reader of a pipe, a FIFO
// or a socket is there, however long, and ends it soon after the reader
// goes away, with no write to find out.
func TestWatchReader(t *testing.T) {
	for _, tc := range readerEnds {
		t.Run(tc.name, func(t *testing.T) {
			w, r := tc.open(t)
			ctx, stop := watchReader(t.Context(), w)
			defer stop()
			// The stream goes through while watched, and the watcher,
			// waiting in poll, has had time to wake up wrongly.
			if _, err := w.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if b := make([]byte, 1); readByte(t, r, b) != 'x' {
				t.Fatalf("read %q through the %s, want x", b, tc.name)
			}
			time.Sleep(100 * time.Millisecond)
			live(t, ctx, "while the reader is there")

			r.Close()
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("context not ended 10 s after the reader closed the %s", tc.name)
			}
		})
	}
}

// readByte reads one byte from r into b, waiting at most 10 s.
func readByte(t *testing.T, r *os.File, b []byte) byte {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

// stop releases the watcher while the reader is still there: it returns
// (the watching goroutine has ended), it ends the derived context, and it
// leaves the parent, the capture's own context, alone. After it, the
// reader going away cancels nothing.
func TestWatchReaderStop(t *testing.T) {
	for _, tc := range readerEnds {
		t.Run(tc.name, func(t *testing.T) {
			w, r := tc.open(t)
			parent, cancelParent := context.WithCancel(t.Context())
			defer cancelParent()
			ctx, stop := watchReader(parent, w)
			time.Sleep(50 * time.Millisecond) // the watcher waits in poll
			live(t, ctx, "before stop, with the reader there")
			stopped := make(chan struct{})
			go func() { stop(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("stop did not return within 10 s: the watcher was not released")
			}
			if ctx.Err() == nil {
				t.Error("stop did not end the derived context")
			}
			live(t, parent, "after stop (the parent)")
			r.Close()
			live(t, parent, "after stop and the reader going away (the parent)")
		})
	}
}

// Outputs that are no pipe, FIFO or socket are not watched: the context is
// only derived, and ends with its parent or with stop.
func TestWatchReaderNotWatched(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, tc := range []struct {
		name string
		out  io.Writer
	}{
		{"file", file}, {"/dev/null", null}, {"buffer", new(bytes.Buffer)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := pipeFd(tc.out); ok {
				t.Fatalf("%s taken for a pipe", tc.name)
			}
			parent, cancelParent := context.WithCancel(t.Context())
			ctx, stop := watchReader(parent, tc.out)
			defer stop()
			live(t, ctx, "at once")
			cancelParent()
			if ctx.Err() == nil {
				t.Error("context not ended with its parent")
			}
		})
	}
	for _, tc := range readerEnds {
		w, _ := tc.open(t)
		if _, ok := pipeFd(w); !ok {
			t.Errorf("%s not taken for a pipe", tc.name)
		}
	}
}

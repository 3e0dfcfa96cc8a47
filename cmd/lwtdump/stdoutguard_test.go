package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// blockingPipe is a pipe as a shell makes one: both ends blocking. The
// test closes both ends when it ends.
func blockingPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(fds[0]), "pipe-r"), os.NewFile(uintptr(fds[1]), "pipe-w")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// socketPair is a connected pair of stream sockets, as ssh's stdout can be.
func socketPair(t *testing.T) (r, w *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(fds[0]), "sock-r"), os.NewFile(uintptr(fds[1]), "sock-w")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func guard(t *testing.T, out *os.File, timeout time.Duration) *stdoutGuard {
	t.Helper()
	w, g := guardStdout(out, timeout)
	if g == nil || w != io.Writer(g) {
		t.Fatalf("%s: not guarded", out.Name())
	}
	t.Cleanup(func() { g.close() })
	return g
}

// A reader that takes nothing ends the write once the timeout has passed:
// what fitted is written, the rest is not, and every later write fails the
// same way at once. The pipe's own open file description stays blocking,
// for the pipe's other writers.
func TestStdoutGuardStalledReader(t *testing.T) {
	for _, kind := range []struct {
		name string
		make func(*testing.T) (r, w *os.File)
	}{{"pipe", blockingPipe}, {"socket", socketPair}} {
		t.Run(kind.name, func(t *testing.T) {
			_, w := kind.make(t)
			g := guard(t, w, 200*time.Millisecond)
			data := make([]byte, 8<<20)
			n, err := g.Write(data)
			var stalled stalledError
			if !errors.As(err, &stalled) || stalled.atStop || n == 0 || n == len(data) {
				t.Fatalf("wrote %d of %d bytes, error %v; want some and a stalled reader", n, len(data), err)
			}
			if err.Error() != "stdout: its reader has taken nothing for 0.2 s: capture ended (--stdout-timeout sets how long to wait, 0 for ever)" {
				t.Errorf("error %q", err)
			}
			if n2, err2 := g.Write([]byte("x")); n2 != 0 || err2 != err {
				t.Errorf("next write: %d, %v", n2, err2)
			}
			if flags, err := unix.FcntlInt(w.Fd(), unix.F_GETFL, 0); err != nil || flags&unix.O_NONBLOCK != 0 {
				t.Errorf("stdout's open file description: flags %#o, %v; want it blocking", flags, err)
			}
		})
	}
}

// A reader that takes a little now and then, more often than the timeout,
// gets everything: the timeout counts from the last time it took
// something.
func TestStdoutGuardSlowReader(t *testing.T) {
	r, w := blockingPipe(t)
	g := guard(t, w, 300*time.Millisecond)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20<<10) // 320 KiB: five pipes full
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 16<<10)
		for {
			time.Sleep(50 * time.Millisecond)
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil || b.Len() == len(data) {
				got <- b.Bytes()
				return
			}
		}
	}()
	if n, err := g.Write(data); n != len(data) || err != nil {
		t.Fatalf("wrote %d of %d bytes: %v", n, len(data), err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("the reader got %d bytes, not what was written", len(b))
	}
}

// stop bounds a wait for ever (timeout 0) to the grace of a capture that
// is ending; a reader that has gone is EPIPE, as for any write.
func TestStdoutGuardStopAndReaderGone(t *testing.T) {
	_, w := blockingPipe(t)
	g := guard(t, w, 0)
	time.AfterFunc(100*time.Millisecond, g.stop)
	_, err := g.Write(make([]byte, 1<<20))
	var stalled stalledError
	if !errors.As(err, &stalled) || !stalled.atStop {
		t.Fatalf("error %v, want a stalled reader after stop", err)
	}

	r, w := blockingPipe(t)
	g = guard(t, w, time.Minute)
	r.Close()
	if _, err := g.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("error %v, want EPIPE", err)
	}
}

// A file, /dev/null or a buffer is written as it is, without a guard.
func TestStdoutGuardNotForFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	for _, out := range []io.Writer{f, &b} {
		if w, g := guardStdout(out, time.Second); w != out || g != nil {
			t.Errorf("%T guarded", out)
		}
	}
	var g *stdoutGuard // a nil guard stops and closes as nothing
	g.stop()
	if err := g.close(); err != nil {
		t.Fatal(err)
	}
}

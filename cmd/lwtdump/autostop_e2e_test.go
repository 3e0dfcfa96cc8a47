package main

// A capture that ends by itself: dumpcap's -a conditions, and a reader of
// stdout that takes nothing (--stdout-timeout).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stalledReader is the write end of a pipe or a socket whose read end a
// sleep holds, reading nothing, as the far end of an SSH link that died
// without a FIN.
func stalledReader(t *testing.T, socket bool) *os.File {
	t.Helper()
	var r, w *os.File
	if socket {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		r, w = os.NewFile(uintptr(fds[0]), "sock-r"), os.NewFile(uintptr(fds[1]), "sock-w")
		t.Cleanup(func() { r.Close(); w.Close() })
	} else {
		r, w = pipe(t)
	}
	sleep := exec.Command("sleep", "600")
	sleep.Stdin = r
	startBg(t, "sleep 600", sleep) // killed, by its pid, when the test ends
	r.Close()
	return w
}

// With traffic on the route and a reader of stdout that takes nothing,
// lwtdump ends by itself once --stdout-timeout has passed without the
// reader taking anything: exit 1 with the reason in one line, after the
// summary, the routes restored. The same for -w - into a pipe or a socket
// and for printed lines.
func TestStalledReaderEndsCapture(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	for _, tc := range []struct {
		name   string
		socket bool
		args   []string
	}{
		{"pcapng into a pipe", false, []string{"-w", "-"}},
		{"pcapng into a socket", true, []string{"-w", "-"}},
		{"lines into a pipe", false, []string{"-nv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := tb.in(t)
			w := stalledReader(t, tc.socket)
			args := append([]string{"-i", "2001:db8:20::/48", "--netns", tb.r1, "--stdout-timeout", "2"}, tc.args...)
			p := startLwtdump(t, launch{stdout: w, stateDir: tb.stateDir}, args...)
			w.Close()
			flood := tb.startFlood(tb.h1, "2001:db8:20::1", 20000, "0.002", 1200)
			code := p.wait()
			flood.stop()
			tb.requireRoutes(tb.r1, before)
			lines := strings.Split(strings.TrimRight(p.stderr.String(), "\n"), "\n")
			last := lines[len(lines)-1]
			if code != 1 || !strings.HasPrefix(last, "lwtdump: ") ||
				!strings.Contains(last, "stdout: its reader has taken nothing for 2 s: capture ended") ||
				!strings.Contains(p.stderr.String(), " packets captured, ") {
				t.Fatalf("exit %d, want 1 and the reason last; stderr:\n%s", code, p.stderr.String())
			}
			if files := tb.stateFiles(); len(files) != 0 {
				t.Errorf("state files left: %v", files)
			}
		})
	}
}

// A capture stopped by a signal while its reader takes nothing, with no
// --stdout-timeout, waits no more than a moment to write its end: the
// routes are restored, and the exit code is 1 with the reason, since the
// end of the capture is lost.
func TestSignalWhileReaderStalls(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	w := stalledReader(t, false)
	p := startLwtdump(t, launch{stdout: w, stateDir: tb.stateDir}, "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", "-", "--stdout-timeout", "0")
	flood := tb.startFlood(tb.h1, "2001:db8:20::1", 20000, "0.002", 1200)
	// Wait until the pipe is full (TIOCINQ is FIONREAD): lwtdump is waiting
	// for its reader.
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if n >= 48<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pipe holds %d bytes after 20 s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.Close()
	code := p.stop(syscall.SIGTERM)
	flood.stop()
	tb.requireRoutes(tb.r1, before)
	if code != 1 || !strings.Contains(p.stderr.String(), "stdout: its reader took nothing in the 2 s after the capture was stopped") {
		t.Fatalf("exit %d, want 1 and the reason; stderr:\n%s", code, p.stderr.String())
	}
}

// dumpcap's -a conditions end a capture by themselves, exit 0, with the
// condition said and the routes restored: duration into a file, packets
// into stdout, filesize into stdout (a file), and files with -C.
func TestAutostopConditions(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	flood := tb.startFlood(tb.h1, "2001:db8:20::1", 100000, "0.005", 1000)
	defer flood.stop()
	for _, tc := range []struct {
		name  string
		args  []string
		says  string // the line that says why it ended; "" for none
		check func(t *testing.T, dir string, stdout *os.File)
	}{
		{"duration", []string{"-w", "out.pcapng", "-a", "duration:2"}, "lwtdump: -a duration:2 reached", func(t *testing.T, dir string, _ *os.File) {
			requireCapture(t, filepath.Join(dir, "out.pcapng"), -1)
		}},
		{"packets", []string{"-w-", "-a", "packets:5"}, "", func(t *testing.T, _ string, stdout *os.File) {
			requireCapture(t, stdout.Name(), 5)
		}},
		{"packets and a smaller -c", []string{"-c3", "-w-", "-a", "packets:5"}, "", func(t *testing.T, _ string, stdout *os.File) {
			requireCapture(t, stdout.Name(), 3)
		}},
		{"filesize", []string{"-w", "-", "-a", "filesize:20"}, "lwtdump: -a filesize:20 reached", func(t *testing.T, _ string, stdout *os.File) {
			fi, err := stdout.Stat()
			if err != nil || fi.Size() < 20000 || fi.Size() > 40000 {
				t.Errorf("stdout holds %v bytes (%v), want 20 kB and a packet or two", fi.Size(), err)
			}
			requireCapture(t, stdout.Name(), -1)
		}},
		{"files", []string{"-w", "cap.pcapng", "-C", "8k", "-a", "files:3"}, "lwtdump: -a files:3 reached", func(t *testing.T, dir string, _ *os.File) {
			for _, name := range []string{"cap.pcapng", "cap.pcapng1", "cap.pcapng2"} {
				requireCapture(t, filepath.Join(dir, name), -1)
			}
			if _, err := os.Stat(filepath.Join(dir, "cap.pcapng3")); err == nil {
				t.Errorf("a fourth file was written")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := tb.in(t)
			dir := t.TempDir()
			stdout, err := os.Create(filepath.Join(dir, "stdout.pcapng"))
			if err != nil {
				t.Fatal(err)
			}
			defer stdout.Close()
			l := launch{dir: dir, stdout: stdout, stateDir: tb.stateDir}
			p := startLwtdump(t, l, append([]string{"-i", "2001:db8:20::/48", "--netns", tb.r1}, tc.args...)...)
			if code := p.wait(); code != 0 {
				t.Fatalf("exit %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			if tc.says != "" && !strings.Contains(p.stderr.String(), tc.says+"\n") {
				t.Errorf("stderr does not say %q:\n%s", tc.says, p.stderr.String())
			}
			tc.check(t, dir, stdout)
		})
	}
}

// requireCapture fails unless file is a complete capture that capinfos
// reads, with packets packets (-1: one or more).
func requireCapture(t *testing.T, file string, packets int) {
	t.Helper()
	out := capinfos(t, file, "-c", "-M")
	var n int
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Number of packets:"); ok {
			var err error
			if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				t.Fatalf("capinfos: %q", line)
			}
		}
	}
	if (packets < 0 && n < 1) || (packets >= 0 && n != packets) {
		t.Errorf("%s: %d packets, want %d\n%s", filepath.Base(file), n, packets, out)
	}
}

// tcpdump's glued flags on a live capture: -nnc2 -s0 prints two packets
// and exits 0; -c1 -w- writes one packet.
func TestGluedFlagsLive(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	flood := tb.startFlood(tb.h1, "2001:db8:20::1", 100000, "0.01", 56)
	defer flood.stop()
	for _, tc := range []struct {
		args  []string
		check func(t *testing.T, stdout *os.File)
	}{
		{[]string{"-nnc2", "-s0", "-tttt"}, func(t *testing.T, stdout *os.File) {
			b, _ := os.ReadFile(stdout.Name())
			if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], " lwt_xmit IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request") {
				t.Errorf("printed %q", b)
			}
		}},
		{[]string{"-c1", "-w-", "-s96"}, func(t *testing.T, stdout *os.File) {
			requireCapture(t, stdout.Name(), 1)
		}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			tb := tb.in(t)
			stdout, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
			if err != nil {
				t.Fatal(err)
			}
			defer stdout.Close()
			p := startLwtdump(t, launch{stdout: stdout, stateDir: tb.stateDir}, append([]string{"-i", "2001:db8:20::/48", "--netns", tb.r1}, tc.args...)...)
			if code := p.wait(); code != 0 {
				t.Fatalf("exit %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			tc.check(t, stdout)
		})
	}
}

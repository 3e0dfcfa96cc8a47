package main

// Live capture: lwtdump -w - into a pipe, read by tshark, head, or the test
// itself as the stream arrives.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// pipe returns the two ends of a pipe, closed when the test ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// bgCmd is a command running in the background, killed when the test ends
// if it is still running then.
type bgCmd struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startBg starts cmd; stdout and stderr must be files or nil, so that
// waiting for it never waits for the children it leaves behind.
func startBg(t *testing.T, name string, cmd *exec.Cmd) *bgCmd {
	t.Helper()
	b := &bgCmd{t: t, name: name, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { b.err = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// exited reports whether the command has exited.
func (b *bgCmd) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// wait waits at most 30 s for the command and returns its error.
func (b *bgCmd) wait() error {
	b.t.Helper()
	select {
	case <-b.done:
		return b.err
	case <-time.After(30 * time.Second):
		b.t.Fatalf("%s did not exit within 30 s", b.name)
		return nil
	}
}

// tempOutput is a file that takes a process's output.
type tempOutput struct {
	t *testing.T
	f *os.File
}

func newTempOutput(t *testing.T, name string) tempOutput {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return tempOutput{t, f}
}

// String is what the process has written so far.
func (o tempOutput) String() string {
	b, err := os.ReadFile(o.f.Name())
	if err != nil {
		o.t.Fatal(err)
	}
	return string(b)
}

// lwtdump -w - | tshark -i - -c 5: tshark prints the 5 packets' comments and
// exits; lwtdump, with no more traffic to write, sees that its reader is
// gone, restores the route and exits 0, saying nothing but its summary.
func TestLiveIntoTshark(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	r, w := pipe(t)
	p := startLwtdump(t, launch{stdout: w, stateDir: tb.stateDir}, "-q", "-i", "2001:db8:20::/48", "--cookie", "0xbeef", "--netns", tb.r1, "-w", "-")
	w.Close()

	cmd := exec.Command("tshark", "-i", "-", "-c", "5", "-l", "-T", "fields", "-e", "frame.comment")
	out, errOut := newTempOutput(t, "stdout"), newTempOutput(t, "stderr")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, out.f, errOut.f
	tshark := startBg(t, "tshark -i - -c 5", cmd)
	r.Close()

	const n = 5
	if got := tb.ping(tb.h1, "2001:db8:20::1", n); got != n {
		t.Fatalf("%d of %d pings answered while capturing", got, n)
	}
	if err := tshark.wait(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, errOut.String())
	}
	// No packet follows the fifth: lwtdump must notice the closed pipe by itself.
	if code := p.wait(); code != 0 {
		t.Fatalf("lwtdump exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if got, want := p.stderr.String(), "5 packets captured, 0 dropped\n"; got != want {
		t.Errorf("lwtdump stderr %q, want only %q", got, want)
	}
	comments := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(comments) != n {
		t.Fatalf("tshark printed %d comments, want %d: %q", len(comments), n, out.String())
	}
	for i, c := range comments {
		if !strings.HasPrefix(c, "hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ") {
			t.Errorf("packet %d comment %q", i+1, c)
		}
	}
}

// lwtdump -w - | head -c 64: head takes part of the section header and
// exits; with no traffic at all lwtdump ends by itself, exit 0, the route
// restored, only the summary on stderr.
func TestLiveReaderGoneIdle(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	r, w := pipe(t)
	head := exec.Command("head", "-c", "64")
	var got bytes.Buffer
	head.Stdin, head.Stdout = r, &got
	if err := head.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	p := startLwtdump(t, launch{stdout: w, stateDir: tb.stateDir}, "-q", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", "-")
	w.Close()
	if err := head.Wait(); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("lwtdump exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if s := p.stderr.String(); s != "0 packets captured, 0 dropped\n" {
		t.Errorf("lwtdump stderr %q", s)
	}
	if !bytes.HasPrefix(got.Bytes(), []byte{0x0a, 0x0d, 0x0d, 0x0a}) || got.Len() != 64 {
		t.Errorf("head got %d bytes, not the start of a pcapng section: % x", got.Len(), got.Bytes())
	}
}

// One ping a second: every echo request reaches the pipe. The delay between
// each packet's own timestamp and its arrival on the pipe is logged (run
// with -v to see it), for the default batching and for -U.
func TestLiveLatency(t *testing.T) {
	for _, mode := range []struct{ name, flag string }{{"batched", ""}, {"U", "-U"}} {
		t.Run(mode.name, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			r, w := pipe(t)
			args := []string{"-q", "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", "-"}
			if mode.flag != "" {
				args = append(args, mode.flag)
			}
			p := startLwtdump(t, launch{stdout: w, stateDir: tb.stateDir}, args...)
			w.Close()

			const n = 5
			type arrival struct {
				seq   int
				delay time.Duration
			}
			arrivals := make(chan arrival, n)
			var readErr error
			go func() {
				defer close(arrivals)
				ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
				if err != nil {
					readErr = err
					return
				}
				for range n {
					data, ci, err := ng.ReadPacketData()
					if err != nil {
						readErr = err
						return
					}
					at := time.Now()
					seq := -1
					if len(data) >= 48 { // IPv6 header, then ICMPv6 type, code, checksum, id, sequence
						seq = int(binary.BigEndian.Uint16(data[46:48]))
					}
					arrivals <- arrival{seq: seq, delay: at.Sub(ci.Timestamp)}
				}
			}()
			pingDone := make(chan int, 1)
			go func() { pingDone <- tb.pingEvery(tb.h1, "2001:db8:20::1", n, "1") }()

			var seqs []int
			var delays []time.Duration
			for len(seqs) < n {
				select {
				case a, ok := <-arrivals:
					if !ok {
						t.Fatalf("stream ended after %d packets: %v\nstderr: %s", len(seqs), readErr, p.stderr.String())
					}
					seqs = append(seqs, a.seq)
					delays = append(delays, a.delay)
				case <-time.After(30 * time.Second):
					t.Fatalf("%d packets after 30 s\nstderr: %s", len(seqs), p.stderr.String())
				}
			}
			if got := <-pingDone; got != n {
				t.Errorf("%d of %d pings answered", got, n)
			}
			if !slices.Equal(seqs, []int{1, 2, 3, 4, 5}) {
				t.Errorf("echo requests in the stream: %v, want 1 to 5", seqs)
			}
			r.Close() // the reader goes away: lwtdump ends
			if code := p.wait(); code != 0 {
				t.Fatalf("lwtdump exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			sorted := slices.Clone(delays)
			slices.Sort(sorted)
			t.Logf("%s: delay from hook to pipe, per packet %v; min %v, median %v, max %v",
				mode.name, delays, sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1])
		})
	}
}

// -w - with stdout on a terminal is refused with one line and exit code 2,
// before anything is touched (so no root is needed).
func TestLiveRefusesTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) from util-linux is not installed")
	}
	bin := lwtdumpBinary(t)
	cmd := exec.Command("script", "-qec", bin+" -i 2001:db8:20::/48 -w -", "/dev/null")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
		t.Fatalf("exit %v, want code %d; output %q", err, exitUsage, out)
	}
	want := "lwtdump: -w -: stdout is a terminal; pipe it into a program (lwtdump -w - | tshark -i -) or write to a file\r\n"
	if string(out) != want {
		t.Errorf("terminal shows %q, want %q", out, want)
	}
}

// The same refusal in this process, with the stdout given to run a
// terminal: for a capture, and for a copy of a capture with -r.
func TestRefusesTerminalInProcess(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	dir, _ := readFixture(t)
	for _, args := range [][]string{
		// A namespace that does not exist: were the terminal not seen, the
		// capture would fail there, touching nothing of the test's own.
		{"-i", "2001:db8:20::/48", "--netns", fmt.Sprintf("lwtdt%d-none", os.Getpid()), "--state-dir", t.TempDir(), "-w", "-"},
		{"-r", filepath.Join(dir, "lwtdump.pcapng"), "-w", "-"},
	} {
		code, _, stderr := runLwtdump(t, launch{inProcess: true, stdout: tty}, args...)
		want := "lwtdump: -w -: stdout is a terminal; pipe it into a program (lwtdump -w - | tshark -i -) or write to a file\n"
		if code != exitUsage || stderr != want {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", args, code, stderr, exitUsage, want)
		}
	}
}

// scripts/wireshark-live.sh -t streams a route's capture into tshark, from
// this host and through ssh (here a stand-in that runs the remote command
// with sh -c, as sshd does, so that the quoting for the remote shell is
// checked: the ready file's name has a space and a quote in it).
func TestWiresharkLiveScript(t *testing.T) {
	for _, remote := range []bool{false, true} {
		name := map[bool]string{false: "local", true: "ssh"}[remote]
		t.Run(name, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			dir := t.TempDir()
			ready := filepath.Join(dir, "it's ready")
			args := []string{"-t", "--netns", tb.r1, "2001:db8:20::/48", "-c", "3", "--cookie", "0xbeef",
				"--state-dir", tb.stateDir, "--ready-file", ready}
			cmd := exec.Command("../../scripts/wireshark-live.sh", args...)
			cmd.Env = append(os.Environ(), "LWTDUMP="+lwtdumpBinary(t))
			if remote {
				ssh := filepath.Join(dir, "ssh")
				// ssh -T -- HOST COMMAND
				if err := os.WriteFile(ssh, []byte("#!/bin/sh\n[ \"$1 $2 $3\" = \"-T -- root@r1\" ] || exit 99\nexec sh -c \"$4\"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
				cmd.Args = append([]string{cmd.Args[0], "-H", "root@r1"}, args...)
				cmd.Env = append(cmd.Env, "SSH="+ssh)
			}
			out, errOut := newTempOutput(t, "stdout"), newTempOutput(t, "stderr")
			cmd.Stdout, cmd.Stderr = out.f, errOut.f
			script := startBg(t, "wireshark-live.sh", cmd)
			for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if script.exited() || time.Since(start) > 20*time.Second {
					t.Fatalf("lwtdump not ready\nstderr: %s", errOut.String())
				}
			}
			tb.ping(tb.h1, "2001:db8:20::1", 3)
			if err := script.wait(); err != nil {
				t.Fatalf("wireshark-live.sh: %v\nstderr: %s", err, errOut.String())
			}
			tb.requireRoutes(tb.r1, before)
			if n := strings.Count(out.String(), "Echo (ping) request"); n != 3 {
				t.Errorf("tshark showed %d echo requests, want 3:\n%s\nstderr: %s", n, out.String(), errOut.String())
			}
			if !strings.Contains(errOut.String(), "3 packets captured, 0 dropped") {
				t.Errorf("no lwtdump summary on stderr: %s", errOut.String())
			}
		})
	}
}

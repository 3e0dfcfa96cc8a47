package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP ends a capture like SIGINT and SIGTERM: routes restored, file
// complete, summary printed, exit 0.
func TestSIGHUP(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out)
	tb.ping(tb.h1, "2001:db8:20::1", 2)
	if code := p.stop(syscall.SIGHUP); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if !strings.HasSuffix(p.stderr.String(), "2 packets captured, 0 dropped\n") {
		t.Errorf("summary: %q", p.stderr.String())
	}
	if rows := tsharkFields(t, out, nil, "frame.comment"); len(rows) != 2 {
		t.Errorf("%d packets in the file", len(rows))
	}
}

// A panic, before the first packet or in the middle of a capture, ends it
// as a signal would: the routes restored, no state left, the file finished
// with a statistics block per interface (capinfos reads it), the summary
// printed; then the panic goes on with exit code 2.
func TestPanicRestoresRoutes(t *testing.T) {
	for _, tc := range []struct {
		point   string // LWTDUMP_TEST_PANIC
		packets int    // written before the panic
	}{
		{"capturing", 0},
		{"sample:20", 20},
	} {
		t.Run(tc.point, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			t.Setenv("LWTDUMP_TEST_PANIC", tc.point)
			args := []string{"-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out}
			var code int
			var stderr string
			if tc.packets == 0 {
				code, _, stderr = runLwtdump(t, tb.launch(), args...)
			} else {
				p := startLwtdump(t, tb.launch(), args...)
				tb.pingEvery(tb.h1, "2001:db8:20::1", tc.packets+10, "0.02")
				code, stderr = p.wait(), p.stderr.String()
			}
			if code != 2 || !strings.Contains(stderr, "panic: test panic at") {
				t.Fatalf("exit code %d, want the panic's exit code 2\n%s", code, stderr)
			}
			tb.requireRoutes(tb.r1, before)
			if left := tb.stateFiles(); len(left) != 0 {
				t.Errorf("state files left: %v", left)
			}
			if want := fmt.Sprintf("%d packets captured, 0 dropped\n", tc.packets); !strings.Contains(stderr, want) {
				t.Errorf("no summary %q in stderr:\n%s", want, stderr)
			}
			requireFinished(t, out, 2, tc.packets)
		})
	}
}

// requireFinished checks that file is a finished capture of interfaces
// attachments holding packets packets: the section header, the interfaces,
// the packets, a statistics block per interface; and that capinfos reads it.
func requireFinished(t *testing.T, file string, interfaces, packets int) {
	t.Helper()
	want := []uint32{blockSHB}
	for range interfaces {
		want = append(want, blockIDB)
	}
	for range packets {
		want = append(want, blockEPB)
	}
	for range interfaces {
		want = append(want, blockISB)
	}
	if types := blocks(t, file); !slices.Equal(types, want) {
		t.Errorf("blocks %v, want %v", types, want)
	}
	capinfos(t, file)
}

// An error in the reader, after 20 packets, ends the capture with exit code
// 1 and one line naming it: the routes restored, no state left, the file
// finished with its 20 packets, the summary printed.
func TestReaderError(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	t.Setenv("LWTDUMP_TEST_READ_ERROR", "20")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out)
	tb.pingEvery(tb.h1, "2001:db8:20::1", 30, "0.02")
	if code := p.wait(); code != 1 {
		t.Fatalf("exit code %d, want 1\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if left := tb.stateFiles(); len(left) != 0 {
		t.Errorf("state files left: %v", left)
	}
	stderr := p.stderr.String()
	if !strings.Contains(stderr, "20 packets captured, 0 dropped\n") || !strings.HasSuffix(stderr, "\nlwtdump: read samples: test error in the reader\n") {
		t.Errorf("want the summary, then one line naming the error; stderr:\n%s", stderr)
	}
	requireFinished(t, out, 1, 20)
}

// SIGKILL while packets stream in: the file holds every complete record up
// to the kill (tshark and pcapgo read them), and lwtdump cleanup restores
// the routes.
func TestSIGKILLMidWrite(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out)
	flood := exec.Command("ip", "netns", "exec", tb.h1, "ping", "-f", "-s", "600", "2001:db8:20::1")
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	defer flood.Process.Kill()
	time.Sleep(1500 * time.Millisecond)
	p.cmd.Process.Kill() // in the middle of the flood
	p.wait()
	flood.Process.Kill()
	flood.Wait()

	// pcapgo: complete records, then at most a cut record at the end.
	r := ngReader(t, out)
	complete := 0
	for {
		_, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", complete, err)
		}
		complete++
	}
	if complete == 0 {
		t.Fatal("no complete record before the kill")
	}
	// tshark prints every complete record, then (for a cut one) says the
	// file was cut short and exits non-zero.
	tshark, _ := exec.Command("tshark", "-r", out, "-T", "fields", "-e", "frame.number").Output()
	if got := strings.Count(string(tshark), "\n"); got != complete {
		t.Errorf("tshark read %d records, pcapgo %d", got, complete)
	}
	if code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup"); code != 0 {
		t.Fatalf("cleanup: exit %d\n%s%s", code, stdout, stderr)
	}
	tb.requireRoutes(tb.r1, before)
	t.Logf("%d complete records before SIGKILL", complete)
}

// The network namespace deleted while lwtdump captures in it: the namespace
// lives on while lwtdump holds it, and lwtdump still ends cleanly, restoring
// its routes there and removing its state.
func TestNetnsDeletedUnderCapture(t *testing.T) {
	tb := newTestbed(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out)
	tb.ping(tb.h1, "2001:db8:20::1", 2)
	tb.ip("netns", "del", tb.r1)
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	if !strings.HasSuffix(p.stderr.String(), "2 packets captured, 0 dropped\n") {
		t.Errorf("stderr: %q", p.stderr.String())
	}
	if left := tb.stateFiles(); len(left) != 0 {
		t.Errorf("state files left: %v", left)
	}
	capinfos(t, out)
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A capture killed with SIGKILL leaves its programs on the routes and its
// state file behind: forwarding goes on, `lwtdump list` shows the routes as
// a gone lwtdump's, a new capture of them refuses and names `lwtdump
// cleanup`, and `lwtdump cleanup` (run without --netns: the state file
// names the namespace) puts every route back byte for byte. A second
// lwtdump on a route in use refuses and names the first one's pid.
func TestKillThenCleanup(t *testing.T) {
	tb := newSRv6Testbed(t)
	before := tb.routes(tb.r1)
	p := startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "-i", "2001:db8:21::/64@r1_h2", "--hook", "in,xmit",
		"--srv6-sid", "2001:db8:f1::1", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	pid := p.cmd.Process.Pid

	code, _, stderr := runLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "--netns", tb.r1)
	if want := fmt.Sprintf("lwtdump: route 203.0.113.0/24 is being captured by lwtdump pid %d: stop that capture first\n", pid); code != 1 || stderr != want {
		t.Errorf("second capture of a route in use: exit code %d, stderr %q, want 1 and %q", code, stderr, want)
	}

	p.stop(syscall.SIGKILL)
	if files := tb.stateFiles(); len(files) != 1 || filepath.Base(filepath.Dir(files[0])) != fmt.Sprint(pid) {
		t.Fatalf("state files after SIGKILL: %v", files)
	}
	if got := tb.ping(tb.h1, "203.0.113.1", 2); got != 2 {
		t.Errorf("%d of 2 pings answered through the programs of the killed lwtdump", got)
	}
	if got := tb.ping(tb.h1, "2001:db8:20::1", 2); got != 2 {
		t.Errorf("%d of 2 pings answered through the End.BPF of the killed lwtdump", got)
	}

	code, stdout, stderr := runLwtdump(t, tb.launch(), "list", "--netns", tb.r1)
	if code != 0 {
		t.Fatalf("list: exit code %d, stderr %q", code, stderr)
	}
	for _, route := range []string{"203.0.113.0/24", "2001:db8:21::/64", "2001:db8:f1::1/128"} {
		if !hasLine(stdout, route+" ", fmt.Sprintf("lwtdump pid %d, gone: run lwtdump cleanup (state file ", pid)) {
			t.Errorf("list does not show %s as the killed lwtdump's:\n%s", route, stdout)
		}
	}
	if !hasLine(stdout, "2001:db8:f1::1/128 ", fmt.Sprintf("End.BPF=lwtdump:%d:seg6local", pid)) ||
		!hasLine(stdout, "2001:db8:21::/64 ", fmt.Sprintf("in=lwtdump:%d:in:added", pid), fmt.Sprintf("xmit=lwtdump:%d:xmit:added", pid)) {
		t.Errorf("list:\n%s", stdout)
	}

	for _, args := range [][]string{{"-i", "203.0.113.0/24"}, {"--srv6-sid", "2001:db8:f1::1"}} {
		code, _, stderr := runLwtdump(t, tb.launch(), append(args, "--netns", tb.r1)...)
		if code != 1 || !strings.Contains(stderr, fmt.Sprintf("still carries the programs of lwtdump pid %d, which is gone: run `lwtdump cleanup` first", pid)) {
			t.Errorf("capture %v of a stale route: exit code %d, stderr %q", args, code, stderr)
		}
	}

	code, stdout, stderr = runLwtdump(t, tb.launch(), "cleanup")
	if code != 0 {
		t.Fatalf("cleanup: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	want := []string{
		fmt.Sprintf("route 2001:db8:f1::1/128 table 254 in netns %s: restored (lwtdump pid %d had replaced it)", tb.r1, pid),
		fmt.Sprintf("route 2001:db8:21::/64 table 254 in netns %s: deleted (lwtdump pid %d had added it)", tb.r1, pid),
		fmt.Sprintf("route 203.0.113.0/24 table 254 in netns %s: restored (lwtdump pid %d had replaced it)", tb.r1, pid),
	}
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); !slices.Equal(got, want) {
		t.Errorf("cleanup said:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
	tb.requireRoutes(tb.r1, before)
	if files := tb.stateFiles(); len(files) != 0 {
		t.Errorf("state files after cleanup: %v", files)
	}
	if _, stdout, _ := runLwtdump(t, tb.launch(), "list", "--netns", tb.r1); stdout != "no route carries a BPF program\n" {
		t.Errorf("list after cleanup: %q", stdout)
	}
	if code, stdout, _ := runLwtdump(t, tb.launch(), "cleanup"); code != 0 || stdout != "nothing to clean up\n" {
		t.Errorf("second cleanup: exit code %d, %q", code, stdout)
	}
	// The routes work as before, and can be captured again.
	p = startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "--srv6-sid", "2001:db8:f1::1", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "again.pcapng"))
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("capture after cleanup: exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
}

// Without a state file, cleanup cannot replay a record: it says what it
// found and changes nothing; with --strip it takes the programs off (a
// replaced route becomes the same route without an encap, an added one is
// deleted), and leaves another program's bpf encap alone.
func TestCleanupWithoutState(t *testing.T) {
	tb := newTestbed(t)
	if obj := foreignBPFObject(t); obj != "" {
		tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:26::/64", "encap", "bpf", "xmit", "obj", obj, "section", "lwt_xmit", "dev", "r1_h2")
	}
	before := tb.routes(tb.r1)
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "-i", "198.51.100.0/28", "-i", "192.0.2.128/25@r1_h2", "--hook", "out", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	pid := p.cmd.Process.Pid
	p.stop(syscall.SIGKILL)
	for _, f := range tb.stateFiles() {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	stale := tb.routes(tb.r1)

	_, stdout, _ := runLwtdump(t, tb.launch(), "list", "--netns", tb.r1)
	for _, route := range []string{"2001:db8:20::/48", "198.51.100.0/28", "192.0.2.128/25"} {
		if !hasLine(stdout, route+" ", fmt.Sprintf("lwtdump pid %d, gone, no state file: run lwtdump cleanup --strip", pid)) {
			t.Errorf("list does not show %s as stale without a state file:\n%s", route, stdout)
		}
	}
	if strings.Contains(before, "2001:db8:26::/64") && !hasLine(stdout, "2001:db8:26::/64 ", "xmit=pass.o:[lwt_xmit]", "not lwtdump") {
		t.Errorf("list does not show the other program's encap:\n%s", stdout)
	}

	code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup", "--netns", tb.r1)
	if code != 1 || !strings.Contains(stderr, "left as they are") ||
		!hasLine(stdout, "route 2001:db8:20::/48 table 254", "no state file records the original", "`lwtdump cleanup --strip` puts back the same route without it") ||
		!hasLine(stdout, "route 192.0.2.128/25 table 254", "was added by lwtdump pid", "run `lwtdump cleanup --strip` to delete it") {
		t.Errorf("cleanup without state: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	tb.requireRoutes(tb.r1, stale)

	code, stdout, stderr = runLwtdump(t, tb.launch(), "cleanup", "--netns", tb.r1, "--strip")
	if code != 0 || strings.Count(stdout, "\n") != 3 || !strings.Contains(stdout, "route 192.0.2.128/25 table 254 in netns "+tb.r1+": deleted (added by lwtdump pid") {
		t.Errorf("cleanup --strip: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	tb.requireRoutes(tb.r1, before)
}

// A route whose device goes down during the capture is removed by the
// kernel, as it would be without lwtdump: lwtdump says so at once (the
// kernel sends no notification for IPv4 routes, so lwtdump looks them up
// when a device goes down), records the gap, does not put the route back,
// and exits 0 (with --no-follow, 1). Routes through other devices are
// restored exactly.
func TestCaptureDeviceDown(t *testing.T) {
	for _, noFollow := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-follow=%v", noFollow), func(t *testing.T) {
			testCaptureDeviceDown(t, noFollow)
		})
	}
}

func testCaptureDeviceDown(t *testing.T, noFollow bool) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	args := []string{"-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "-i", "2001:db8:1::/64", "-i", "192.0.2.0/28",
		"--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng")}
	if noFollow {
		args = append(args, "--no-follow")
	}
	p := startLwtdump(t, tb.launch(), args...)
	tb.ip("-n", tb.r1, "link", "set", "r1_h2", "down")
	if noFollow {
		if code := p.wait(); code != 1 || !strings.Contains(p.stderr.String(), "removed by the kernel (device r1_h2 went down) at ") {
			t.Errorf("exit code %d, want 1 and the reason\n%s", code, p.stderr.String())
		}
	} else {
		for _, route := range []string{"2001:db8:20::/48 (table 254, metric 1024)", "203.0.113.0/24 (table 254, metric 0)"} {
			p.waitLine(2*time.Second, "route "+route+" removed by the kernel (device r1_h2 went down): capture paused until a route to ")
		}
		if code := p.stop(syscall.SIGTERM); code != 0 {
			t.Errorf("exit code %d, want 0\n%s", code, p.stderr.String())
		}
		if !regexp.MustCompile(`, 1 gap at 2001:db8:20::/48 \(\d\.\d+ s, not back at exit\), 1 gap at 203.0.113.0/24 \(\d\.\d+ s, not back at exit\)\n`).MatchString(p.stderr.String()) {
			t.Errorf("summary does not count the gaps:\n%s", p.stderr.String())
		}
	}
	after := tb.routes(tb.r1)
	// Every line of after was in before, in the same order; every line of
	// before that is missing went through r1_h2.
	var kept []string
	for _, line := range strings.SplitAfter(before, "\n") {
		if strings.Contains(after, line) {
			kept = append(kept, line)
		} else if !strings.Contains(line, "dev r1_h2") {
			t.Errorf("route missing after the capture: %q", line)
		}
	}
	if strings.Join(kept, "") != after {
		t.Errorf("routes after the capture are not those of before less the ones through r1_h2:\n--- before\n%s--- after\n%s", before, after)
	}
	if files := tb.stateFiles(); len(files) != 0 {
		t.Errorf("state files left: %v", files)
	}
}

// A connected IPv4 route whose device goes down and up again during the
// capture comes back without the capture (the kernel adds it anew): at exit
// it already is what it was, and lwtdump leaves it so.
func TestCaptureDeviceFlap(t *testing.T) {
	tb := newTestbed(t)
	before := tb.ip("-n", tb.r1, "-4", "route", "show", "table", "all")
	p := startLwtdump(t, tb.launch(), "-i", "198.51.100.0/28", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	tb.ip("-n", tb.r1, "link", "set", "r1_h2", "down")
	tb.ip("-n", tb.r1, "link", "set", "r1_h2", "up")
	for i := 0; !strings.Contains(tb.ip("-n", tb.r1, "-4", "route", "show", "198.51.100.0/28"), "proto kernel"); i++ {
		if i == 100 {
			t.Fatal("the connected route did not come back after the device came up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Errorf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	// The kernel drops the static route through r1_h2 for good when the
	// device goes down, with or without lwtdump.
	want := strings.Replace(before, "203.0.113.0/24 via 198.51.100.1 dev r1_h2 \n", "", 1)
	if after := tb.ip("-n", tb.r1, "-4", "route", "show", "table", "all"); after != want {
		t.Errorf("IPv4 routes:\n--- want\n%s--- after\n%s", want, after)
	}
}

// hasLine reports whether a line of text holds every one of parts.
func hasLine(text string, parts ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// lwtdump run inside a namespace (ip netns exec, no --netns) captures and
// restores there; after a SIGKILL its state file names no namespace, so
// cleanup run elsewhere refuses to guess, and cleanup --netns NAME (or run
// inside it) restores the routes.
func TestCurrentNetns(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, launch{ns: tb.r1, stateDir: tb.stateDir}, "-i", "203.0.113.0/24", "-i", "2001:db8:20::/48", "--hook", "in,xmit", "-w", out)
	if got := tb.ping(tb.h1, "203.0.113.1", 2); got != 2 {
		t.Errorf("%d of 2 pings answered while capturing", got)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if got := echoRequests(t, out); got["lwt_in:203.0.113.0/24@r1_h2 hook=lwt_in"] != 2 || got["lwt_xmit:203.0.113.0/24@r1_h2 hook=lwt_xmit"] != 2 {
		t.Errorf("echo requests: %v", got)
	}

	p = startLwtdump(t, launch{ns: tb.r1, stateDir: tb.stateDir}, "-i", "203.0.113.0/24", "-w", out)
	pid := p.cmd.Process.Pid
	p.stop(syscall.SIGKILL)
	stale := tb.routes(tb.r1)
	code, stdout, stderr := runLwtdump(t, launch{ns: tb.h1, stateDir: tb.stateDir}, "cleanup")
	if code != 1 || !strings.Contains(stdout, fmt.Sprintf("of lwtdump pid %d was written in another network namespace", pid)) {
		t.Errorf("cleanup in another namespace: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	tb.requireRoutes(tb.r1, stale)
	code, stdout, stderr = runLwtdump(t, launch{ns: tb.h1, stateDir: tb.stateDir}, "cleanup", "--netns", tb.r1)
	if want := fmt.Sprintf("route 203.0.113.0/24 table 254 in netns %s: restored (lwtdump pid %d had replaced it)\n", tb.r1, pid); code != 0 || stdout != want {
		t.Errorf("cleanup --netns: exit code %d\nstdout: %q, want %q\nstderr: %s", code, stdout, want, stderr)
	}
	tb.requireRoutes(tb.r1, before)

	// The same, cleaned up from inside the namespace.
	p = startLwtdump(t, launch{ns: tb.r1, stateDir: tb.stateDir}, "-i", "2001:db8:20::/48", "-w", out)
	pid = p.cmd.Process.Pid
	p.stop(syscall.SIGKILL)
	code, stdout, stderr = runLwtdump(t, launch{ns: tb.r1, stateDir: tb.stateDir}, "cleanup")
	if want := fmt.Sprintf("route 2001:db8:20::/48 table 254: restored (lwtdump pid %d had replaced it)\n", pid); code != 0 || stdout != want {
		t.Errorf("cleanup inside the namespace: exit code %d\nstdout: %q, want %q\nstderr: %s", code, stdout, want, stderr)
	}
	tb.requireRoutes(tb.r1, before)
}

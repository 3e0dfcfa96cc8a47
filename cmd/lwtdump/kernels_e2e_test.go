package main

// The kernel matrix: the captures that depend on the kernel, run on other
// kernels than the host's. scripts/vmtest.sh boots each kernel under qemu
// with an initramfs made from the tree, scripts/vmtest-guest.sh runs the
// captures inside it, and this test reads what they wrote with tshark and
// capinfos. Every other end-to-end test runs on the host's kernel.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// testKernels are the kernel series booted by TestKernels, as Debian names
// its packages (linux-image-SERIES.*-amd64-unsigned): Debian 12's by default;
// LWTDUMP_TEST_KERNELS="6.1 6.12" adds others.
func testKernels() []string {
	if s := os.Getenv("LWTDUMP_TEST_KERNELS"); s != "" {
		return strings.Fields(s)
	}
	return []string{"6.1"}
}

// guestCase is what one capture of vmtest-guest.sh must have written.
type guestCase struct {
	name string
	// packets counts the packets of NAME.pcapng by "HOOK/IP-VERSION".
	packets map[string]int
	// lengths, when set, are each packet's length and captured length.
	lengths [][2]int
	// stderr are texts NAME.stderr must hold.
	stderr []string
	check  func(t *testing.T, dir string)
}

var guestCases = []guestCase{
	{name: "xmit6", packets: map[string]int{"lwt_xmit/6": 5},
		lengths: [][2]int{{104, 104}, {248, 248}, {448, 448}, {948, 948}, {1448, 1448}},
		stderr:  []string{"5 packets captured, 0 dropped\n"}},
	{name: "hooks", packets: everyHook(2), stderr: []string{"12 packets captured, 0 dropped\n"}},
	{name: "hooks-perf", packets: everyHook(2), stderr: []string{"12 packets captured, 0 dropped\n"}},
	{name: "filter", packets: map[string]int{"lwt_xmit/4": 3},
		stderr: []string{"3 packets captured, 0 dropped, 3 filtered\n"}},
	{name: "filter-perf", packets: map[string]int{"lwt_xmit/6": 3},
		lengths: [][2]int{{1048, 100}, {1048, 100}, {1048, 100}},
		stderr:  []string{"3 packets captured, 0 dropped, 3 filtered\n"}},
	{name: "fallback-ringbuf", packets: map[string]int{"lwt_xmit/6": 2},
		stderr: []string{"lwtdump: the BPF ring buffer cannot be used: kernel ", " has none (Linux 5.8 and later have it); using the perf buffer\n"}},
	{name: "fallback-verifier", packets: map[string]int{"lwt_xmit/6": 2},
		stderr: []string{"lwtdump: the BPF ring buffer cannot be used: the verifier of kernel ", " refused the lwt_xmit program with it (", "); using the perf buffer; the verifier's log is in /out/lwtdump-verifier-"},
		check:  checkVerifierLog},
	{name: "kill", check: checkKillCleanup},
	{name: "srv6", packets: map[string]int{"lwt_seg6local/6": 3},
		stderr: []string{"3 packets captured, 0 dropped\n"}, check: checkSRv6},
}

// everyHook counts n packets at each of lwt_in, lwt_out and lwt_xmit, for
// IPv6 and IPv4 each.
func everyHook(n int) map[string]int {
	m := map[string]int{}
	for _, h := range []string{"lwt_in", "lwt_out", "lwt_xmit"} {
		m[h+"/6"], m[h+"/4"] = n, n
	}
	return m
}

// TestKernels runs lwtdump's captures, with its defaults and with the
// choices the kernel decides on (each hook, IPv4 and IPv6, a filter
// expression, both transports and the fallback between them, SRv6 End.BPF,
// the exact restore of every route, cleanup after SIGKILL), on each kernel
// of testKernels, each booted under qemu.
func TestKernels(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel matrix: needs root to fetch kernels and for qemu's 9p share (run `sudo make test`)")
	}
	if testing.Short() {
		t.Skip("kernel matrix: boots kernels under qemu; not with -short")
	}
	for _, tool := range []string{"tshark", "capinfos", "qemu-system-x86_64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("kernel matrix: %s is not installed (make deps installs it)", tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "lwtdump")
	build := exec.Command("go", "build", "-tags", "lwtdump_testhooks", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, series := range testKernels() {
		t.Run(series, func(t *testing.T) {
			dir := t.TempDir()
			out, err := exec.Command("../../scripts/vmtest.sh", "-k", series, "-b", bin, dir).CombinedOutput()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 77 {
				t.Skipf("kernel matrix: %s", strings.TrimSpace(string(out)))
			}
			if err != nil {
				t.Fatalf("vmtest.sh -k %s: %v\n%s", series, err, out)
			}
			kernel, _ := os.ReadFile(filepath.Join(dir, "kernel"))
			t.Logf("%s%s", kernel, lastLine(string(out)))
			results := guestResults(t, dir)
			for _, gc := range guestCases {
				t.Run(gc.name, func(t *testing.T) {
					code, ok := results[gc.name]
					if !ok {
						t.Fatalf("the guest did not run case %s\nconsole:\n%s", gc.name, readFile(t, filepath.Join(dir, "console.log")))
					}
					checkGuestCase(t, dir, gc, code)
				})
			}
		})
	}
}

// guestResults reads the exit code of each case from OUTDIR/results.
func guestResults(t *testing.T, dir string) map[string]int {
	t.Helper()
	results := map[string]int{}
	done := false
	for _, line := range strings.Split(readFile(t, filepath.Join(dir, "results")), "\n") {
		var name string
		var code, seconds int
		if _, err := fmt.Sscanf(line, "case %s exit %d seconds %d", &name, &code, &seconds); err == nil {
			results[name] = code
		}
		done = done || line == "done"
	}
	if !done {
		t.Errorf("the guest did not finish its cases\nconsole:\n%s", readFile(t, filepath.Join(dir, "console.log")))
	}
	return results
}

func checkGuestCase(t *testing.T, dir string, gc guestCase, code int) {
	path := func(ext string) string { return filepath.Join(dir, gc.name+"."+ext) }
	stderr := readFile(t, path("stderr"))
	if code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if len(line) > 400 {
			t.Errorf("stderr has a line of %d characters:\n%.400s...", len(line), line)
		}
	}
	for _, want := range gc.stderr {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if before, after := readFile(t, path("before")), readFile(t, path("after")); before != after {
		t.Errorf("r1's routes changed:\n--- before\n%s--- after\n%s", before, after)
	}
	if gc.packets != nil {
		capinfos(t, path("pcapng"))
		rows := tsharkFields(t, path("pcapng"), []string{"-E", "occurrence=f"}, "frame.comment", "ip.version", "frame.len", "frame.cap_len")
		got := map[string]int{}
		var lengths [][2]int
		for _, r := range rows {
			hook, _, _ := strings.Cut(strings.TrimPrefix(r[0], "hook="), " ")
			got[hook+"/"+r[1]]++
			var l [2]int
			fmt.Sscan(r[2], &l[0])
			fmt.Sscan(r[3], &l[1])
			lengths = append(lengths, l)
		}
		if fmt.Sprint(got) != fmt.Sprint(gc.packets) {
			t.Errorf("packets by hook/IP version: %v, want %v", got, gc.packets)
		}
		if gc.lengths != nil && !slices.Equal(lengths, gc.lengths) {
			t.Errorf("packet lengths (length, captured): %v, want %v", lengths, gc.lengths)
		}
	}
	if gc.check != nil {
		gc.check(t, dir)
	}
}

// checkVerifierLog checks that the file the fallback line names holds the
// verifier's log of the refused program.
func checkVerifierLog(t *testing.T, dir string) {
	stderr := readFile(t, filepath.Join(dir, "fallback-verifier.stderr"))
	m := regexp.MustCompile(`the verifier's log is in /out/(lwtdump-verifier-[0-9]+\.log)\n`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no verifier log named in stderr:\n%s", stderr)
	}
	log := readFile(t, filepath.Join(dir, m[1]))
	if !strings.Contains(log, "call bpf_ringbuf_reserve#131") || !strings.Contains(log, "\nprocessed ") {
		t.Errorf("%s is not the verifier's log of the program:\n%s", m[1], log)
	}
}

// checkKillCleanup checks that SIGKILL left the programs on both routes,
// that list named the gone lwtdump, and that cleanup put the routes back.
func checkKillCleanup(t *testing.T, dir string) {
	during := readFile(t, filepath.Join(dir, "kill.during"))
	if n := strings.Count(during, "encap bpf in lwtdump:"); n != 2 {
		t.Errorf("after SIGKILL, %d routes carry lwtdump's programs, want 2:\n%s", n, during)
	}
	if list := readFile(t, filepath.Join(dir, "kill.list")); strings.Count(list, ", gone: run lwtdump cleanup") != 2 {
		t.Errorf("lwtdump list does not name the gone lwtdump on both routes:\n%s", list)
	}
	if cleanup := readFile(t, filepath.Join(dir, "kill.cleanup")); strings.Count(cleanup, ": restored (lwtdump pid ") != 2 {
		t.Errorf("lwtdump cleanup did not restore both routes:\n%s", cleanup)
	}
}

// checkSRv6 checks that End.BPF saw each packet as it leaves the SID.
func checkSRv6(t *testing.T, dir string) {
	for _, r := range tsharkFields(t, filepath.Join(dir, "srv6.pcapng"), []string{"-E", "occurrence=f"}, "ipv6.dst", "ipv6.routing.segleft") {
		if r[0] != "2001:db8:2::1" || r[1] != "0" {
			t.Errorf("packet to %s with segments left %s, want 2001:db8:2::1 and 0", r[0], r[1])
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

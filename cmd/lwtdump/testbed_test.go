package main

// The end-to-end test harness: the lwtdump binary, the h1 - r1 - h2 testbed
// of scripts/testbed.sh in namespaces of the test's own, and the real tools
// (ping, ip, tshark, capinfos) that check what lwtdump did.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	tbCounter atomic.Int32
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// requireRoot skips a test that needs root, network namespaces and eBPF.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("end-to-end test: needs root for network namespaces, routes and eBPF (run `sudo make test`)")
	}
	for _, tool := range []string{"ip", "ping", "tshark", "capinfos"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("end-to-end test: %s is not installed (make deps installs it)", tool)
		}
	}
}

// lwtdumpBinary builds lwtdump once per test run.
func lwtdumpBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lwtdump-test-bin-")
		if err != nil {
			buildErr = err
			return
		}
		// Others may run it: the tests of -Z and of an unprivileged user.
		if err := os.Chmod(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lwtdump")
		out, err := exec.Command("go", "build", "-race", "-tags", "lwtdump_testhooks", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// testbed is one h1 - r1 - h2 testbed.
type testbed struct {
	t          *testing.T
	name       string
	h1, r1, h2 string
	stateDir   string
}

// newTestbed creates a testbed with unique namespace names and removes it
// when the test ends, whatever the outcome.
func newTestbed(t *testing.T) *testbed {
	t.Helper()
	return newTestbedVariant(t, "up")
}

// newSRv6Testbed creates the SRv6 variant of the testbed (testbed.sh
// up-srv6): h1 reaches 2001:db8:20::/48 through r1's SID 2001:db8:f1::1.
func newSRv6Testbed(t *testing.T) *testbed {
	t.Helper()
	return newTestbedVariant(t, "up-srv6")
}

func newTestbedVariant(t *testing.T, up string) *testbed {
	t.Helper()
	requireRoot(t)
	name := fmt.Sprintf("lwtdt%d-%d", os.Getpid(), tbCounter.Add(1))
	tb := &testbed{t: t, name: name, h1: name + "-h1", r1: name + "-r1", h2: name + "-h2", stateDir: t.TempDir()}
	t.Cleanup(func() {
		if out, err := exec.Command("../../scripts/testbed.sh", "down", name).CombinedOutput(); err != nil {
			t.Errorf("testbed down: %v\n%s", err, out)
		}
	})
	if out, err := exec.Command("../../scripts/testbed.sh", up, name).CombinedOutput(); err != nil {
		t.Fatalf("testbed %s: %v\n%s", up, err, out)
	}
	return tb
}

// in returns the testbed for use by the subtest t.
func (tb *testbed) in(t *testing.T) *testbed {
	c := *tb
	c.t = t
	return &c
}

// ip runs ip(8) and returns its output.
func (tb *testbed) ip(args ...string) string {
	tb.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		tb.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// routes returns every IPv6 and IPv4 route of the namespace, in every table,
// as `ip route show table all` prints them.
func (tb *testbed) routes(ns string) string {
	tb.t.Helper()
	return tb.ip("-n", ns, "-6", "route", "show", "table", "all") + tb.ip("-n", ns, "-4", "route", "show", "table", "all")
}

// requireRoutes fails the test when the namespace's routes differ from before.
func (tb *testbed) requireRoutes(ns, before string) {
	tb.t.Helper()
	if after := tb.routes(ns); after != before {
		tb.t.Fatalf("route table of %s changed:\n--- before\n%s--- after\n%s", ns, before, after)
	}
}

// stateFiles lists the state files left in the testbed's state directory.
func (tb *testbed) stateFiles() []string {
	tb.t.Helper()
	files, err := filepath.Glob(filepath.Join(tb.stateDir, "*", "state.json"))
	if err != nil {
		tb.t.Fatal(err)
	}
	return files
}

// ifindex returns the ifindex of a device in a namespace.
func (tb *testbed) ifindex(ns, dev string) int {
	tb.t.Helper()
	var index int
	// Its standard output alone: ip warns on stderr when the veth's peer
	// namespace cannot be named (another test's namespace going away).
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show", "dev", dev).Output()
	if _, serr := fmt.Sscanf(string(out), "%d:", &index); err != nil || serr != nil {
		tb.t.Fatalf("ifindex of %s in %s: %v %q", dev, ns, err, out)
	}
	return index
}

// ping sends count echo requests from ns to dst, 0.1 s apart, and returns
// how many replies came back.
func (tb *testbed) ping(ns, dst string, count int) int {
	tb.t.Helper()
	return tb.pingEvery(ns, dst, count, "0.1")
}

// pingEvery is ping with interval seconds between two echo requests.
func (tb *testbed) pingEvery(ns, dst string, count int, interval string) int {
	tb.t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-c", fmt.Sprint(count), "-i", interval, "-W", "1", dst).CombinedOutput()
	var sent, recv int
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Sscanf(line, "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	return recv
}

// flood is a ping running in the background.
type flood struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// startFlood starts `ping -q -c count -i interval -s size dst` in ns and
// stops it when the test ends if it is still running. The ping runs on CPU 0
// only, so every sample passes through the same per-CPU perf buffer and
// reaches user space in the order it was sent (samples of different CPUs
// reach it interleaved batch by batch, out of order by up to a flush
// interval).
func (tb *testbed) startFlood(ns, dst string, count int, interval string, size int) *flood {
	tb.t.Helper()
	if _, err := exec.LookPath("taskset"); err != nil {
		tb.t.Skip("end-to-end test: taskset is not installed (util-linux)")
	}
	f := &flood{done: make(chan struct{})}
	f.cmd = exec.Command("ip", "netns", "exec", ns, "taskset", "-c", "0", "ping", "-q", "-c", fmt.Sprint(count), "-i", interval, "-s", fmt.Sprint(size), "-W", "1", dst)
	f.cmd.Stdout, f.cmd.Stderr = &f.out, &f.out
	if err := f.cmd.Start(); err != nil {
		tb.t.Fatal(err)
	}
	go func() { f.cmd.Wait(); close(f.done) }()
	tb.t.Cleanup(func() { f.stop() })
	return f
}

// stop interrupts the ping (if it still runs), waits for it and returns how
// many echo requests it sent and how many replies came back.
func (f *flood) stop() (sent, recv int) {
	select {
	case <-f.done:
	default:
		f.cmd.Process.Signal(syscall.SIGINT)
		<-f.done
	}
	return f.counts()
}

// wait waits for the ping to send all its requests.
func (f *flood) wait() (sent, recv int) {
	<-f.done
	return f.counts()
}

func (f *flood) counts() (sent, recv int) {
	for _, line := range strings.Split(f.out.String(), "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Sscanf(line, "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	return sent, recv
}

// mountTmpfs mounts a tmpfs with the mount options opts (such as
// "size=256k" or "ro") on a new directory, and unmounts it when the test ends.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir() // removed after the unmount below: cleanups run last first
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "lwtdump-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs -o %s: %v\n%s", opts, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// udp sends count datagrams of payload from ns to dst:port, one at a time
// (bash's /dev/udp: each redirection is one connected socket, one write).
func (tb *testbed) udp(ns, dst string, port, count int, payload string) {
	tb.t.Helper()
	script := fmt.Sprintf(`for i in $(seq %d); do printf %%s %q > /dev/udp/%s/%d; done`, count, payload, dst, port)
	if out, err := exec.Command("ip", "netns", "exec", ns, "bash", "-c", script).CombinedOutput(); err != nil {
		tb.t.Fatalf("send udp from %s to [%s]:%d: %v\n%s", ns, dst, port, err, out)
	}
}

// tsharkFields reads a capture with tshark and returns one row of fields per packet.
func tsharkFields(t *testing.T, file string, extra []string, fields ...string) [][]string {
	t.Helper()
	args := append([]string{"-r", file, "-T", "fields", "-E", "separator=|"}, extra...)
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "|"))
		}
	}
	return rows
}

// epochTime parses tshark's frame.time_epoch, seconds with nanoseconds.
func epochTime(t *testing.T, s string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return time.Unix(secs, ns)
}

// capinfos runs capinfos with args on file and fails the test if it rejects the file.
func capinfos(t *testing.T, file string, args ...string) string {
	t.Helper()
	out, err := exec.Command("capinfos", append(args, file)...).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos %s: %v\n%s", file, err, out)
	}
	return string(out)
}

// ngReader opens file with pcapgo's pcapng reader, failing the test unless
// it starts as a pcapng file; the file is closed when the test ends.
func ngReader(t *testing.T, file string) *pcapgo.NgReader {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return r
}

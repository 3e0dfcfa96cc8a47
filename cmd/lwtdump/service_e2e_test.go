package main

// lwtdump as a service: the notify protocol and the watchdog against a
// socket the test listens on, the metrics scraped during a real capture
// and compared with the summary and the file's statistics blocks, the
// key=value events, a config file read by the real binary, and the unit's
// own ExecStartPre cleanup after a SIGKILL.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/writer/pcapngtest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// notifySocket is a datagram socket that plays the service manager.
type notifySocket struct {
	t  *testing.T
	fd int
}

// listenNotify binds a datagram socket at name ('@' first: abstract).
func listenNotify(t *testing.T, name string) *notifySocket {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatal(err)
	}
	return &notifySocket{t: t, fd: fd}
}

// next waits up to timeout for a datagram, and returns it with the time it came.
func (s *notifySocket) next(timeout time.Duration) (string, time.Time) {
	s.t.Helper()
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(s.fd, buf, 0)
	if err != nil {
		s.t.Fatalf("no notification within %v: %v", timeout, err)
	}
	return string(buf[:n]), time.Now()
}

// READY=1 comes once every route is attached and the file is open; STATUS=
// follows the packets; WATCHDOG=1 comes about every half WATCHDOG_USEC; and
// SIGTERM brings STOPPING=1 before the routes are restored. The socket is
// in the abstract namespace, as systemd's may be.
func TestServiceNotify(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	addr := fmt.Sprintf("@lwtdump-e2e-notify-%d", os.Getpid())
	sock := listenNotify(t, addr)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	l := tb.launch()
	l.env = append(os.Environ(), "NOTIFY_SOCKET="+addr, "WATCHDOG_USEC=1000000")
	cmd := l.command(t, l.args([]string{"-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--hook", "in,xmit", "--netns", tb.r1, "-w", out}))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			<-done
		}
	})

	msg, _ := sock.next(20 * time.Second)
	if want := "READY=1\nSTATUS=capturing at 4 attachments: 0 packets written, 0 dropped"; msg != want {
		t.Fatalf("first notification %q, want %q\nstderr: %s", msg, want, stderr.String())
	}
	// Ready means captured: both routes carry the programs, the file has begun.
	for _, prefix := range []string{"2001:db8:20::/48", "203.0.113.0/24"} {
		if r := routeOf(tb, prefix); !strings.Contains(r, "encap bpf") || !strings.Contains(r, fmt.Sprintf("lwtdump:%d:xmit", cmd.Process.Pid)) {
			t.Errorf("at READY=1, route %s is %q", prefix, r)
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("at READY=1, the file is not begun: %v", err)
	}

	if got := tb.ping(tb.h1, "2001:db8:20::1", 3); got != 3 {
		t.Fatalf("%d of 3 pings answered", got)
	}
	var pings []time.Time
	sawStatus := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && (len(pings) < 6 || !sawStatus); {
		msg, at := sock.next(5 * time.Second)
		for _, line := range strings.Split(msg, "\n") {
			switch {
			case line == "WATCHDOG=1":
				pings = append(pings, at)
			case line == "STATUS=capturing at 4 attachments: 6 packets written, 0 dropped":
				sawStatus = true
			case strings.HasPrefix(line, "STATUS="):
			default:
				t.Errorf("while capturing: %q", line)
			}
		}
	}
	if !sawStatus {
		t.Error("no STATUS= with the 6 packets written")
	}
	if len(pings) < 6 {
		t.Fatalf("%d watchdog pings", len(pings))
	}
	var gaps []time.Duration
	for i := 1; i < len(pings); i++ {
		gaps = append(gaps, pings[i].Sub(pings[i-1]))
	}
	slices.Sort(gaps)
	// About half of WATCHDOG_USEC (1 s): the median gap, loosely.
	if med := gaps[len(gaps)/2]; med < 350*time.Millisecond || med > 750*time.Millisecond {
		t.Errorf("watchdog pings %v apart (median), want about 500ms: %v", med, gaps)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	for {
		msg, _ := sock.next(10 * time.Second)
		if strings.HasPrefix(msg, "STOPPING=1\n") {
			if !strings.Contains(msg, "STATUS=stopping: restoring the routes, finishing the file; capturing at 4 attachments: 6 packets written, 0 dropped") {
				t.Errorf("stopping: %q", msg)
			}
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("exit: %v\nstderr: %s", err, stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
}

// scraper fetches metrics from inside a network namespace.
type scraper struct {
	t      *testing.T
	client *http.Client
	url    string
}

// newScraper scrapes http://addr/metrics as seen from inside ns: the
// connection is made from a thread that entered ns and then ends with
// its goroutine, so no other goroutine runs in ns.
func newScraper(t *testing.T, ns, addr string) *scraper {
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			h, err := netns.GetFromName(ns)
			if err == nil {
				err = netns.Set(h)
				h.Close()
			}
			if err != nil {
				ch <- result{nil, err}
				return
			}
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
	return &scraper{t: t, url: "http://" + addr + "/metrics",
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}}
}

// scrape returns the exposition text and its samples, by name and labels.
func (s *scraper) scrape() (string, map[string]float64) {
	s.t.Helper()
	resp, err := s.client.Get(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("scrape: %v %s", err, resp.Status)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			s.t.Fatalf("scrape line %q", line)
		}
		samples[line[:i]] = v
	}
	return string(b), samples
}

// Metrics scraped during a real capture with drops (4 KiB buffers, a
// flood) agree exactly with the summary line and with the statistics
// blocks and packets of the file; promtool finds nothing to say of them;
// the events are key=value lines, drop counts among them.
func TestServiceMetrics(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	tb := newTestbed(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	l := tb.launch()
	l.ns = tb.r1 // the metrics listen on r1's own loopback
	l.env = append(os.Environ(), "LWTDUMP_TEST_DROP_EVERY=300ms")
	p := startLwtdump(t, l, "-i", "2001:db8:20::/48", "--hook", "in,xmit", "-w", out, "-B", "4",
		"--metrics", "127.0.0.1:9477", "--log-format", "keyvalue")
	s := newScraper(t, tb.r1, "127.0.0.1:9477")
	exec.Command("ip", "netns", "exec", tb.h1, "ping", "-f", "-l", "100", "-c", "2000", "-s", "1400", "2001:db8:20::1").Run()

	hooks := []string{"lwt_in", "lwt_xmit"}
	key := func(name, hook string) string {
		return fmt.Sprintf(`lwtdump_%s{hook="%s",route="2001:db8:20::/48"}`, name, hook)
	}
	// Wait until the numbers settle: every packet seen is written or dropped.
	var text string
	var m map[string]float64
	for deadline := time.Now().Add(20 * time.Second); ; {
		text, m = s.scrape()
		settled := true
		for _, h := range hooks {
			settled = settled && m[key("packets_seen_total", h)] >= 2000 &&
				m[key("packets_seen_total", h)] == m[key("packets_written_total", h)]+m[key("packets_dropped_total", h)]
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("numbers never settled:\n%s", text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checked := exec.Command("promtool", "check", "metrics")
	checked.Stdin = strings.NewReader(text)
	if out, err := checked.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for k, want := range map[string]float64{
		"lwtdump_files_finished_total": 0, `lwtdump_current_file_info{file="` + out + `"}`: 1,
		"lwtdump_current_file_sequence": 1, "lwtdump_manifest_enabled": 1, "lwtdump_manifest_records_total": 0,
		`lwtdump_capture_gaps_total{hook="lwt_in",route="2001:db8:20::/48"}`: 0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if m["lwtdump_ring_buffer_size_bytes"] < 4096 || m["lwtdump_current_file_size_bytes"] < 1000 {
		t.Errorf("ring buffer size %v, file size %v", m["lwtdump_ring_buffer_size_bytes"], m["lwtdump_current_file_size_bytes"])
	}

	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	// The file: ISBs, and the packets and their bytes per interface.
	recvs, drops := isbCounters(t, out)
	recv, drop := strings.Split(recvs, ","), strings.Split(drops, ",")
	var written, bytes [2]float64
	for _, r := range tsharkFields(t, out, nil, "frame.interface_id", "frame.cap_len") {
		id, _ := strconv.Atoi(r[0])
		n, _ := strconv.Atoi(r[1])
		written[id]++
		bytes[id] += float64(n)
	}
	var sumWritten, sumDropped float64
	for i, h := range hooks {
		rv, _ := strconv.ParseFloat(recv[i], 64)
		dr, _ := strconv.ParseFloat(drop[i], 64)
		for _, c := range []struct {
			name      string
			file, scr float64
		}{
			{"packets_seen_total", rv, m[key("packets_seen_total", h)]},
			{"packets_dropped_total", dr, m[key("packets_dropped_total", h)]},
			{"packets_written_total", written[i], m[key("packets_written_total", h)]},
			{"written_bytes_total", bytes[i], m[key("written_bytes_total", h)]},
		} {
			if c.file != c.scr {
				t.Errorf("%s %s: scraped %v, the file says %v", h, c.name, c.scr, c.file)
			}
		}
		sumWritten += written[i]
		sumDropped += dr
	}
	if sumDropped == 0 {
		t.Error("no drops: the test did not exercise the drop path")
	}
	stderr := p.stderr.String()
	summary := fmt.Sprintf("level=info event=summary packets=%d dropped=%d\n", int(sumWritten), int(sumDropped))
	if !strings.HasSuffix(stderr, summary) {
		t.Errorf("stderr does not end with the summary %q:\n%s", summary, stderr)
	}
	// Every line of stderr is a key=value event; drops were said while they grew.
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		seen["event="+eventFields(t, line)["event"]] = true
	}
	for _, e := range []string{"event=manifest", "event=attach", "event=metrics", "event=ready", "event=drops", "event=detach", "event=file_finished", "event=summary"} {
		if !seen[e] {
			t.Errorf("no %s line:\n%s", e, stderr)
		}
	}
	if !hasLine(stderr, "level=warning event=drops interface=lwt_", "route=2001:db8:20::/48", "dropped=", "dropped_total=") {
		t.Errorf("drop counts:\n%s", stderr)
	}
	t.Logf("scraped and found in the file: written %v, dropped %v", sumWritten, sumDropped)
}

// keyValueEvent is a key=value event line: its keys, each once.
var keyValueEvent = regexp.MustCompile(`^time=\S+ level=(info|warning|error) event=[a-z_]+( [a-z_]+=("[^"]*"|\S+))*$`)

// eventFields returns the fields of a key=value line by key, and fails the
// test if the line is not one or names a key twice.
func eventFields(t *testing.T, line string) map[string]string {
	t.Helper()
	if !keyValueEvent.MatchString(line) {
		t.Errorf("not a key=value event: %q", line)
	}
	f := map[string]string{}
	for _, m := range regexp.MustCompile(`([a-z_]+)=("[^"]*"|\S+)`).FindAllStringSubmatch(line, -1) {
		if _, twice := f[m[1]]; twice {
			t.Errorf("%s= twice in %q", m[1], line)
		}
		f[m[1]] = strings.Trim(m[2], `"`)
	}
	return f
}

// A route deleted and added again while the metrics are scraped: the gap
// is counted at once for each hook of the route (open, then closed, still
// one), said as route_changed and gap events in key=value form, and the
// same one gap is in the file's statistics blocks (the same times as the
// events) and in the summary.
func TestServiceGapMetrics(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	l := tb.launch()
	l.ns = tb.r1 // the metrics listen on r1's own loopback
	p := startLwtdump(t, l, "-i", "2001:db8:20::/48", "--hook", "in,xmit", "-w", out,
		"--metrics", "127.0.0.1:9477", "--log-format", "keyvalue")
	s := newScraper(t, tb.r1, "127.0.0.1:9477")
	hooks := []string{"lwt_in", "lwt_xmit"}
	gaps := func(want float64) {
		t.Helper()
		text, m := s.scrape()
		for _, h := range hooks {
			k := fmt.Sprintf(`lwtdump_capture_gaps_total{hook="%s",route="2001:db8:20::/48"}`, h)
			if got, ok := m[k]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
			}
		}
		checked := exec.Command("promtool", "check", "metrics")
		checked.Stdin = strings.NewReader(text)
		if out, err := checked.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			if _, missing := exec.LookPath("promtool"); missing == nil {
				t.Errorf("promtool check metrics: %v\n%s", err, out)
			}
		}
	}
	if got := tb.ping(tb.h1, "2001:db8:20::1", 2); got != 2 {
		t.Errorf("%d of 2 pings answered", got)
	}
	gaps(0)

	tb.ip("-n", tb.r1, "-6", "route", "del", "2001:db8:20::/48")
	p.waitLine(5*time.Second, "level=warning event=route_changed route=2001:db8:20::/48 table=254 metric=1024 ", ` msg="removed by `)
	opened := eventFields(t, p.waitLine(time.Second, "level=warning event=gap route=2001:db8:20::/48 ", " state=open "))
	gaps(1)
	tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2")
	p.waitLine(5*time.Second, "level=warning event=route_changed route=2001:db8:20::/48 table=254 metric=1024 ", ` msg="back, added by `, "captured again after a gap of ")
	closed := eventFields(t, p.waitLine(time.Second, "level=info event=gap route=2001:db8:20::/48 ", " state=closed "))
	gaps(1)
	if got := tb.ping(tb.h1, "2001:db8:20::1", 2); got != 2 {
		t.Errorf("%d of 2 pings answered after the route came back", got)
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)

	if opened["from"] != closed["from"] || !strings.HasPrefix(opened["cause"], "route removed by ") || closed["cause"] != opened["cause"] ||
		closed["back"] != "via 2001:db8:2::1 dev r1_h2 proto boot" || closed["table"] != "254" || closed["metric"] != "1024" {
		t.Errorf("gap events:\nopened %v\nclosed %v", opened, closed)
	}
	// The file: one gap comment in the statistics block of each interface,
	// with the times the events gave.
	comments := pcapngtest.ISBComments(t, out)
	for i, h := range hooks {
		want := fmt.Sprintf("gap from=%s to=%s seconds=%s: %s; captured again (route %s)", closed["from"], closed["to"], closed["seconds"], closed["cause"], closed["back"])
		if len(comments[i]) != 1 || comments[i][0] != want {
			t.Errorf("%s: statistics comments %q, want [%q]", h, comments[i], want)
		}
	}
	// The summary: one gap, in its key=value line.
	stderr := strings.TrimSuffix(p.stderr.String(), "\n")
	lines := strings.Split(stderr, "\n")
	summary := eventFields(t, lines[len(lines)-1])
	if summary["event"] != "summary" || summary["gaps"] != "1" {
		t.Errorf("summary %q, want gaps=1", lines[len(lines)-1])
	}
	for _, line := range lines {
		eventFields(t, line)
	}
}

// A config file in YAML is read by the real binary with the real flags:
// routes (a list), hooks, cookie in hex, the file and its mode in octal, a
// count; the command line wins over it; the section header records what
// the file set.
func TestServiceConfigFile(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	dir := t.TempDir()
	out := filepath.Join(dir, "cap.pcapng")
	conf := filepath.Join(dir, "core.conf")
	writeFile(t, conf, `# the two routes to h2, at two hooks
interface:
  - 2001:db8:20::/48
  - 203.0.113.0/24,cookie=42
hook: in,xmit
cookie: 0xbeef
write: `+out+`
file-mode: 0640
snaplen: 100
count: 8
`)
	p := startLwtdump(t, tb.launch(), "--config", conf, "--netns", tb.r1, "-s", "64")
	tb.ping(tb.h1, "2001:db8:20::1", 2)
	tb.ping(tb.h1, "203.0.113.1", 2)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("file: %v %v, want mode 0640", fi.Mode(), err)
	}
	info := capinfos(t, out, "-M")
	for _, want := range []string{
		"Name = lwt_in:2001:db8:20::/48@r1_h2", "Name = lwt_xmit:203.0.113.0/24@r1_h2",
		"Description = cookie=0xbeef netns=" + tb.r1, "Description = cookie=0x2a netns=" + tb.r1,
		"Number of packets:   8", "--config " + conf, "--interface=2001:db8:20::/48", "--interface=203.0.113.0/24,cookie=42",
		"--file-mode=0640", "--count=8",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("capinfos -M lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, "--snaplen=100") {
		t.Errorf("the section header records the file's snaplen, which -s overrode:\n%s", info)
	}
	for _, r := range tsharkFields(t, out, nil, "frame.cap_len", "frame.len") {
		if n, _ := strconv.Atoi(r[0]); n > 64 {
			t.Errorf("a packet of %s bytes captured with -s 64 on the command line over snaplen: 100 in the file", r[0])
		}
	}
}

// routeOf is r1's route to prefix, as ip route show prints it.
func routeOf(tb *testbed, prefix string) string {
	family := "-4"
	if strings.Contains(prefix, ":") {
		family = "-6"
	}
	return tb.ip("-n", tb.r1, family, "route", "show", prefix)
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// unitCommands reads the ExecStartPre and ExecStart of lwtdump@.service
// that run as the unit's user, for instance, with the lwtdump binary, the
// config and state directories moved to the test's.
func unitCommands(t *testing.T, instance, etc, run string) (pre, start []string) {
	t.Helper()
	b, err := os.ReadFile("../../scripts/package/lwtdump@.service")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("%i", instance, "/usr/bin/lwtdump", lwtdumpBinary(t), "/etc/lwtdump", etc, "/run/lwtdump", run)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStartPre="); ok && !strings.HasPrefix(v, "+") {
			pre = strings.Fields(r.Replace(v))
		}
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			start = strings.Fields(r.Replace(v))
		}
	}
	if pre == nil || start == nil {
		t.Fatal("lwtdump@.service has no ExecStartPre or ExecStart")
	}
	return pre, start
}

// unitRuntime makes the state directory of instance as the package and
// the unit make it before the unit's cleanup runs, with run standing for
// /run/lwtdump and group for the group lwtdump: run as tmpfiles.conf says,
// then the unit's ExecStartPre=+ commands, run as root as systemd runs
// them. It returns the instance's state directory.
func unitRuntime(t *testing.T, instance, run, group string) string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/package/tmpfiles.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "d" || f[1] != "/run/lwtdump" {
			continue
		}
		mode, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil || f[3] != "root" || f[4] != "root" {
			t.Fatalf("tmpfiles.conf: %q, want root's /run/lwtdump", line)
		}
		if err := os.MkdirAll(run, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(run, os.FileMode(mode)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(run); err != nil {
		t.Fatalf("tmpfiles.conf does not make /run/lwtdump: %v", err)
	}
	b, err = os.ReadFile("../../scripts/package/lwtdump@.service")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("%i", instance, "/run/lwtdump", run)
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "ExecStartPre=+")
		if !ok {
			continue
		}
		args := strings.Fields(r.Replace(v))
		for i := range args {
			if i > 0 && args[i-1] == "-g" && args[i] == "lwtdump" {
				args[i] = group
			}
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("ExecStartPre=+%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return filepath.Join(run, instance)
}

// The unit's own commands, as systemd runs them for an instance: the
// capture is killed with SIGKILL (as the watchdog or the OOM killer
// would), its programs stay on the routes, and the ExecStartPre of the
// next start restores exactly this instance's routes, leaving alone a route
// of another instance that was killed too; then ExecStart captures again.
func TestServiceExecStartPreAfterKill(t *testing.T) {
	tb := newTestbed(t)
	dir := t.TempDir()
	etc, run := filepath.Join(dir, "etc"), filepath.Join(dir, "run")
	os.Mkdir(etc, 0o755)
	writeFile(t, filepath.Join(etc, "core.conf"), fmt.Sprintf("interface: [2001:db8:20::/48]\nhook: in,xmit\nnetns: %s\nwrite: %s\n", tb.r1, filepath.Join(dir, "core.pcapng")))
	writeFile(t, filepath.Join(etc, "edge.conf"), fmt.Sprintf("interface: 203.0.113.0/24\nnetns: %s\nwrite: %s\n", tb.r1, filepath.Join(dir, "edge.pcapng")))
	original := map[string]string{}
	for _, prefix := range []string{"2001:db8:20::/48", "203.0.113.0/24"} {
		original[prefix] = routeOf(tb, prefix)
	}

	pre, start := unitCommands(t, "core", etc, run)
	_, edgeStart := unitCommands(t, "edge", etc, run)
	unitRuntime(t, "core", run, "nogroup")
	unitRuntime(t, "edge", run, "nogroup")
	launchUnit := func(cmd []string) *proc {
		return startLwtdump(t, launch{}, cmd[1:]...)
	}
	core, edge := launchUnit(start), launchUnit(edgeStart)
	core.stop(syscall.SIGKILL)
	edge.stop(syscall.SIGKILL)
	for prefix := range original {
		if r := routeOf(tb, prefix); !strings.Contains(r, "encap bpf") {
			t.Fatalf("after SIGKILL, %s no longer carries the programs: %q", prefix, r)
		}
	}

	code, stdout, stderr := runLwtdump(t, launch{}, pre[1:]...)
	if code != 0 {
		t.Fatalf("ExecStartPre %v: exit code %d\nstdout: %s\nstderr: %s", pre, code, stdout, stderr)
	}
	want := fmt.Sprintf("route 2001:db8:20::/48 table 254 in netns %s: restored (lwtdump pid %d had replaced it)\n", tb.r1, core.cmd.Process.Pid)
	if stdout != want {
		t.Errorf("ExecStartPre said %q, want %q", stdout, want)
	}
	if r := routeOf(tb, "2001:db8:20::/48"); r != original["2001:db8:20::/48"] {
		t.Errorf("core's route after ExecStartPre: %q, want %q", r, original["2001:db8:20::/48"])
	}
	if r := routeOf(tb, "203.0.113.0/24"); !strings.Contains(r, fmt.Sprintf("lwtdump:%d:xmit", edge.cmd.Process.Pid)) {
		t.Errorf("core's ExecStartPre touched edge's route: %q", r)
	}
	if files, _ := filepath.Glob(filepath.Join(run, "core", "*", "state.json")); len(files) != 0 {
		t.Errorf("core's state left: %v", files)
	}

	again := launchUnit(start)
	if got := tb.ping(tb.h1, "2001:db8:20::1", 2); got != 2 {
		t.Errorf("%d of 2 pings answered", got)
	}
	if code := again.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("ExecStart after cleanup: exit code %d\nstderr: %s", code, again.stderr.String())
	}
	// edge's own ExecStartPre puts its route back.
	edgePre, _ := unitCommands(t, "edge", etc, run)
	if code, stdout, stderr := runLwtdump(t, launch{}, edgePre[1:]...); code != 0 {
		t.Fatalf("edge's ExecStartPre: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for prefix, want := range original {
		if r := routeOf(tb, prefix); r != want {
			t.Errorf("%s at the end: %q, want %q", prefix, r, want)
		}
	}
}

// unitCaps is the unit's AmbientCapabilities= as setpriv writes them:
// "+bpf,+perfmon,+net_admin".
func unitCaps(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/package/lwtdump@.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "AmbientCapabilities="); ok {
			var caps []string
			for _, c := range strings.Fields(v) {
				caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
			return strings.Join(caps, ",")
		}
	}
	t.Fatal("lwtdump@.service has no AmbientCapabilities=")
	return ""
}

// The capabilities the unit gives are all that its ExecStart and
// ExecStartPre need: the instance's state directory made as the package
// and the unit make it (root's, group lwtdump, mode 3770), the unit's own
// commands run as an unprivileged user holding only those capabilities, as
// ambient capabilities the way systemd sets them: lwtdump captures; killed,
// the unit's cleanup restores the route.
func TestServiceCapabilities(t *testing.T) {
	tb := newTestbed(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed")
	}
	before := tb.routes(tb.r1)
	caps := unitCaps(t)
	shared := sharedDir(t, 0o755)
	dir, etc, run := sharedDir(t, 0o777), filepath.Join(shared, "etc"), filepath.Join(shared, "run")
	out, ready := filepath.Join(dir, "out.pcapng"), filepath.Join(dir, "ready")
	os.Mkdir(etc, 0o755)
	writeFile(t, filepath.Join(etc, "core.conf"), "interface: [2001:db8:20::/48]\nwrite: "+out+"\n")
	state := unitRuntime(t, "core", run, "nogroup")
	var st unix.Stat_t
	if err := unix.Stat(state, &st); err != nil || st.Uid != 0 || st.Gid != 65534 || st.Mode&0o7777 != 0o3770 {
		t.Fatalf("the state directory %s: uid %d gid %d mode %#o (%v), want root:nogroup 3770", state, st.Uid, st.Gid, st.Mode&0o7777, err)
	}
	pre, start := unitCommands(t, "core", etc, run)
	as := func(cmd []string, args ...string) *exec.Cmd {
		return exec.Command("ip", append(append([]string{"netns", "exec", tb.r1, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
			"--inh-caps=-all," + caps, "--ambient-caps=-all," + caps, "--bounding-set=-all," + caps}, cmd...), args...)...)
	}
	for _, end := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if out, err := as(pre).CombinedOutput(); err != nil {
			t.Fatalf("ExecStartPre %v as nobody with %s: %v\n%s", pre, caps, err, out)
		}
		os.Remove(ready)
		cmd := as(start, "--ready-file", ready)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if time.Now().After(deadline) || cmd.ProcessState != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("not ready as nobody with %s:\n%s", caps, stderr.String())
			}
		}
		if got := tb.ping(tb.h1, "2001:db8:20::1", 2); got != 2 {
			t.Errorf("%d of 2 pings answered", got)
		}
		cmd.Process.Signal(end)
		err := cmd.Wait()
		if end == syscall.SIGTERM {
			if err != nil {
				t.Fatalf("as nobody with %s: %v\n%s", caps, err, stderr.String())
			}
			if !strings.HasSuffix(stderr.String(), "2 packets captured, 0 dropped\n") {
				t.Errorf("stderr: %s", stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			continue
		}
		if r := routeOf(tb, "2001:db8:20::/48"); !strings.Contains(r, "encap bpf") {
			t.Fatalf("after SIGKILL: %q", r)
		}
		// The next start's ExecStartPre, as the unit runs it.
		unitRuntime(t, "core", run, "nogroup")
		if out, err := as(pre).CombinedOutput(); err != nil || !strings.Contains(string(out), "restored") {
			t.Fatalf("ExecStartPre %v as nobody with %s: %v\n%s", pre, caps, err, out)
		}
		tb.requireRoutes(tb.r1, before)
	}
	if left, _ := filepath.Glob(filepath.Join(state, "*", "state.json")); len(left) != 0 {
		t.Errorf("state left: %v", left)
	}
}

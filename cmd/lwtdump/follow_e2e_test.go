package main

// Routes that another process changes during a capture: said at once,
// followed, recorded as gaps in the file and the summary; and the exit race.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/writer/pcapngtest"
)

// waitLine waits until lwtdump's stderr holds a line that contains every
// one of parts, and returns it; it fails the test after timeout.
func (p *proc) waitLine(timeout time.Duration, parts ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if containsAll(line, parts) {
				return line
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no line with %q on stderr within %s:\n%s", parts, timeout, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// gapComment is a gap comment as tshark shows it.
type gapComment struct {
	from, to time.Time // to is zero for a gap open when the file ended
	text     string
}

var gapComment1 = regexp.MustCompile(`^gap from=(\S+) to=(\S+) seconds=([0-9.]+): (.*)$`)

func parseGaps(t *testing.T, comments []string) []gapComment {
	t.Helper()
	var gaps []gapComment
	for _, c := range comments {
		m := gapComment1.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("statistics comment %q is not a gap", c)
		}
		g := gapComment{text: m[4]}
		var err error
		if g.from, err = time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatal(err)
		}
		if m[2] != "open" {
			if g.to, err = time.Parse(time.RFC3339Nano, m[2]); err != nil {
				t.Fatal(err)
			}
		}
		gaps = append(gaps, g)
	}
	return gaps
}

// echoTimes returns the time of each echo request in a capture, by pcapng interface name.
func echoTimes(t *testing.T, file string) map[string][]time.Time {
	t.Helper()
	times := map[string][]time.Time{}
	for _, row := range tsharkFields(t, file, []string{"-Y", "icmp.type == 8 || icmpv6.type == 128"}, "frame.interface_name", "frame.time_epoch") {
		times[row[0]] = append(times[row[0]], epochTime(t, row[1]))
	}
	return times
}

// routeLine returns the route to prefix in r1's main table as `ip route` shows it.
func (tb *testbed) routeLine(prefix string) string {
	tb.t.Helper()
	family := "-4"
	if strings.Contains(prefix, ":") {
		family = "-6"
	}
	return strings.TrimSpace(tb.ip("-n", tb.r1, family, "route", "show", "table", "main", "exact", prefix))
}

// linkLocal returns the link-local address of a device.
func (tb *testbed) linkLocal(ns, dev string) string {
	tb.t.Helper()
	out := tb.ip("-n", ns, "-6", "-o", "addr", "show", "dev", dev, "scope", "link")
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet6" && i+1 < len(f) {
			return strings.Split(f[i+1], "/")[0]
		}
	}
	tb.t.Fatalf("no link-local address on %s in %s: %q", dev, ns, out)
	return ""
}

var summaryGaps = regexp.MustCompile(`(?m)^(\d+) packets captured, (\d+) dropped(.*)$`)

// summaryOf returns the numbers of the summary line, and what follows them (the gaps).
func summaryOf(t *testing.T, stderr string) (captured, dropped int, rest string) {
	t.Helper()
	m := summaryGaps.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary line on stderr:\n%s", stderr)
	}
	captured, _ = strconv.Atoi(m[1])
	dropped, _ = strconv.Atoi(m[2])
	return captured, dropped, m[3]
}

// A route deleted by hand during the capture and added again: each said
// at once on stderr, the capture goes on on the new route, the gap is in
// the file (a comment of the interface's statistics block, from the moment
// the route went to the moment the capture came back) and in the summary;
// every echo request forwarded is in the file, none while the route was
// gone; at exit the route is the one added by hand, untouched.
func TestFollowDeleteAndAddAgain(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out)
	ping := tb.startFlood(tb.h1, "2001:db8:20::1", 10000, "0.05", 56)
	time.Sleep(500 * time.Millisecond)

	tb.ip("-n", tb.r1, "-6", "route", "del", "2001:db8:20::/48")
	removed := p.waitLine(2*time.Second, "route 2001:db8:20::/48 (table 254, metric 1024) removed by ", ": capture paused until a route to 2001:db8:20::/48 comes back")
	time.Sleep(time.Second)
	tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "proto", "static")
	back := p.waitLine(2*time.Second, "route 2001:db8:20::/48 (table 254, metric 1024) back, added by ", ": via 2001:db8:2::1 dev r1_h2 proto static; captured again after a gap of 1.")
	t.Logf("stderr said:\n%s\n%s", removed, back)
	time.Sleep(time.Second)
	sent, recv := ping.stop()
	time.Sleep(100 * time.Millisecond)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}

	want := strings.Replace(before, "2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 metric 1024", "2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 proto static metric 1024", 1)
	tb.requireRoutes(tb.r1, want)
	if left := tb.stateFiles(); len(left) != 0 {
		t.Errorf("state files left: %v", left)
	}
	captured, dropped, rest := summaryOf(t, p.stderr.String())
	if !regexp.MustCompile(`^, 1 gap at 2001:db8:20::/48 \(1\.\d s\)$`).MatchString(rest) || dropped != 0 {
		t.Errorf("summary: %d captured, %d dropped%s; want 1 gap of about 1 s at 2001:db8:20::/48", captured, dropped, rest)
	}
	comments := pcapngtest.ISBComments(t, out)
	if len(comments[1]) != 0 {
		t.Errorf("gaps on the IPv4 route's interface: %q", comments[1])
	}
	gaps := parseGaps(t, comments[0])
	if len(gaps) != 1 || gaps[0].to.IsZero() || !strings.HasPrefix(gaps[0].text, "route removed by ") ||
		!strings.HasSuffix(gaps[0].text, "; captured again (route via 2001:db8:2::1 dev r1_h2 proto static)") {
		t.Fatalf("gaps in the file: %q", comments[0])
	}
	g := gaps[0]
	echoes := echoTimes(t, out)["lwt_xmit:2001:db8:20::/48@r1_h2"]
	var during, after int
	for _, ts := range echoes {
		if ts.After(g.from) && ts.Before(g.to) {
			during++
		}
		if ts.After(g.to) {
			after++
		}
	}
	t.Logf("ping: %d sent, %d answered; %d echo requests in the file, %d after the gap (%s to %s)", sent, recv, len(echoes), after, g.from.Format("15:04:05.000"), g.to.Format("15:04:05.000"))
	// An echo request forwarded is answered; the one in flight when ping
	// stopped may be captured and not counted as answered; one forwarded
	// between the route's return and the capture's (a few ms) is not
	// captured: that is in the gap.
	if len(echoes) < recv-1 || len(echoes) > recv+1 || during != 0 || after < 3 {
		t.Errorf("%d echo requests in the file (%d during the gap, %d after it) for %d answered of %d sent", len(echoes), during, after, recv, sent)
	}
	capinfos(t, out)
}

// A route replaced by another process, with an identical route or a new
// next hop or protocol: said at once, the capture follows, the gap is in
// the file and the summary, packets after it are captured, and at exit the
// route is the other process's version.
func TestFollowReplace(t *testing.T) {
	tb := newTestbed(t)
	h2ll := tb.linkLocal(tb.h2, "h2_r1")
	for _, tc := range []struct {
		name    string
		prefix  string
		dst     string
		replace []string // ip arguments in r1
		said    string   // what stderr says of the change
		after   string   // the route at exit
	}{
		{"identical", "2001:db8:20::/48", "2001:db8:20::1",
			[]string{"-6", "route", "replace", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "metric", "1024"},
			"an identical route (via 2001:db8:2::1 dev r1_h2 proto boot)",
			"2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 metric 1024 pref medium"},
		{"next-hop", "2001:db8:20::/48", "2001:db8:20::1",
			[]string{"-6", "route", "replace", "2001:db8:20::/48", "via", h2ll, "dev", "r1_h2", "metric", "1024", "proto", "bgp"},
			"now via " + h2ll + " dev r1_h2 proto bgp, was via 2001:db8:2::1 dev r1_h2 proto boot",
			"2001:db8:20::/48 via " + h2ll + " dev r1_h2 proto bgp metric 1024 pref medium"},
		{"ipv4-protocol", "203.0.113.0/24", "203.0.113.1",
			[]string{"-4", "route", "replace", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "proto", "static"},
			"now via 198.51.100.1 dev r1_h2 proto static, was via 198.51.100.1 dev r1_h2 proto boot",
			"203.0.113.0/24 via 198.51.100.1 dev r1_h2 proto static"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := tb.in(t)
			tb.ip("-n", tb.r1, "-6", "route", "replace", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "metric", "1024", "proto", "boot")
			tb.ip("-n", tb.r1, "-4", "route", "replace", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "proto", "boot")
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(t, tb.launch(), "-i", tc.prefix, "--netns", tb.r1, "-w", out)
			ping := tb.startFlood(tb.h1, tc.dst, 10000, "0.05", 56)
			time.Sleep(500 * time.Millisecond)
			tb.ip(append([]string{"-n", tb.r1}, tc.replace...)...)
			line := p.waitLine(2*time.Second, "route "+tc.prefix+" (table 254, metric ", ") replaced by ", ": "+tc.said+"; captured again after a gap of ")
			t.Logf("stderr said: %s", line)
			time.Sleep(time.Second)
			sent, recv := ping.stop()
			time.Sleep(100 * time.Millisecond)
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\n%s", code, p.stderr.String())
			}
			if got := tb.routeLine(tc.prefix); got != tc.after {
				t.Errorf("route at exit:\n got %s\nwant %s", got, tc.after)
			}
			captured, _, rest := summaryOf(t, p.stderr.String())
			if !regexp.MustCompile(`^, 1 gap at ` + regexp.QuoteMeta(tc.prefix) + ` \(0\.0\d\d s\)$`).MatchString(rest) {
				t.Errorf("summary: %d captured%s; want one gap of a few ms", captured, rest)
			}
			gaps := parseGaps(t, pcapngtest.ISBComments(t, out)[0])
			if len(gaps) != 1 || gaps[0].to.IsZero() || !strings.Contains(gaps[0].text, "route replaced by ") || !strings.Contains(gaps[0].text, tc.said) {
				t.Fatalf("gaps in the file: %+v", gaps)
			}
			echoes := echoTimes(t, out)["lwt_xmit:"+tc.prefix+"@r1_h2"]
			after := 0
			for _, ts := range echoes {
				if ts.After(gaps[0].to) {
					after++
				}
			}
			t.Logf("ping: %d sent, %d answered; %d echo requests in the file, %d after the gap of %s", sent, recv, len(echoes), after, gaps[0].to.Sub(gaps[0].from))
			// A request forwarded during the gap of a few ms is not captured.
			if len(echoes) < recv-2 || len(echoes) > recv+1 || after < 3 {
				t.Errorf("%d echo requests in the file (%d after the gap) for %d answered", len(echoes), after, recv)
			}
		})
	}
}

// --no-follow ends the capture when a route is removed: exit code 1, one
// line naming what happened, the file finished with the gap open in it,
// the other routes restored, the removed one left removed.
func TestNoFollow(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "--no-follow", "-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out)
	tb.ping(tb.h1, "2001:db8:20::1", 3)
	tb.ip("-n", tb.r1, "-6", "route", "del", "2001:db8:20::/48")
	if code := p.wait(); code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, p.stderr.String())
	}
	stderr := p.stderr.String()
	last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
	if !regexp.MustCompile(`^lwtdump: route 2001:db8:20::/48 \(table 254, metric 1024\) removed by .* at \d\d:\d\d:\d\d\.\d{3}; --no-follow ends the capture\n$`).MatchString(last) {
		t.Errorf("last line %q", last)
	}
	if _, _, rest := summaryOf(t, stderr); !strings.HasPrefix(rest, ", 1 gap at 2001:db8:20::/48 (") || !strings.HasSuffix(rest, ", not back at exit)") {
		t.Errorf("summary gaps %q", rest)
	}
	want := strings.Replace(before, "2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 metric 1024 pref medium\n", "", 1)
	tb.requireRoutes(tb.r1, want)
	if left := tb.stateFiles(); len(left) != 0 {
		t.Errorf("state files left: %v", left)
	}
	gaps := parseGaps(t, pcapngtest.ISBComments(t, out)[0])
	if len(gaps) != 1 || !gaps[0].to.IsZero() || !strings.HasSuffix(gaps[0].text, "; not back when this file ended") {
		t.Errorf("gaps in the file: %+v", gaps)
	}
	requireFinished(t, out, 2, 3)
}

// A controller that replaces a captured route every 200 ms is not fought
// for ever: the capture attaches again with a growing delay, then gives the
// route up and says so, while the other route is captured throughout; at
// exit the controller's route is left as it is.
func TestFollowBackoff(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out)
	ping := tb.startFlood(tb.h1, "203.0.113.1", 10000, "0.05", 56)
	loop := exec.Command("bash", "-c", fmt.Sprintf(`while :; do ip -n %s -6 route replace 2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 proto static metric 1024; sleep 0.2; done`, tb.r1))
	if err := loop.Start(); err != nil {
		t.Fatal(err)
	}
	stopLoop := func() {
		if loop.Process != nil {
			loop.Process.Kill()
			loop.Wait()
			loop.Process = nil
		}
	}
	t.Cleanup(stopLoop)
	gaveUp := p.waitLine(15*time.Second, "route 2001:db8:20::/48 (table 254, metric 1024) replaced by ", "; the capture on it was replaced 6 times within 60 s: no longer following it, so as not to fight ", "(the other routes are still captured)")
	// Each replacement of the capture after the first waits longer; one
	// that lands just before lwtdump attaches again is answered at once.
	var waits []string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if _, w, ok := strings.Cut(line, "; attaching again in "); ok {
			waits = append(waits, strings.Split(w, " (")[0])
		}
		if strings.Contains(line, "route 2001:db8:20::/48") {
			t.Logf("stderr said: %s", line)
		}
	}
	if len(waits) < 2 || waits[0] != "0.25 s" || !slices.IsSortedFunc(waits, func(a, b string) int { return cmp.Compare(parseSeconds(t, a), parseSeconds(t, b)) }) {
		t.Errorf("back-off waits %q, want growing waits from 0.25 s", waits)
	}
	_ = gaveUp
	time.Sleep(500 * time.Millisecond)
	stopLoop()
	sent, recv := ping.stop()
	time.Sleep(100 * time.Millisecond)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	want := strings.Replace(before, "2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 metric 1024", "2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 proto static metric 1024", 1)
	tb.requireRoutes(tb.r1, want)
	_, _, rest := summaryOf(t, p.stderr.String())
	n := len(parseGaps(t, pcapngtest.ISBComments(t, out)[0]))
	if !regexp.MustCompile(fmt.Sprintf(`^, %d gaps at 2001:db8:20::/48 \(\d+\.\d s, not back at exit\)$`, n)).MatchString(rest) || n < 4 {
		t.Errorf("summary gaps %q, %d gaps in the file", rest, n)
	}
	v4 := len(echoTimes(t, out)["lwt_xmit:203.0.113.0/24@r1_h2"])
	t.Logf("other route: %d echo requests sent, %d answered, %d in the file", sent, recv, v4)
	if v4 < recv || v4 > recv+1 {
		t.Errorf("other route: %d echo requests in the file for %d answered", v4, recv)
	}
}

// The exit race: another process replaces the route 0 to 95 ms after
// SIGINT, while lwtdump restores it. Whatever the timing, the other
// process's version is what stays, and no restore is reported as
// differing.
func TestExitRace(t *testing.T) {
	tb := newTestbed(t)
	h2ll := tb.linkLocal(tb.h2, "h2_r1")
	original := tb.routeLine("2001:db8:20::/48")
	seen := 0
	for i := range 20 {
		delay := time.Duration(i*5) * time.Millisecond
		gw := []string{h2ll, "2001:db8:2::1"}[i%2]
		p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
		p.cmd.Process.Signal(syscall.SIGINT)
		time.Sleep(delay)
		tb.ip("-n", tb.r1, "-6", "route", "replace", "2001:db8:20::/48", "via", gw, "dev", "r1_h2", "proto", "static", "metric", "1024")
		code := p.wait()
		got := tb.routeLine("2001:db8:20::/48")
		want := "2001:db8:20::/48 via " + gw + " dev r1_h2 proto static metric 1024 pref medium"
		stderr := p.stderr.String()
		said := strings.Contains(stderr, "route 2001:db8:20::/48 (table 254, metric 1024)")
		if said {
			seen++
		}
		t.Logf("replace %2d ms after SIGINT: exit %d, lwtdump saw it: %v, route %s", i*5, code, said, strings.TrimPrefix(got, "2001:db8:20::/48 "))
		if code != 0 || got != want || strings.Contains(stderr, "differs") || len(tb.stateFiles()) != 0 {
			t.Errorf("replace %d ms after SIGINT: exit code %d, route %q, want %q\n%s", i*5, code, got, want, stderr)
		}
		tb.ip("-n", tb.r1, "-6", "route", "replace", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "metric", "1024", "proto", "boot")
	}
	if got := tb.routeLine("2001:db8:20::/48"); got != original {
		t.Errorf("route after the test %q, want %q", got, original)
	}
	t.Logf("lwtdump saw the replace in %d of 20 exits", seen)
}

// The exit race made certain: the replace lands between lwtdump's look-up
// of the route and its restore (a test hook holds lwtdump there), so the
// restore overwrites it; lwtdump sees that in the notifications, puts the
// other process's version back, says so, and exits 0.
func TestExitRaceInWindow(t *testing.T) {
	tb := newTestbed(t)
	hold := filepath.Join(t.TempDir(), "hold")
	t.Setenv("LWTDUMP_TEST_RESTORE_PAUSE", hold)
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	p.cmd.Process.Signal(syscall.SIGINT)
	waitFile(t, hold+".paused") // the first route restored is the last given: 203.0.113.0/24
	tb.ip("-n", tb.r1, "-4", "route", "replace", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "proto", "static")
	os.Remove(hold + ".paused")
	if err := os.WriteFile(hold+".go", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFile(t, hold+".paused") // the second route: nothing changes it
	if err := os.WriteFile(hold+".go", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	stderr := p.stderr.String()
	if got, want := tb.routeLine("203.0.113.0/24"), "203.0.113.0/24 via 198.51.100.1 dev r1_h2 proto static"; got != want {
		t.Errorf("route at exit %q, want %q", got, want)
	}
	if got, want := tb.routeLine("2001:db8:20::/48"), "2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2 metric 1024 pref medium"; got != want {
		t.Errorf("route at exit %q, want %q", got, want)
	}
	line := p.waitLine(0, "route 203.0.113.0/24 (table 254, metric 0) changed by another process while lwtdump put it back, to via 198.51.100.1 dev r1_h2 proto static: that version is put back in place of lwtdump's")
	t.Logf("stderr said: %s", line)
	if strings.Contains(stderr, "differs") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// parseSeconds reads "0.25 s".
func parseSeconds(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, " s"), 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// waitFile waits (at most 10 s) until path exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear within 10 s", path)
}

// A gap that spans a rotation (-G 1): the files it spans each say it in
// their own statistics block (open when a file ends before the route is
// back, closed in the file where it comes back), and lwtdump stats counts
// it once, from its start to its end.
func TestFollowGapAcrossFiles(t *testing.T) {
	tb := newTestbed(t)
	dir := t.TempDir()
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-G", "1", "-w", filepath.Join(dir, "out-%H%M%S.pcapng"))
	time.Sleep(500 * time.Millisecond)
	tb.ip("-n", tb.r1, "-6", "route", "del", "2001:db8:20::/48")
	p.waitLine(2*time.Second, "route 2001:db8:20::/48 (table 254, metric 1024) removed by ")
	time.Sleep(2500 * time.Millisecond)
	tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2")
	p.waitLine(2*time.Second, "route 2001:db8:20::/48 (table 254, metric 1024) back, added by ")
	time.Sleep(1500 * time.Millisecond)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out-*.pcapng"))
	var open, closed int
	for _, f := range files {
		for _, g := range parseGaps(t, pcapngtest.ISBComments(t, f)[0]) {
			if g.to.IsZero() {
				open++
			} else {
				closed++
			}
		}
	}
	if open < 2 || closed != 1 {
		t.Errorf("%d files: the gap is open in %d and closed in %d, want open in 2 or more and closed in 1", len(files), open, closed)
	}
	code, stdout, stderr := runLwtdump(t, launch{}, append([]string{"stats", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("lwtdump stats: exit code %d\n%s", code, stderr)
	}
	var stats struct {
		Interfaces []struct {
			Gaps []struct {
				To      *time.Time `json:"to"`
				Seconds float64    `json:"seconds"`
			} `json:"gaps"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal([]byte(stdout), &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.Interfaces) != 1 || len(stats.Interfaces[0].Gaps) != 1 || stats.Interfaces[0].Gaps[0].To == nil || stats.Interfaces[0].Gaps[0].Seconds < 2.5 || stats.Interfaces[0].Gaps[0].Seconds > 4 {
		t.Errorf("lwtdump stats: %s", stdout)
	}
	_, table, _ := runLwtdump(t, launch{}, append([]string{"stats"}, files...)...)
	t.Logf("lwtdump stats:\n%s", table)
	if !strings.Contains(table, "GAP ON INTERFACE") || !strings.Contains(table, "lwt_xmit:2001:db8:20::/48@r1_h2") {
		t.Errorf("lwtdump stats shows no gap:\n%s", table)
	}
}

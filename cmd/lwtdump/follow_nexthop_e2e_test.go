package main

// Captures of routes on nexthop objects while another process changes
// those objects (ip nexthop replace, a member deleted from a group, the
// object deleted), and of a route lwtdump added that another process then
// installs its own version of.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/writer/pcapngtest"
)

// nexthopFamily is one family of TestFollowNexthopObjects.
type nexthopFamily struct {
	name     string
	v        string // "-6" or "-4"
	prefix   string
	dst      string
	metric   string // the route's metric as lwtdump's lines name it
	gw1, gw2 string // two addresses of h2 on the r1 - h2 link
	plen     string // the link's prefix length
}

var nexthopFamilies = []nexthopFamily{
	{"ipv6", "-6", "2001:db8:20::/48", "2001:db8:20::1", "1024", "2001:db8:2::1", "2001:db8:2::5", "/64"},
	{"ipv4", "-4", "203.0.113.0/24", "203.0.113.1", "0", "198.51.100.1", "198.51.100.5", "/28"},
}

// lwtdumpNexthops returns the nexthop objects of a namespace whose ids are
// in the range of lwtdump's copies.
func (tb *testbed) lwtdumpNexthops(ns string) []string {
	tb.t.Helper()
	var own []string
	for _, line := range strings.Split(tb.ip("-n", ns, "nexthop", "show"), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "id" && isCopyID(f[1]) {
			own = append(own, strings.TrimSpace(line))
		}
	}
	return own
}

// isCopyID reports whether a nexthop id is in the range of lwtdump's copies.
func isCopyID(s string) bool {
	id, err := strconv.ParseUint(s, 10, 32)
	return err == nil && id >= 0xe0000000
}

// routeNexthop returns the nexthop id that r1's route to prefix uses, 0 for none.
func (tb *testbed) routeNexthop(prefix string) uint64 {
	tb.t.Helper()
	f := strings.Fields(tb.routeLine(prefix))
	for i := range f {
		if f[i] == "nhid" && i+1 < len(f) {
			id, _ := strconv.ParseUint(f[i+1], 10, 32)
			return id
		}
	}
	return 0
}

// requireOnCopy fails the test unless r1's route to prefix is on one of
// lwtdump's nexthop copies, and that copy (or each member of that group
// copy) shows want ("via 2001:db8:2::5 dev r1_h2").
func (tb *testbed) requireOnCopy(prefix string, want ...string) {
	tb.t.Helper()
	id := tb.routeNexthop(prefix)
	if id < 0xe0000000 {
		tb.t.Fatalf("route to %s is not on a copy of lwtdump's: %s", prefix, tb.routeLine(prefix))
	}
	nh := tb.ip("-n", tb.r1, "nexthop", "show", "id", fmt.Sprint(id))
	members := []string{nh}
	if f := strings.Fields(nh); len(f) > 3 && f[2] == "group" {
		members = nil
		for _, m := range strings.Split(f[3], "/") {
			m, _, _ = strings.Cut(m, ",")
			members = append(members, tb.ip("-n", tb.r1, "nexthop", "show", "id", m))
		}
	}
	if len(members) != len(want) {
		tb.t.Fatalf("lwtdump's copy %d of the nexthop of %s has %d nexthops, want %d: %s", id, prefix, len(members), len(want), nh)
	}
	for i, m := range members {
		if !strings.Contains(m, want[i]+" ") || !strings.Contains(m, "encap bpf") {
			tb.t.Fatalf("lwtdump's copy of the nexthop of %s: %q, want %q with the capture's encap", prefix, m, want[i])
		}
	}
}

// Another process changes the nexthop objects of a captured route, and
// each change is said at once and followed: the nexthop replaced in place
// (the route is put on a new copy that mirrors it, the old copy deleted),
// the route pointed at a nexthop group (copies of the group and its
// members), a member deleted from the group (the kernel takes it out of
// the group: new copies without it), the group deleted (the kernel deletes
// the routes on it: lwtdump deletes the route, which is on its copy, and
// records the gap), and a route on a nexthop added again. Every echo
// request forwarded is in the file; at exit the route and nexthops are the
// other process's, and no copy of lwtdump's is left.
func TestFollowNexthopObjects(t *testing.T) {
	tb := newTestbed(t)
	for _, fam := range nexthopFamilies {
		t.Run(fam.name, func(t *testing.T) {
			tb := tb.in(t)
			r1 := func(args ...string) { tb.ip(append([]string{"-n", tb.r1}, args...)...) }
			tb.ip("-n", tb.h2, "addr", "add", fam.gw2+fam.plen, "dev", "h2_r1", "nodad")
			r1("nexthop", "add", "id", "100", "via", fam.gw1, "dev", "r1_h2")
			r1("nexthop", "add", "id", "101", "via", fam.gw1, "dev", "r1_h2")
			r1("nexthop", "add", "id", "102", "via", fam.gw2, "dev", "r1_h2")
			r1("nexthop", "add", "id", "200", "group", "101/102")
			r1(fam.v, "route", "replace", fam.prefix, "nhid", "100")
			t.Cleanup(func() { tb.tryIP("-n", tb.r1, "nexthop", "flush") })
			before := tb.routes(tb.r1)
			key := "route " + fam.prefix + " (table 254, metric " + fam.metric + ") "

			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(t, tb.launch(), "-i", fam.prefix, "--netns", tb.r1, "-w", out)
			ping := tb.startFlood(tb.h1, fam.dst, 10000, "0.05", 56)
			time.Sleep(500 * time.Millisecond)
			tb.requireOnCopy(fam.prefix, "via "+fam.gw1+" dev r1_h2")

			r1("nexthop", "replace", "id", "100", "via", fam.gw2, "dev", "r1_h2")
			t.Logf("stderr said: %s", p.waitLine(2*time.Second, key+"nexthop 100 changed by ",
				": now via "+fam.gw2+" dev r1_h2, was via "+fam.gw1+" dev r1_h2; followed: the route is on new copies of lwtdump's (nexthop "))
			tb.requireOnCopy(fam.prefix, "via "+fam.gw2+" dev r1_h2")
			if own := tb.lwtdumpNexthops(tb.r1); len(own) != 1 {
				t.Errorf("lwtdump's nexthops after the change: %q, want the one copy", own)
			}
			time.Sleep(300 * time.Millisecond)

			r1(fam.v, "route", "replace", fam.prefix, "nhid", "200")
			t.Logf("stderr said: %s", p.waitLine(2*time.Second, key+"replaced by ", "now nhid 200 ", "was via "+fam.gw2+" nhid 100 dev r1_h2", "; captured again after a gap of "))
			time.Sleep(300 * time.Millisecond)
			tb.requireOnCopy(fam.prefix, "via "+fam.gw1+" dev r1_h2", "via "+fam.gw2+" dev r1_h2")
			if own := tb.lwtdumpNexthops(tb.r1); len(own) != 3 {
				t.Errorf("lwtdump's nexthops on the group: %q, want the copies of the group and its two members", own)
			}

			r1("nexthop", "del", "id", "102")
			t.Logf("stderr said: %s", p.waitLine(2*time.Second, key+"nexthop 102 of its group 200 deleted by ",
				": the group is now group 101 (via "+fam.gw1+" dev r1_h2), was group 101/102 (via "+fam.gw1+" dev r1_h2, via "+fam.gw2+" dev r1_h2); followed: the route is on new copies of lwtdump's (group "))
			tb.requireOnCopy(fam.prefix, "via "+fam.gw1+" dev r1_h2")
			if own := tb.lwtdumpNexthops(tb.r1); len(own) != 2 {
				t.Errorf("lwtdump's nexthops on the group of one: %q", own)
			}
			time.Sleep(300 * time.Millisecond)

			r1("nexthop", "del", "id", "200")
			t.Logf("stderr said: %s", p.waitLine(2*time.Second, key+"removed: its nexthop 200 was deleted by ",
				", and the kernel deletes the routes on a nexthop it deletes; lwtdump deleted the route, which was on its copy: capture paused until a route to "+fam.prefix+" comes back"))
			if line := tb.routeLine(fam.prefix); line != "" {
				t.Errorf("route on a deleted nexthop: %s", line)
			}
			if own := tb.lwtdumpNexthops(tb.r1); len(own) != 0 {
				t.Errorf("lwtdump's nexthops while the route is gone: %q", own)
			}
			time.Sleep(time.Second)
			r1(fam.v, "route", "add", fam.prefix, "nhid", "100")
			t.Logf("stderr said: %s", p.waitLine(2*time.Second, key+"back, added by ", ": via "+fam.gw2+" nhid 100 dev r1_h2 proto boot; captured again after a gap of 1."))
			tb.requireOnCopy(fam.prefix, "via "+fam.gw2+" dev r1_h2")

			time.Sleep(time.Second)
			sent, recv := ping.stop()
			time.Sleep(100 * time.Millisecond)
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\n%s", code, p.stderr.String())
			}
			// What stays is the other process's: the route on nexthop 100,
			// the nexthops it left, and no copy of lwtdump's.
			tb.requireRoutes(tb.r1, strings.Replace(before, " nhid 100 via "+fam.gw1+" ", " nhid 100 via "+fam.gw2+" ", 1))
			if got, want := tb.ip("-n", tb.r1, "nexthop", "show"), fmt.Sprintf("id 100 via %s dev r1_h2 scope link \nid 101 via %s dev r1_h2 scope link \n", fam.gw2, fam.gw1); got != want {
				t.Errorf("nexthops at exit:\n%s\nwant:\n%s", got, want)
			}
			if left := tb.stateFiles(); len(left) != 0 {
				t.Errorf("state files left: %v", left)
			}
			_, _, rest := summaryOf(t, p.stderr.String())
			if !regexp.MustCompile(`^, 2 gaps at ` + regexp.QuoteMeta(fam.prefix) + ` \(1\.\d s\)$`).MatchString(rest) {
				t.Errorf("summary gaps %q", rest)
			}
			gaps := parseGaps(t, pcapngtest.ISBComments(t, out)[0])
			if len(gaps) != 2 || !strings.HasPrefix(gaps[0].text, "route replaced by ") || !strings.HasPrefix(gaps[1].text, "route removed: its nexthop 200 was deleted by ") {
				t.Errorf("gaps in the file: %+v", gaps)
			}
			echoes := echoTimes(t, out)["lwt_xmit:"+fam.prefix+"@r1_h2"]
			t.Logf("ping: %d sent, %d answered; %d echo requests in the file", sent, recv, len(echoes))
			if len(echoes) < recv-2 || len(echoes) > recv+1 {
				t.Errorf("%d echo requests in the file for %d answered", len(echoes), recv)
			}
		})
	}
}

// --no-follow ends the capture when another process changes the nexthop
// object of a captured route: exit code 1, the change named, and the route
// put back on that nexthop object (which now forwards as that process
// asked); lwtdump's copy is deleted.
func TestNoFollowNexthop(t *testing.T) {
	tb := newTestbed(t)
	tb.ip("-n", tb.h2, "addr", "add", "198.51.100.5/28", "dev", "h2_r1")
	tb.ip("-n", tb.r1, "nexthop", "add", "id", "100", "via", "198.51.100.1", "dev", "r1_h2")
	tb.ip("-n", tb.r1, "-4", "route", "replace", "203.0.113.0/24", "nhid", "100")
	t.Cleanup(func() { tb.tryIP("-n", tb.r1, "nexthop", "flush") })
	before := tb.routes(tb.r1)
	p := startLwtdump(t, tb.launch(), "--no-follow", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	tb.ping(tb.h1, "203.0.113.1", 3)
	tb.ip("-n", tb.r1, "nexthop", "replace", "id", "100", "via", "198.51.100.5", "dev", "r1_h2")
	if code := p.wait(); code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, p.stderr.String())
	}
	stderr := p.stderr.String()
	if !regexp.MustCompile(`lwtdump: route 203\.0\.113\.0/24 \(table 254, metric 0\) nexthop 100 changed by .*: now via 198\.51\.100\.5 dev r1_h2, was via 198\.51\.100\.1 dev r1_h2 at \d\d:\d\d:\d\d\.\d{3}; --no-follow ends the capture\n$`).MatchString(stderr) {
		t.Errorf("stderr:\n%s", stderr)
	}
	tb.requireRoutes(tb.r1, strings.Replace(before, "203.0.113.0/24 nhid 100 via 198.51.100.1 ", "203.0.113.0/24 nhid 100 via 198.51.100.5 ", 1))
	if got := tb.ip("-n", tb.r1, "nexthop", "show"); got != "id 100 via 198.51.100.5 dev r1_h2 scope link \n" {
		t.Errorf("nexthops at exit: %q", got)
	}
	if n := tb.ping(tb.h1, "203.0.113.1", 3); n != 3 {
		t.Errorf("%d of 3 pings answered after the capture", n)
	}
}

// A route lwtdump added for the capture (-i PREFIX@DEV), which another
// process then replaces with its own: the capture follows onto that
// process's route as onto any other process's, with programs named as on a
// route lwtdump replaced; so a later `lwtdump cleanup --strip` without the
// state file (lwtdump killed, its state lost) strips the capture from that
// route instead of deleting it, and a capture that ends puts it back.
func TestFollowAddedRouteReplaced(t *testing.T) {
	tb := newTestbed(t)
	const prefix = "2001:db8:30::/48"
	for _, kill := range []bool{false, true} {
		t.Run(fmt.Sprintf("killed=%v", kill), func(t *testing.T) {
			tb := tb.in(t)
			before := tb.routes(tb.r1)
			p := startLwtdump(t, tb.launch(), "-i", prefix+"@r1_h2", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
			if line := tb.routeLine(prefix); !strings.Contains(line, ":added") {
				t.Fatalf("route lwtdump added: %s", line)
			}
			tb.ip("-n", tb.r1, "-6", "route", "replace", prefix, "via", "2001:db8:2::1", "dev", "r1_h2", "proto", "static", "metric", "1024")
			t.Logf("stderr said: %s", p.waitLine(2*time.Second, "route "+prefix+" (table 254, metric 1024) replaced by ", ": via 2001:db8:2::1 dev r1_h2 proto static; captured again after a gap of 0.0"))
			line := tb.routeLine(prefix)
			if strings.Contains(line, ":added") || !strings.Contains(line, "lwtdump:") {
				t.Fatalf("route of the other process, captured: %s", line)
			}
			if !kill {
				if code := p.stop(syscall.SIGINT); code != 0 {
					t.Fatalf("exit code %d\n%s", code, p.stderr.String())
				}
				if got := tb.routeLine(prefix); got != prefix+" via 2001:db8:2::1 dev r1_h2 proto static metric 1024 pref medium" {
					t.Errorf("route at exit: %q", got)
				}
			} else {
				p.stop(syscall.SIGKILL)
				for _, f := range tb.stateFiles() {
					if err := os.RemoveAll(filepath.Dir(f)); err != nil {
						t.Fatal(err)
					}
				}
				code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup", "--netns", tb.r1)
				if code != 1 || !hasLine(stdout, "route "+prefix+" table 254", "no state file records the original") {
					t.Errorf("cleanup without state: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				code, stdout, stderr = runLwtdump(t, tb.launch(), "cleanup", "--netns", tb.r1, "--strip")
				if code != 0 || strings.Contains(stdout, "deleted") {
					t.Errorf("cleanup --strip: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				if got := tb.routeLine(prefix); got != prefix+" via 2001:db8:2::1 dev r1_h2 proto static metric 1024 pref medium" {
					t.Errorf("route after cleanup --strip: %q", got)
				}
			}
			tb.ip("-n", tb.r1, "-6", "route", "del", prefix)
			tb.requireRoutes(tb.r1, before)
		})
	}
}

// A nexthop object that another process turns into one lwtdump cannot
// copy (a blackhole) while a route on it is captured: the route is put
// back on that nexthop object at once, so that it forwards (here: drops)
// as that process asked, the copy is deleted, and the route is no longer
// followed; the other routes are still captured.
func TestFollowNexthopUncopyable(t *testing.T) {
	tb := newTestbed(t)
	tb.ip("-n", tb.r1, "nexthop", "add", "id", "100", "via", "198.51.100.1", "dev", "r1_h2")
	tb.ip("-n", tb.r1, "-4", "route", "replace", "203.0.113.0/24", "nhid", "100")
	t.Cleanup(func() { tb.tryIP("-n", tb.r1, "nexthop", "flush") })
	before := tb.routes(tb.r1)
	p := startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	tb.ping(tb.h1, "203.0.113.1", 2)
	tb.ip("-n", tb.r1, "nexthop", "replace", "id", "100", "blackhole")
	t.Logf("stderr said: %s", p.waitLine(2*time.Second, "route 203.0.113.0/24 (table 254, metric 0) nexthop 100 changed by ",
		": now blackhole, was via 198.51.100.1 dev r1_h2; now nhid 100 proto boot, which lwtdump cannot capture: ",
		"nexthop 100 is a blackhole, which cannot carry an encap", "; no longer following it; the route is put back as the other process has it (the other routes are still captured)"))
	// The kernel gives a route put on a blackhole nexthop the type
	// blackhole; it drops what it is given either way.
	const putBack = "blackhole 203.0.113.0/24 nhid 100 dev lo"
	if got := tb.routeLine("203.0.113.0/24"); got != putBack {
		t.Errorf("route after the change: %q, want %q", got, putBack)
	}
	if own := tb.lwtdumpNexthops(tb.r1); len(own) != 0 {
		t.Errorf("lwtdump's nexthops left: %q", own)
	}
	if n := tb.ping(tb.h1, "2001:db8:20::1", 2); n != 2 {
		t.Errorf("%d of 2 pings through the other route answered", n)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	if _, _, rest := summaryOf(t, p.stderr.String()); !regexp.MustCompile(`^, 1 gap at 203\.0\.113\.0/24 \(\d\.\d+ s, not back at exit\)$`).MatchString(rest) {
		t.Errorf("summary gaps %q", rest)
	}
	tb.requireRoutes(tb.r1, strings.Replace(before, "203.0.113.0/24 nhid 100 via 198.51.100.1 dev r1_h2 ", putBack+" ", 1))
	if got := tb.ip("-n", tb.r1, "nexthop", "show"); got != "id 100 blackhole \n" {
		t.Errorf("nexthops at exit: %q", got)
	}
}

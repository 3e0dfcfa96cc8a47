package main

// Captures on routes that a routing daemon owns (FRR, BIRD), while the
// daemon changes them: a BGP withdraw and re-announce, `clear bgp *`, a MED
// change, BIRD's periodic scans.

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

// frrPlainRoutes makes zebra on r1 install its routes without nexthop
// objects (no zebra nexthop kernel enable) and re-install the BGP routes
// (clear bgp *), and waits until both are plain routes again.
func (rb *routerbed) frrPlainRoutes() {
	rb.t.Helper()
	rb.vtysh("r1", "configure terminal", "no zebra nexthop kernel enable")
	rb.vtysh("r1", "clear bgp *")
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		rb.waitFor("a BGP route to "+prefix+" without a nexthop object", time.Minute, func() bool {
			r, ok := rb.bgpRoute(prefix)
			return ok && r.Nhid == 0
		})
	}
}

// startCapture starts lwtdump on both BGP prefixes of r1.
func (rb *routerbed) startCapture(out string, extra ...string) *proc {
	rb.t.Helper()
	args := append([]string{"-i", bgpPrefix6, "-i", bgpPrefix4, "--netns", rb.r1, "-w", out}, extra...)
	return startLwtdump(rb.t, rb.launch(), args...)
}

// frrModes are the two ways zebra installs routes: on nexthop objects (its
// default) and as plain routes.
var frrModes = []struct {
	name  string
	plain bool
}{{"nexthop-objects", false}, {"plain-routes", true}}

// FRR withdraws each captured prefix (IPv6, then IPv4) and announces it
// again during the capture: stderr says both at once, naming zebra; the
// capture follows the route zebra installs again (on new copies of its
// nexthop object, in zebra's default mode); the file holds every echo
// request forwarded, those after the re-announce included, and the gap;
// at exit r1's routes and nexthops are exactly as before the capture (no
// copy of lwtdump's left), and zebra's routes are selected and installed
// in its RIB.
func TestFollowFRRWithdraw(t *testing.T) {
	for _, mode := range frrModes {
		t.Run(mode.name, func(t *testing.T) {
			rb := newRouterbed(t, routerOptions{})
			if mode.plain {
				rb.frrPlainRoutes()
			}
			before := rb.table(rb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := rb.startCapture(out)
			ping6 := rb.startFlood(rb.h1, bgpHost6, 100000, "0.05", 56)
			ping4 := rb.startFlood(rb.h1, bgpHost4, 100000, "0.05", 56)
			time.Sleep(500 * time.Millisecond)

			var zebraRoutes []string
			for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
				withdrawn := time.Now()
				rb.withdraw(prefix)
				removed := p.waitLine(10*time.Second, "route "+prefix+" (table 254, metric 20) removed by zebra (pid ", ": capture paused until a route to "+prefix+" comes back")
				t.Logf("withdrawn %s after the withdraw, stderr said: %s", time.Since(withdrawn).Round(time.Millisecond), removed)
				time.Sleep(time.Second)
				rb.announce(prefix)
				back := p.waitLine(10*time.Second, "route "+prefix+" (table 254, metric 20) back, added by zebra (pid ", "proto bgp; captured again after a gap of ")
				t.Logf("stderr said: %s", back)
				if nhid := rb.captureNexthop(prefix); mode.plain != (nhid == 0) {
					t.Errorf("route to %s while capturing on lwtdump's nexthop %d: %s", prefix, nhid, rb.routeLine(prefix))
				}
				zebraRoutes = append(zebraRoutes, rb.routeLine(prefix))
				time.Sleep(time.Second)
			}
			sent6, recv6 := ping6.stop()
			sent4, recv4 := ping4.stop()
			time.Sleep(100 * time.Millisecond)
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\n%s", code, p.stderr.String())
			}
			stderr := p.stderr.String()
			for _, r := range zebraRoutes {
				if !strings.Contains(r, "encap bpf") {
					t.Errorf("route while capturing %q", r)
				}
			}
			// zebra installs the routes again as they were: exactly what
			// was there before the capture stays.
			rb.requireTable(rb.r1, before)
			rb.requireFRRInstalled(bgpPrefix6, 1)
			rb.requireFRRInstalled(bgpPrefix4, 1)
			captured, _, rest := summaryOf(t, stderr)
			if !regexp.MustCompile(`^, 1 gap at ` + regexp.QuoteMeta(bgpPrefix6) + ` \(\d\.\d s\), 1 gap at ` + regexp.QuoteMeta(bgpPrefix4) + ` \(\d\.\d s\)$`).MatchString(rest) {
				t.Errorf("summary: %d captured%s", captured, rest)
			}
			comments := pcapngtest.ISBComments(t, out)
			for i, c := range []struct {
				prefix     string
				sent, recv int
			}{{bgpPrefix6, sent6, recv6}, {bgpPrefix4, sent4, recv4}} {
				gaps := parseGaps(t, comments[i])
				if len(gaps) != 1 || gaps[0].to.IsZero() || !strings.HasPrefix(gaps[0].text, "route removed by zebra (pid ") {
					t.Fatalf("gaps of %s in the file: %+v", c.prefix, gaps)
				}
				echoes := echoTimes(t, out)["lwt_xmit:"+c.prefix+"@r1_h2"]
				after := 0
				for _, ts := range echoes {
					if ts.After(gaps[0].to) {
						after++
					}
				}
				t.Logf("%s withdrawn and announced again: %d echo requests sent, %d answered (forwarded), %d in the file, %d of them after the re-announce; gap %s",
					c.prefix, c.sent, c.recv, len(echoes), after, gaps[0].to.Sub(gaps[0].from).Round(time.Millisecond))
				// A request forwarded between the route's return and the
				// capture's (a few ms) is not captured: that is in the gap.
				if len(echoes) < c.recv-1 || len(echoes) > c.recv+1 || after < 3 {
					t.Errorf("%s: %d echo requests in the file (%d after the re-announce) for %d forwarded", c.prefix, len(echoes), after, c.recv)
				}
			}
			logZebra(t, rb)
		})
	}
}

// captureNexthop returns the id of the nexthop object r1's route to prefix
// uses when it is one of lwtdump's copies, after checking that the copy
// carries the capture's encap; 0 when the route is on none.
func (rb *routerbed) captureNexthop(prefix string) int {
	rb.t.Helper()
	r, ok := rb.bgpRoute(prefix)
	if !ok || r.Nhid < 0xe0000000 {
		return 0
	}
	if nh := rb.ip("-n", rb.r1, "nexthop", "show", "id", strconv.Itoa(r.Nhid)); !strings.Contains(nh, "encap bpf") {
		rb.t.Fatalf("lwtdump's nexthop %d carries no encap: %s", r.Nhid, nh)
	}
	return r.Nhid
}

// logZebra logs what zebra said of the changes it did not make.
func logZebra(t *testing.T, rb *routerbed) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(rb.daemonLog("r1", "zebra"), "\n") {
		if strings.Contains(line, "originated") || strings.Contains(line, "lwtdump") || strings.Contains(line, "encap") || strings.Contains(line, "nexthop group with ID") {
			if n < 10 {
				t.Logf("zebra: %s", line)
			}
			n++
		}
	}
	t.Logf("zebra logged %d lines about routes it did not make", n)
}

// `clear bgp *` on r1: zebra deletes both routes and installs them again
// once the sessions are back: each said at once, both followed, both gaps
// in the file and the summary; at exit r1's routes and nexthops are
// exactly as before.
func TestFollowFRRClearBGP(t *testing.T) {
	for _, mode := range frrModes {
		t.Run(mode.name, func(t *testing.T) {
			rb := newRouterbed(t, routerOptions{})
			if mode.plain {
				rb.frrPlainRoutes()
			}
			before := rb.table(rb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := rb.startCapture(out)
			ping := rb.startFlood(rb.h1, bgpHost4, 100000, "0.05", 56)
			time.Sleep(500 * time.Millisecond)
			rb.vtysh("r1", "clear bgp *")
			for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
				t.Logf("stderr said: %s", p.waitLine(10*time.Second, "route "+prefix+" (table 254, metric 20) removed by zebra (pid "))
				t.Logf("stderr said: %s", p.waitLine(30*time.Second, "route "+prefix+" (table 254, metric 20) back, added by zebra (pid ", "; captured again after a gap of "))
			}
			time.Sleep(time.Second)
			sent, recv := ping.stop()
			time.Sleep(100 * time.Millisecond)
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\n%s", code, p.stderr.String())
			}
			rb.requireTable(rb.r1, before)
			rb.requireFRRInstalled(bgpPrefix6, 1)
			rb.requireFRRInstalled(bgpPrefix4, 1)
			_, _, rest := summaryOf(t, p.stderr.String())
			if !regexp.MustCompile(`^, 1 gap at 2001:db8:20::/48 \(\d+\.\d s\), 1 gap at 203.0.113.0/24 \(\d+\.\d s\)$`).MatchString(rest) {
				t.Errorf("summary gaps %q", rest)
			}
			comments := pcapngtest.ISBComments(t, out)
			for i := range 2 {
				if gaps := parseGaps(t, comments[i]); len(gaps) != 1 || gaps[0].to.IsZero() {
					t.Errorf("interface %d: gaps %+v", i, gaps)
				}
			}
			echoes := echoTimes(t, out)["lwt_xmit:"+bgpPrefix4+"@r1_h2"]
			t.Logf("clear bgp: %d echo requests sent, %d answered, %d in the file", sent, recv, len(echoes))
			if len(echoes) < recv-2 || len(echoes) > recv+1 {
				t.Errorf("%d echo requests in the file for %d answered", len(echoes), recv)
			}
		})
	}
}

// setMED sets the MED h2's FRR announces to r1, and sends the update.
func (rb *routerbed) setMED(med int) {
	rb.t.Helper()
	rb.vtysh("h2", "configure terminal", "route-map MED permit 10", fmt.Sprintf("set metric %d", med))
	rb.vtysh("h2", "configure terminal", "router bgp 64502", "address-family ipv6 unicast", "neighbor 2001:db8:2::2 route-map MED out")
	rb.vtysh("h2", "clear bgp ipv6 unicast * soft out")
}

// BIRD on r1: its periodic scans (every 2 s here) find its routes with
// lwtdump's encap, which it does not take for its own; it tries to add
// them again and the kernel refuses (BIRD logs it): the capture goes on
// undisturbed, nothing said, no gap. Then a BGP update (a MED change, the
// same next hop) makes BIRD replace the route: said at once, followed,
// recorded; at exit the route is BIRD's, which BIRD keeps.
func TestFollowBIRD(t *testing.T) {
	rb := newRouterbed(t, routerOptions{R1: birdDaemon, BIRDScan: 2})
	before6 := rb.routeLine(bgpPrefix6)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := rb.startCapture(out)
	logStart := len(rb.daemonLog("r1", "bird"))
	ping := rb.startFlood(rb.h1, bgpHost6, 100000, "0.05", 56)
	time.Sleep(5 * time.Second) // two or three scans
	if strings.Contains(p.stderr.String(), "route "+bgpPrefix6) || strings.Contains(p.stderr.String(), "route "+bgpPrefix4) {
		t.Errorf("BIRD's scans disturbed the capture:\n%s", p.stderr.String())
	}
	scanLog := rb.daemonLog("r1", "bird")[logStart:]
	var errs []string
	for _, line := range strings.Split(scanLog, "\n") {
		if strings.Contains(line, "Netlink") || strings.Contains(line, "exists") || strings.Contains(line, "Error") {
			errs = append(errs, line)
		}
	}
	t.Logf("BIRD logged during 5 s of capture (%d lines):\n%s", len(errs), strings.Join(errs[:min(len(errs), 6)], "\n"))

	rb.setMED(50)
	line := p.waitLine(15*time.Second, "route "+bgpPrefix6+" (table 254, metric 32) replaced by bird (pid ", "; captured again after a gap of ")
	t.Logf("stderr said: %s", line)
	time.Sleep(time.Second)
	sent, recv := ping.stop()
	time.Sleep(100 * time.Millisecond)
	birdRoute := rb.routeLine(bgpPrefix6)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	after := rb.routeLine(bgpPrefix6)
	if strings.Contains(after, "encap") || !strings.Contains(birdRoute, "encap bpf") || after != before6 {
		t.Errorf("route at exit %q, while capturing %q, before %q", after, birdRoute, before6)
	}
	_, _, rest := summaryOf(t, p.stderr.String())
	if !regexp.MustCompile(`^, 1 gap at 2001:db8:20::/48 \(0\.\d\d\d s\)$`).MatchString(rest) {
		t.Errorf("summary gaps %q", rest)
	}
	gaps := parseGaps(t, pcapngtest.ISBComments(t, out)[0])
	if len(gaps) != 1 || !strings.HasPrefix(gaps[0].text, "route replaced by bird (pid ") {
		t.Fatalf("gaps in the file: %+v", gaps)
	}
	echoes := echoTimes(t, out)["lwt_xmit:"+bgpPrefix6+"@r1_h2"]
	n := 0
	for _, ts := range echoes {
		if ts.After(gaps[0].to) {
			n++
		}
	}
	t.Logf("MED change: %d echo requests sent, %d answered, %d in the file, %d after the update", sent, recv, len(echoes), n)
	if len(echoes) < recv-2 || n < 3 {
		t.Errorf("%d echo requests in the file (%d after the update) for %d answered", len(echoes), n, recv)
	}
	// After the capture BIRD's scans find its route again: nothing more to log.
	logEnd := len(rb.daemonLog("r1", "bird"))
	time.Sleep(5 * time.Second)
	if later := rb.daemonLog("r1", "bird")[logEnd:]; strings.Contains(later, "File exists") {
		t.Errorf("BIRD still fails after the capture:\n%s", later)
	}
	if got := rb.routeLine(bgpPrefix6); got != after {
		t.Errorf("BIRD changed its route after the capture: %q, was %q", got, after)
	}
}

// waitRegexp waits until a line of stderr matches re, and returns it.
func (p *proc) waitRegexp(timeout time.Duration, re string) string {
	p.t.Helper()
	m := regexp.MustCompile(re)
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if m.MatchString(line) {
				return line
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no line matching %s on stderr within %s:\n%s", re, timeout, p.stderr.String())
		}
	}
}

// pauseZebra stops r1's zebra (SIGSTOP) until the returned function is
// called, so that a change made to zebra's nexthop objects meanwhile is
// seen by lwtdump before zebra puts them back.
func (rb *routerbed) pauseZebra() (resume func()) {
	rb.t.Helper()
	b, err := os.ReadFile(filepath.Join(rb.dir, "r1", "zebra.pid"))
	if err != nil {
		rb.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		rb.t.Fatalf("zebra.pid: %q", b)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		rb.t.Fatal(err)
	}
	resumed := false
	resume = func() {
		if !resumed {
			resumed = true
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	rb.t.Cleanup(resume)
	return resume
}

// requireCopies fails the test unless r1's route to prefix is on one of
// lwtdump's nexthop copies, with the gateway gw.
func (rb *routerbed) requireCopies(prefix, gw string) {
	rb.t.Helper()
	id := rb.captureNexthop(prefix)
	if id == 0 {
		rb.t.Fatalf("route to %s is not on a copy of lwtdump's: %s", prefix, rb.routeLine(prefix))
	}
	if nh := rb.ip("-n", rb.r1, "nexthop", "show", "id", strconv.Itoa(id)); !strings.Contains(nh, "via "+gw+" ") {
		rb.t.Fatalf("lwtdump's copy of the nexthop of %s is not via %s: %s", prefix, gw, nh)
	}
}

// ownNexthops returns r1's nexthop objects that no daemon made (no proto).
func (rb *routerbed) ownNexthops() []string {
	rb.t.Helper()
	var own []string
	for _, line := range strings.Split(strings.TrimSpace(rb.nexthops(rb.r1)), "\n") {
		if line != "" && !strings.Contains(line, " proto ") {
			own = append(own, line)
		}
	}
	return own
}

// The next hop of zebra's routes changes during a capture, every way it
// can: BGP announces another next hop (zebra installs the route on another
// nexthop object), someone replaces zebra's nexthop object in place (`ip
// nexthop replace`, which zebra undoes), someone deletes it (`ip nexthop
// del`, which takes the route with it). Each is said at once; the capture
// follows onto lwtdump's new copies, each mirroring the nexthop as it now
// is, and the copies of the version before are deleted; the route is
// deleted with its nexthop. The echo requests forwarded are in the file;
// at exit the routes are zebra's, on the nexthop objects zebra's RIB names,
// selected and installed, and no copy of lwtdump's is left.
func TestFollowFRRNexthopChange(t *testing.T) {
	rb := newRouterbed(t, routerOptions{})
	// h2 has a second address on the link, the next hop it announces later.
	rb.ip("-n", rb.h2, "addr", "add", "2001:db8:2::5/64", "dev", "h2_r1", "nodad")
	rb.ip("-n", rb.h2, "addr", "add", "198.51.100.5/28", "dev", "h2_r1")
	// r1 installs the global IPv6 next hop that h2 announces, not its link-local one.
	rb.vtysh("r1", "configure terminal", "route-map GLOBAL permit 10", "set ipv6 next-hop prefer-global")
	rb.vtysh("r1", "configure terminal", "router bgp 64501", "address-family ipv6 unicast", "neighbor 2001:db8:2::1 route-map GLOBAL in")
	rb.vtysh("r1", "clear bgp ipv6 unicast * soft in")
	rb.waitFor("r1's route to "+bgpPrefix6+" via 2001:db8:2::1", time.Minute, func() bool {
		r, ok := rb.bgpRoute(bgpPrefix6)
		return ok && r.Gateway == "2001:db8:2::1" && r.Nhid != 0
	})

	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := rb.startCapture(out)
	ping6 := rb.startFlood(rb.h1, bgpHost6, 100000, "0.05", 56)
	ping4 := rb.startFlood(rb.h1, bgpHost4, 100000, "0.05", 56)
	time.Sleep(500 * time.Millisecond)
	rb.requireCopies(bgpPrefix6, "2001:db8:2::1")
	rb.requireCopies(bgpPrefix4, "198.51.100.1")

	// BGP: h2 announces its second address as the next hop.
	rb.vtysh("h2", "configure terminal", "route-map NH permit 10", "set ipv6 next-hop global 2001:db8:2::5", "set ip next-hop 198.51.100.5")
	rb.vtysh("h2", "configure terminal", "router bgp 64502", "address-family ipv6 unicast", "neighbor 2001:db8:2::2 route-map NH out")
	rb.vtysh("h2", "configure terminal", "router bgp 64502", "address-family ipv4 unicast", "neighbor 198.51.100.2 route-map NH out")
	rb.vtysh("h2", "clear bgp * soft out")
	t.Logf("stderr said: %s", p.waitLine(15*time.Second, "route "+bgpPrefix6+" (table 254, metric 20) ", " by zebra (pid ", "via 2001:db8:2::5 nhid ", "; captured again after a gap of "))
	t.Logf("stderr said: %s", p.waitLine(15*time.Second, "route "+bgpPrefix4+" (table 254, metric 20) replaced by zebra (pid ", ": now via 198.51.100.5 nhid ", ", was via 198.51.100.1 nhid ", "; captured again after a gap of "))
	time.Sleep(300 * time.Millisecond)
	rb.requireCopies(bgpPrefix6, "2001:db8:2::5")
	rb.requireCopies(bgpPrefix4, "198.51.100.5")
	if own := rb.ownNexthops(); len(own) != 2 {
		t.Errorf("lwtdump's nexthops after the change (one copy for each route): %q", own)
	}

	// Someone replaces zebra's nexthop object of the IPv6 route in place.
	nh6 := strconv.Itoa(rb.frrRoute(bgpPrefix6)[0].InstalledNexthopGroupID)
	resume := rb.pauseZebra()
	rb.ip("-n", rb.r1, "nexthop", "replace", "id", nh6, "via", "2001:db8:2::1", "dev", "r1_h2")
	t.Logf("stderr said: %s", p.waitLine(10*time.Second, "route "+bgpPrefix6+" (table 254, metric 20) nexthop "+nh6+" changed by ",
		": now via 2001:db8:2::1 dev r1_h2, was via 2001:db8:2::5 dev r1_h2; followed: the route is on new copies of lwtdump's (nexthop "))
	rb.requireCopies(bgpPrefix6, "2001:db8:2::1")
	time.Sleep(500 * time.Millisecond)
	resume() // zebra puts its nexthop back, and the capture follows
	t.Logf("stderr said: %s", p.waitLine(10*time.Second, "route "+bgpPrefix6+" (table 254, metric 20) nexthop "+nh6+" changed by zebra (pid ",
		": now via 2001:db8:2::5 dev r1_h2, was via 2001:db8:2::1 dev r1_h2; followed"))
	rb.requireCopies(bgpPrefix6, "2001:db8:2::5")

	// Someone deletes zebra's nexthop object of the IPv4 route: the kernel
	// deletes the routes on it; zebra then installs both again.
	nh4 := strconv.Itoa(rb.frrRoute(bgpPrefix4)[0].InstalledNexthopGroupID)
	resume = rb.pauseZebra()
	rb.ip("-n", rb.r1, "nexthop", "del", "id", nh4)
	t.Logf("stderr said: %s", p.waitLine(10*time.Second, "route "+bgpPrefix4+" (table 254, metric 20) removed: its nexthop "+nh4+" was deleted by ",
		"lwtdump deleted the route, which was on its copy: capture paused until a route to "+bgpPrefix4+" comes back"))
	if r, ok := rb.bgpRoute(bgpPrefix4); ok {
		t.Errorf("route on a deleted nexthop: %+v", r)
	}
	time.Sleep(500 * time.Millisecond)
	resume()
	t.Logf("stderr said: %s", p.waitLine(15*time.Second, "route "+bgpPrefix4+" (table 254, metric 20) back, added by zebra (pid ", "via 198.51.100.5 nhid ", "captured again after a gap of "))
	rb.requireCopies(bgpPrefix4, "198.51.100.5")
	if own := rb.ownNexthops(); len(own) != 2 {
		t.Errorf("lwtdump's nexthops (one copy for each route): %q", own)
	}

	time.Sleep(time.Second)
	sent6, recv6 := ping6.stop()
	sent4, recv4 := ping4.stop()
	time.Sleep(100 * time.Millisecond)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	// What stays is zebra's: its routes on the nexthop objects its RIB
	// names, no encap, and no nexthop of lwtdump's.
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		r, ok := rb.bgpRoute(prefix)
		rib := rb.frrRoute(prefix)
		if !ok || len(rib) == 0 || r.Nhid != rib[0].InstalledNexthopGroupID || strings.Contains(rb.routeLine(prefix), "encap") {
			t.Errorf("route to %s at exit: %q, FRR's: %+v", prefix, rb.routeLine(prefix), rib)
		}
		rb.requireFRRInstalled(prefix, 1)
	}
	if own := rb.ownNexthops(); len(own) != 0 {
		t.Errorf("lwtdump's nexthops left at exit: %q", own)
	}
	_, _, rest := summaryOf(t, p.stderr.String())
	if !regexp.MustCompile(`^, 1 gap at 2001:db8:20::/48 \(0\.\d\d\d s\), 2 gaps at 203\.0\.113\.0/24 \(\d\.\d+ s\)$`).MatchString(rest) {
		t.Errorf("summary gaps %q", rest)
	}
	echoes := echoTimes(t, out)
	for _, c := range []struct {
		prefix     string
		sent, recv int
	}{{bgpPrefix6, sent6, recv6}, {bgpPrefix4, sent4, recv4}} {
		n := len(echoes["lwt_xmit:"+c.prefix+"@r1_h2"])
		t.Logf("%s: %d echo requests sent, %d answered, %d in the file", c.prefix, c.sent, c.recv, n)
		if n < c.recv-2 || n > c.recv+2 {
			t.Errorf("%s: %d echo requests in the file for %d answered", c.prefix, n, c.recv)
		}
	}
	logZebra(t, rb)
}

// FRR's ECMP routes (a nexthop group of two BGP paths) lose one path and
// get it back during the capture: r1 shuts its second BGP sessions down and
// up again, and zebra moves each route from its group to a single nexthop
// and back. Each move is said and followed: lwtdump's copies of the group
// and its members become a copy of the single nexthop and then copies of
// the group again, the copies of each version before deleted; at exit r1's
// routes and nexthops are as before the capture and FRR's routes are
// installed on both paths.
func TestFollowFRRECMP(t *testing.T) {
	rb := newRouterbed(t, routerOptions{ECMP: true})
	before := rb.table(rb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := rb.startCapture(out)
	ping6 := rb.startFlood(rb.h1, bgpHost6, 100000, "0.05", 56)
	time.Sleep(500 * time.Millisecond)
	if own := rb.ownNexthops(); len(own) != 6 {
		t.Fatalf("lwtdump's nexthops on two groups: %q", own)
	}

	second := []string{"2001:db8:3::1", "198.51.100.17"}
	for _, peer := range second {
		rb.vtysh("r1", "configure terminal", "router bgp 64501", "neighbor "+peer+" shutdown")
	}
	// zebra replaces the IPv4 route, and deletes the IPv6 one and adds it
	// again: said either way, and followed within a few milliseconds.
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		t.Logf("stderr said: %s", p.waitRegexp(15*time.Second, `route `+regexp.QuoteMeta(prefix)+` \(table 254, metric 20\) (replaced by zebra \(pid \d+\): now via \S+ nhid \d+ dev r1_h2 proto bgp, was nhid \d+ proto bgp|back, added by zebra \(pid \d+\): via \S+ nhid \d+ dev r1_h2 proto bgp); captured again after a gap of 0\.0`))
	}
	rb.waitFor("lwtdump's copies of single nexthops", 10*time.Second, func() bool { return len(rb.ownNexthops()) == 2 })
	time.Sleep(500 * time.Millisecond)

	for _, peer := range second {
		rb.vtysh("r1", "configure terminal", "router bgp 64501", "no neighbor "+peer+" shutdown")
	}
	// A second replacement within a minute may wait for the back-off
	// (0.25 s): zebra's replacements look like a controller's.
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		t.Logf("stderr said: %s", p.waitRegexp(60*time.Second, `route `+regexp.QuoteMeta(prefix)+` \(table 254, metric 20\) (replaced by zebra \(pid \d+\): now nhid \d+ proto bgp, was via \S+ nhid \d+ dev r1_h2 proto bgp|back, added by zebra \(pid \d+\): nhid \d+ proto bgp)(; captured again after a gap of 0\.0|; attaching again in 0\.25 s)`))
		again := regexp.MustCompile(`route ` + regexp.QuoteMeta(prefix) + ` \(table 254, metric 20\) .*captured again after a gap of 0\.\d+ s`)
		rb.waitFor(prefix+" captured again twice", 5*time.Second, func() bool { return len(again.FindAllString(p.stderr.String(), -1)) == 2 })
	}
	rb.waitFor("lwtdump's copies of two groups", 10*time.Second, func() bool { return len(rb.ownNexthops()) == 6 })
	time.Sleep(time.Second)
	sent, recv := ping6.stop()
	time.Sleep(100 * time.Millisecond)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.stderr.String())
	}
	rb.requireTable(rb.r1, before)
	rb.requireFRRInstalled(bgpPrefix6, 2)
	rb.requireFRRInstalled(bgpPrefix4, 2)
	_, _, rest := summaryOf(t, p.stderr.String())
	if !regexp.MustCompile(`^, 2 gaps at 2001:db8:20::/48 \(0\.\d\d\d s\), 2 gaps at 203\.0\.113\.0/24 \(0\.\d\d\d s\)$`).MatchString(rest) {
		t.Errorf("summary gaps %q", rest)
	}
	var n int
	for name, ts := range echoTimes(t, out) {
		if strings.HasPrefix(name, "lwt_xmit:"+bgpPrefix6+"@") {
			n += len(ts)
		}
	}
	t.Logf("ECMP path down and up: %d echo requests sent, %d answered, %d in the file", sent, recv, n)
	if n < recv-3 || n > recv+1 {
		t.Errorf("%d echo requests in the file for %d answered", n, recv)
	}
	logZebra(t, rb)
}

package main

// Captures on routes that a routing daemon owns (FRR, BIRD), while the
// daemon changes them: a BGP withdraw and re-announce, `clear bgp *`, a MED
// change, BIRD's periodic scans.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
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

// startCapture starts lwtdump on both BGP prefixes of r1. It skips the test
// when lwtdump refuses routes of the form the daemon gave them (nexthop
// objects, in a build that cannot capture them yet).
func (rb *routerbed) startCapture(out string, extra ...string) *proc {
	rb.t.Helper()
	args := append([]string{"-i", bgpPrefix6, "-i", bgpPrefix4, "--netns", rb.r1, "-w", out}, extra...)
	if r, _ := rb.bgpRoute(bgpPrefix6); r.Nhid != 0 {
		// A capture refused for a nexthop object ends at once with exit
		// code 2; one that starts is stopped again.
		ready := filepath.Join(rb.t.TempDir(), "probe-ready")
		cmd := launch{}.command(rb.t, append([]string{"--state-dir", rb.stateDir, "--ready-file", ready}, args...))
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			rb.t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(ready); err == nil {
				cmd.Process.Signal(syscall.SIGINT)
				<-done
				break
			}
			select {
			case <-done:
				if strings.Contains(stderr.String(), "nexthop object") {
					rb.t.Skipf("lwtdump cannot capture routes on nexthop objects in this build: %s", strings.TrimSpace(stderr.String()))
				}
				rb.t.Fatalf("lwtdump exited at start: %s", stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				rb.t.Fatalf("lwtdump not ready after 20 s: %s", stderr.String())
			}
		}
		os.Remove(out)
	}
	return startLwtdump(rb.t, rb.launch(), args...)
}

// frrModes are the two ways zebra installs routes: on nexthop objects (its
// default) and as plain routes.
var frrModes = []struct {
	name  string
	plain bool
}{{"nexthop-objects", false}, {"plain-routes", true}}

// FRR withdraws a captured prefix and announces it again during the
// capture: stderr says both at once, naming zebra; the capture follows the
// route zebra installs again; the file holds every echo request forwarded,
// those after the re-announce included, and the gap; zebra's route is left
// as zebra made it, selected and installed in its RIB.
func TestFollowFRRWithdraw(t *testing.T) {
	for _, mode := range frrModes {
		t.Run(mode.name, func(t *testing.T) {
			rb := newRouterbed(t, routerOptions{})
			if mode.plain {
				rb.frrPlainRoutes()
			}
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := rb.startCapture(out)
			ping := rb.startFlood(rb.h1, bgpHost6, 100000, "0.05", 56)
			time.Sleep(500 * time.Millisecond)

			withdrawn := time.Now()
			rb.withdraw(bgpPrefix6)
			removed := p.waitLine(10*time.Second, "route "+bgpPrefix6+" (table 254, metric 20) removed by zebra (pid ", ": capture paused until a route to "+bgpPrefix6+" comes back")
			t.Logf("withdrawn %s after the withdraw, stderr said: %s", time.Since(withdrawn).Round(time.Millisecond), removed)
			time.Sleep(time.Second)
			rb.announce(bgpPrefix6)
			back := p.waitLine(10*time.Second, "route "+bgpPrefix6+" (table 254, metric 20) back, added by zebra (pid ", "proto bgp; captured again after a gap of ")
			t.Logf("stderr said: %s", back)
			time.Sleep(time.Second)
			sent, recv := ping.stop()
			time.Sleep(100 * time.Millisecond)
			zebraRoute := rb.routeLine(bgpPrefix6)
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\n%s", code, p.stderr.String())
			}
			stderr := p.stderr.String()
			// zebra's route, as zebra installed it at the re-announce (the
			// capture's encap aside), is what stays.
			kept := rb.routeLine(bgpPrefix6)
			if strings.Contains(kept, "encap") || !strings.Contains(zebraRoute, "encap bpf") || !strings.Contains(kept, "proto bgp metric 20") {
				t.Errorf("route at exit %q (while capturing %q)", kept, zebraRoute)
			}
			rb.requireFRRInstalled(bgpPrefix6, 1)
			rb.requireFRRInstalled(bgpPrefix4, 1)
			captured, _, rest := summaryOf(t, stderr)
			if !regexp.MustCompile(`^, 1 gap at ` + regexp.QuoteMeta(bgpPrefix6) + ` \(\d\.\d s\)$`).MatchString(rest) {
				t.Errorf("summary: %d captured%s", captured, rest)
			}
			gaps := parseGaps(t, statsComments(t, out)[0])
			if len(gaps) != 1 || gaps[0].to.IsZero() || !strings.HasPrefix(gaps[0].text, "route removed by zebra (pid ") {
				t.Fatalf("gaps in the file: %+v", gaps)
			}
			echoes := echoTimes(t, out)["lwt_xmit:"+bgpPrefix6+"@r1_h2"]
			after := 0
			for _, ts := range echoes {
				if ts.After(gaps[0].to) {
					after++
				}
			}
			t.Logf("withdraw and re-announce: %d echo requests sent, %d answered (forwarded), %d in the file, %d of them after the re-announce; gap %s",
				sent, recv, len(echoes), after, gaps[0].to.Sub(gaps[0].from).Round(time.Millisecond))
			// A request forwarded between the route's return and the
			// capture's (a few ms) is not captured: that is in the gap.
			if len(echoes) < recv-1 || len(echoes) > recv+1 || after < 3 {
				t.Errorf("%d echo requests in the file (%d after the re-announce) for %d forwarded", len(echoes), after, recv)
			}
			logZebra(t, rb)
		})
	}
}

// logZebra logs what zebra said of the changes it did not make.
func logZebra(t *testing.T, rb *routerbed) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(rb.daemonLog("r1", "zebra"), "\n") {
		if strings.Contains(line, "originated") || strings.Contains(line, "lwtdump") || strings.Contains(line, "encap") {
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
// in the file and the summary.
func TestFollowFRRClearBGP(t *testing.T) {
	for _, mode := range frrModes {
		t.Run(mode.name, func(t *testing.T) {
			rb := newRouterbed(t, routerOptions{})
			if mode.plain {
				rb.frrPlainRoutes()
			}
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
			rb.requireFRRInstalled(bgpPrefix6, 1)
			rb.requireFRRInstalled(bgpPrefix4, 1)
			_, _, rest := summaryOf(t, p.stderr.String())
			if !regexp.MustCompile(`^, 1 gap at 2001:db8:20::/48 \(\d+\.\d s\), 1 gap at 203.0.113.0/24 \(\d+\.\d s\)$`).MatchString(rest) {
				t.Errorf("summary gaps %q", rest)
			}
			comments := statsComments(t, out)
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
	line := p.waitLine(15*time.Second, "route "+bgpPrefix6+" (table 254, metric 32) replaced by bird (pid ", "; captured again after a gap of 0.0")
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
	gaps := parseGaps(t, statsComments(t, out)[0])
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

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// A route as a routing daemon installs it, and where h1's traffic to it goes.
type daemonRoute struct {
	name   string
	opts   routerOptions
	prefix string
	dst    string
	setup  func(rb *routerbed) // run in r1 and h2 before the capture
}

var daemonRoutes = []daemonRoute{
	// FRR's default: every route on a nexthop object.
	{name: "frr-ipv6-nexthop", prefix: bgpPrefix6, dst: bgpHost6},
	{name: "frr-ipv4-nexthop", prefix: bgpPrefix4, dst: bgpHost4},
	// Two BGP paths: FRR installs a nexthop group of two nexthops.
	{name: "frr-ipv6-group", opts: routerOptions{ECMP: true}, prefix: bgpPrefix6, dst: bgpHost6},
	{name: "frr-ipv4-group", opts: routerOptions{ECMP: true}, prefix: bgpPrefix4, dst: bgpHost4},
	// Two BGP paths: BIRD installs one RTA_MULTIPATH route.
	{name: "bird-ipv6-multipath", opts: routerOptions{R1: birdDaemon, H2: birdDaemon, ECMP: true}, prefix: bgpPrefix6, dst: bgpHost6},
	{name: "bird-ipv4-multipath", opts: routerOptions{R1: birdDaemon, ECMP: true}, prefix: bgpPrefix4, dst: bgpHost4},
	// A multipath route added by hand beside FRR's: `ip route add P nexthop ... nexthop ...`.
	{name: "ip-ipv6-multipath", opts: routerOptions{ECMP: true}, prefix: "2001:db8:22::/48", dst: "2001:db8:22::1", setup: func(rb *routerbed) {
		rb.ip("-n", rb.h2, "addr", "add", "2001:db8:22::1/128", "dev", "lo")
		rb.ip("-n", rb.r1, "-6", "route", "add", "2001:db8:22::/48", "proto", "static", "metric", "100",
			"nexthop", "via", "2001:db8:2::1", "dev", "r1_h2", "weight", "1", "nexthop", "via", "2001:db8:3::1", "dev", "r1_h2b", "weight", "3")
	}},
	{name: "ip-ipv4-multipath", opts: routerOptions{ECMP: true}, prefix: "198.51.100.64/26", dst: "198.51.100.65", setup: func(rb *routerbed) {
		rb.ip("-n", rb.h2, "addr", "add", "198.51.100.65/32", "dev", "lo")
		rb.ip("-n", rb.r1, "-4", "route", "add", "198.51.100.64/26", "proto", "static",
			"nexthop", "via", "198.51.100.1", "dev", "r1_h2", "nexthop", "via", "198.51.100.17", "dev", "r1_h2b", "onlink")
	}},
}

// ecmpSources are addresses of h1 that its pings come from, so that r1's
// multipath hash spreads them over both paths (16 flows all on one path
// happen once in 30,000 runs).
func ecmpSources(rb *routerbed, dst string) []string {
	var srcs []string
	for i := 3; i < 19; i++ {
		if strings.Contains(dst, ":") {
			srcs = append(srcs, fmt.Sprintf("2001:db8:1::%x", i))
		} else {
			srcs = append(srcs, fmt.Sprintf("192.0.2.%d", 100+i))
		}
	}
	return srcs
}

// Captures of routes as FRR and BIRD install them: on a nexthop object, on
// a nexthop group (two BGP paths), and as an RTA_MULTIPATH route (BIRD's
// ECMP, and one added by hand), IPv6 and IPv4, at one hook stopped by
// SIGINT and at every hook stopped by SIGTERM. While capturing, the route
// uses lwtdump's nexthop copies (the daemon's nexthop objects untouched) or
// carries the encap on every path; every echo request forwarded is in the
// file once per hook, on both paths of an ECMP route; at exit every route
// and nexthop of r1 is byte for byte what it was, and FRR still has its
// route selected and installed.
func TestCaptureDaemonRoutes(t *testing.T) {
	single := []string{"xmit", "in", "out"}
	for i, dr := range daemonRoutes {
		t.Run(dr.name, func(t *testing.T) {
			rb := newRouterbed(t, dr.opts)
			if dr.setup != nil {
				dr.setup(rb)
			}
			paths := 1
			if dr.opts.ECMP {
				paths = 2
			}
			var srcs []string
			if paths > 1 {
				srcs = ecmpSources(rb, dr.dst)
				for _, src := range srcs {
					plen := "/27"
					if strings.Contains(src, ":") {
						plen = "/64"
					}
					rb.ip("-n", rb.h1, "addr", "add", src+plen, "dev", "h1_r1", "nodad")
				}
				if strings.Contains(dr.dst, ".") {
					rb.ip("-n", rb.r1, "addr", "add", "192.0.2.97/27", "dev", "r1_h1") // h1's new sources
				}
			}
			fromFRR := dr.opts.R1 != birdDaemon && dr.setup == nil
			before := rb.table(rb.r1)
			cur := rb.kernelRoutes(dr.prefix)
			if len(cur) != 1 || cur[0].Paths() != paths {
				t.Fatalf("r1's route to %s: %+v", dr.prefix, cur)
			}
			daemonNH := cur[0].Nhid
			for _, run := range []struct {
				hooks string
				sig   syscall.Signal
			}{
				{single[i%len(single)], syscall.SIGINT},
				{"in,out,xmit", syscall.SIGTERM},
			} {
				t.Logf("--hook %s, stopped with %s", run.hooks, run.sig)
				out := filepath.Join(t.TempDir(), "out.pcapng")
				mark := rb.markLogs("r1")
				p := startLwtdump(rb.t, rb.launch(), "-i", dr.prefix, "--hook", run.hooks, "--netns", rb.r1, "-w", out)

				now := rb.kernelRoutes(dr.prefix)
				if len(now) != 1 || now[0].Paths() != paths {
					t.Fatalf("r1's route to %s while capturing: %+v", dr.prefix, now)
				}
				shown := rb.routeLines(dr.prefix)
				if daemonNH != 0 {
					if now[0].Nhid < 0xe0000000 {
						t.Errorf("route while capturing uses nexthop %d, not a copy of lwtdump's: %s", now[0].Nhid, shown)
					}
					// The daemon's nexthop object is as it was.
					nh := rb.ip("-n", rb.r1, "nexthop", "show", "id", fmt.Sprint(daemonNH))
					if !strings.Contains(before, nh) {
						t.Errorf("nexthop %d changed while capturing: %s", daemonNH, nh)
					}
				}
				for _, h := range strings.Split(run.hooks, ",") {
					want := fmt.Sprintf(" %s lwtdump:%d:%s", h, p.cmd.Process.Pid, h)
					if got := strings.Count(shown, want); got != paths {
						t.Errorf("route while capturing has %q on %d paths, want %d: %s", want, got, paths, shown)
					}
				}
				if fromFRR {
					rb.requireFRRInstalled(dr.prefix, paths)
				}

				sent := 0
				if srcs == nil {
					const n = 3
					if got := rb.ping(rb.h1, dr.dst, n); got != n {
						t.Errorf("%d of %d pings answered while capturing", got, n)
					}
					sent = n
				}
				for _, src := range srcs {
					if got := rb.pingFrom(rb.h1, src, dr.dst, 1); got != 1 {
						t.Errorf("ping from %s to %s not answered while capturing", src, dr.dst)
					}
					sent++
				}
				if code := p.stop(run.sig); code != 0 {
					t.Fatalf("exit code %d after %s\nstderr: %s", code, run.sig, p.stderr.String())
				}
				rb.requireTable(rb.r1, before)
				if files := rb.stateFiles(); len(files) != 0 {
					t.Errorf("state files left: %v", files)
				}
				for _, name := range []string{"zebra", "bird"} {
					if l := rb.logSince("r1", name, mark); l != "" {
						t.Logf("%s on r1 during the capture:\n%s", name, l)
					}
				}
				if fromFRR {
					rb.requireFRRInstalled(dr.prefix, paths)
				}

				// Each hook saw every echo request, on its own interface;
				// with two paths, lwt_xmit saw both devices.
				devs := []string{"r1_h2"}
				if paths > 1 {
					devs = append(devs, "r1_h2b")
				}
				got := map[string]int{}
				for key, n := range echoRequests(t, out) {
					// The devices in the path order of the route: any order here.
					iface, hook, _ := strings.Cut(key, " ")
					name, list, _ := strings.Cut(iface, "@")
					d := strings.Split(list, ",")
					slices.Sort(d)
					got[name+"@"+strings.Join(d, ",")+" "+hook] += n
				}
				for _, h := range strings.Split(run.hooks, ",") {
					key := fmt.Sprintf("lwt_%s:%s@%s hook=lwt_%s", h, dr.prefix, strings.Join(devs, ","), h)
					if got[key] != sent {
						t.Errorf("%d echo requests at %s, want %d (all: %v)", got[key], key, sent, got)
					}
				}
				if paths > 1 && slices.Contains(strings.Split(run.hooks, ","), "xmit") {
					ifindexes := xmitIfindexes(t, out)
					for _, dev := range devs {
						if ifindexes[rb.ifindex(rb.r1, dev)] == 0 {
							t.Errorf("no echo request left by %s at lwt_xmit: %v", dev, ifindexes)
						}
					}
				}
			}
		})
	}
}

// pingFrom sends count echo requests from the address src in ns to dst,
// 0.1 s apart, and returns how many replies came back.
func (tb *testbed) pingFrom(ns, src, dst string, count int) int {
	tb.t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-c", fmt.Sprint(count), "-i", "0.1", "-W", "1", "-I", src, dst).CombinedOutput()
	var sent, recv int
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Sscanf(line, "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	return recv
}

// xmitIfindexes counts the echo requests lwt_xmit saw by the ifindex of their comment.
func xmitIfindexes(t *testing.T, file string) map[int]int {
	t.Helper()
	counts := map[int]int{}
	ifindex := regexp.MustCompile(`ifindex=(\d+)`)
	for _, row := range tsharkFields(t, file, []string{"-Y", `(icmp.type == 8 || icmpv6.type == 128) && frame.comment contains "hook=lwt_xmit"`}, "frame.comment") {
		if m := ifindex.FindStringSubmatch(row[0]); m != nil {
			var i int
			fmt.Sscan(m[1], &i)
			counts[i]++
		}
	}
	return counts
}

// A capture of FRR's ECMP route killed with SIGKILL leaves the route on
// lwtdump's nexthop copies: forwarding goes on, `lwtdump list` shows the
// route, its copies and the state file, and `lwtdump cleanup` points the
// route back at FRR's nexthop group and deletes the copies: every route and
// nexthop of r1 byte for byte as before, FRR's route selected and installed.
func TestKillThenCleanupNexthops(t *testing.T) {
	rb := newRouterbed(t, routerOptions{ECMP: true})
	before := rb.table(rb.r1)
	p := startLwtdump(rb.t, rb.launch(), "-i", bgpPrefix6, "-i", bgpPrefix4, "--hook", "in,xmit", "--netns", rb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	pid := p.cmd.Process.Pid
	during := rb.nexthops(rb.r1)
	p.stop(syscall.SIGKILL)

	files := rb.stateFiles()
	if len(files) != 1 {
		t.Fatalf("state files after SIGKILL: %v", files)
	}
	state, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// Each route has three copies: two nexthops and their group.
	copies := regexp.MustCompile(`(?m)^id (\d+) `).FindAllStringSubmatch(during, -1)
	var ids []string
	for _, m := range copies {
		if !strings.Contains(before, "id "+m[1]+" ") {
			ids = append(ids, m[1])
		}
	}
	if len(ids) != 6 {
		t.Fatalf("%d nexthops of lwtdump's while capturing, want 6:\n%s", len(ids), during)
	}
	for _, id := range ids {
		if !strings.Contains(string(state), `"id": `+id+",") {
			t.Errorf("state file does not name nexthop %s:\n%s", id, state)
		}
	}
	for _, dst := range []string{bgpHost6, bgpHost4} {
		if got := rb.ping(rb.h1, dst, 2); got != 2 {
			t.Errorf("%d of 2 pings to %s answered through the copies of the killed lwtdump", got, dst)
		}
	}

	code, stdout, stderr := runLwtdump(t, rb.launch(), "list", "--netns", rb.r1)
	if code != 0 {
		t.Fatalf("list: exit code %d, stderr %q", code, stderr)
	}
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		if !hasLine(stdout, prefix+" ", "r1_h2b", fmt.Sprintf("xmit=lwtdump:%d:xmit", pid), fmt.Sprintf("lwtdump pid %d, gone: run lwtdump cleanup", pid)) {
			t.Errorf("list does not show %s as the killed lwtdump's:\n%s", prefix, stdout)
		}
	}
	for _, id := range ids {
		if !strings.Contains(stdout, id) {
			t.Errorf("list does not name nexthop %s:\n%s", id, stdout)
		}
	}

	code, stdout, stderr = runLwtdump(t, rb.launch(), "cleanup")
	if code != 0 {
		t.Fatalf("cleanup: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		if !hasLine(stdout, "route "+prefix+" table 254", fmt.Sprintf("restored (lwtdump pid %d had replaced it)", pid)) {
			t.Errorf("cleanup did not say it restored %s:\n%s", prefix, stdout)
		}
	}
	rb.requireTable(rb.r1, before)
	if files := rb.stateFiles(); len(files) != 0 {
		t.Errorf("state files left: %v", files)
	}
	rb.requireFRRInstalled(bgpPrefix6, 2)
	rb.requireFRRInstalled(bgpPrefix4, 2)
}

// BIRD rescans the kernel's table every second during a capture of its
// ECMP route: it does not see the route with the capture's encap on its
// paths as its own, and tries to add it again, which the kernel refuses
// (BIRD logs "Netlink: File exists"); the capture is not disturbed: every
// echo request is in the file, and at exit the route is BIRD's again, byte
// for byte, and BIRD's next scan finds it.
func TestCaptureBIRDRescan(t *testing.T) {
	rb := newRouterbed(t, routerOptions{R1: birdDaemon, H2: birdDaemon, ECMP: true, BIRDScan: 1})
	for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
		t.Run(prefix, func(t *testing.T) {
			rb := rb.in(t)
			dst := bgpHost6
			if prefix == bgpPrefix4 {
				dst = bgpHost4
			}
			before := rb.table(rb.r1)
			mark := rb.markLogs("r1")
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(rb.t, rb.launch(), "-i", prefix, "--netns", rb.r1, "-w", out)
			const n = 30 // 3 s: three scans
			if got := rb.ping(rb.h1, dst, n); got != n {
				t.Errorf("%d of %d pings answered while capturing", got, n)
			}
			shown := rb.routeLines(prefix)
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			if !strings.Contains(shown, fmt.Sprintf("xmit lwtdump:%d:xmit", p.cmd.Process.Pid)) {
				t.Errorf("route after 3 s of scans does not carry the capture: %s", shown)
			}
			rb.requireTable(rb.r1, before)
			if got := sum(echoRequests(t, out)); got != n {
				t.Errorf("%d echo requests in the capture, want %d", got, n)
			}
			// What BIRD says at each scan, and nothing else that is a warning or worse.
			log := rb.logSince("r1", "bird", mark)
			t.Logf("bird on r1 during the capture:\n%s", log)
			known := []string{"KRT: Received route " + prefix + " with unknown encapsulation method 6", "Netlink: File exists"}
			for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
				if (strings.Contains(line, "<WARN>") || strings.Contains(line, "<ERR>")) && !slices.ContainsFunc(known, func(k string) bool { return strings.HasSuffix(line, k) }) {
					t.Errorf("BIRD logged during the capture: %s", line)
				}
			}
		})
	}
}

package main

// The routing-daemon harness: the h1 - r1 - h2 testbed with real routing
// daemons in its namespaces, as on a router. h2 announces 2001:db8:20::/48
// and 203.0.113.0/24 over eBGP (AS 64502) to r1 (AS 64501), whose daemon
// installs them in r1's kernel in its own way:
//
//   - FRR (zebra + bgpd) on nexthop objects: `2001:db8:20::/48 nhid 12 via
//     fe80::... dev r1_h2 proto bgp metric 20`, and with ECMP a nexthop group;
//   - BIRD 2 as plain routes: `2001:db8:20::/48 via ... proto bird metric 32`,
//     and with ECMP an RTA_MULTIPATH route.
//
// With ECMP a second link, r1_h2b (2001:db8:3::2, 198.51.100.18) - h2_r1b
// (2001:db8:3::1, 198.51.100.17), carries a second BGP session, and r1 has
// two equal paths to each prefix.
//
// Each daemon runs in the foreground as a child of the test, with its own
// configuration, pid file, sockets and log under a directory of the test,
// and is stopped when the test ends, before its namespaces are removed.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// The prefixes h2 announces, and an address of h2 behind each.
const (
	bgpPrefix6 = "2001:db8:20::/48"
	bgpPrefix4 = "203.0.113.0/24"
	bgpHost6   = "2001:db8:20::1"
	bgpHost4   = "203.0.113.1"
)

// Daemon names for routerOptions.
const (
	frrDaemon  = "frr"
	birdDaemon = "bird"
)

// routerOptions choose the daemons of a routerbed.
type routerOptions struct {
	R1   string // the daemon on r1: frrDaemon (the default) or birdDaemon
	H2   string // the daemon on h2 that announces the prefixes: frrDaemon (the default) or birdDaemon
	ECMP bool   // a second link between r1 and h2, and a second BGP session over it
	// BIRDScan is the scan time of BIRD's kernel protocols on r1, in seconds (default 10).
	BIRDScan int
}

// routerbed is a testbed whose r1 and h2 run routing daemons.
type routerbed struct {
	*testbed
	opts routerOptions
	dir  string // configurations, pid files, sockets and logs
}

// requireDaemon makes sure the programs of daemon are installed: it runs
// scripts/deps.sh routers (apt-get) when one is missing, and skips the test
// with the reason when they still cannot be found.
func requireDaemon(t *testing.T, daemon string) {
	t.Helper()
	var progs []string
	switch daemon {
	case frrDaemon:
		progs = []string{"/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"}
	case birdDaemon:
		progs = []string{"bird", "birdc"}
	default:
		t.Fatalf("unknown routing daemon %q", daemon)
	}
	missing := func() string {
		for _, p := range progs {
			if _, err := exec.LookPath(p); err != nil {
				return p
			}
		}
		return ""
	}
	if missing() == "" {
		return
	}
	out, err := exec.Command("../../scripts/deps.sh", "routers").CombinedOutput()
	if p := missing(); p != "" {
		t.Skipf("end-to-end test with %s: %s is not installed and scripts/deps.sh routers could not install it (%v): %s", daemon, p, err, strings.TrimSpace(string(out)))
	}
}

// newRouterbed creates the testbed, replaces r1's static routes to h2's
// prefixes by the daemons' BGP routes, and returns once r1's kernel holds
// both with every path. Everything is removed when the test ends.
func newRouterbed(t *testing.T, opts routerOptions) *routerbed {
	t.Helper()
	if opts.R1 == "" {
		opts.R1 = frrDaemon
	}
	if opts.H2 == "" {
		opts.H2 = frrDaemon
	}
	if opts.BIRDScan == 0 {
		opts.BIRDScan = 10
	}
	requireRoot(t)
	requireDaemon(t, opts.R1)
	requireDaemon(t, opts.H2)
	tb := newTestbed(t)
	rb := &routerbed{testbed: tb, opts: opts}

	// Not t.TempDir: FRR drops to its own user, which must reach the directory.
	dir, err := os.MkdirTemp("", "lwtdump-routers-")
	if err != nil {
		t.Fatal(err)
	}
	rb.dir = dir
	t.Cleanup(func() {
		if t.Failed() {
			rb.logDaemons()
		}
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	r1 := func(args ...string) { tb.ip(append([]string{"-n", tb.r1}, args...)...) }
	h2 := func(args ...string) { tb.ip(append([]string{"-n", tb.h2}, args...)...) }
	r1("-6", "route", "del", bgpPrefix6)
	r1("-4", "route", "del", bgpPrefix4)
	if opts.ECMP {
		tb.ip("link", "add", "r1_h2b", "netns", tb.r1, "type", "veth", "peer", "name", "h2_r1b", "netns", tb.h2)
		r1("addr", "add", "2001:db8:3::2/64", "dev", "r1_h2b", "nodad")
		r1("addr", "add", "198.51.100.18/28", "dev", "r1_h2b")
		h2("addr", "add", "2001:db8:3::1/64", "dev", "h2_r1b", "nodad")
		h2("addr", "add", "198.51.100.17/28", "dev", "h2_r1b")
		r1("link", "set", "r1_h2b", "up")
		h2("link", "set", "h2_r1b", "up")
	}
	// h2 announces, r1 learns: start h2 first so that r1's first
	// connection attempt finds it listening.
	rb.startDaemon("h2", opts.H2)
	rb.startDaemon("r1", opts.R1)
	paths := 1
	if opts.ECMP {
		paths = 2
	}
	rb.waitRoute(bgpPrefix6, paths)
	rb.waitRoute(bgpPrefix4, paths)
	return rb
}

// in returns the routerbed for use by the subtest t.
func (rb *routerbed) in(t *testing.T) *routerbed {
	c := *rb
	c.testbed = rb.testbed.in(t)
	return &c
}

// ns is the namespace of a node ("r1" or "h2").
func (rb *routerbed) ns(node string) string {
	switch node {
	case "r1":
		return rb.r1
	case "h2":
		return rb.h2
	}
	rb.t.Fatalf("no routing daemon on node %q", node)
	return ""
}

// bgpNode is one side of the BGP sessions: its AS, router id and the
// addresses of its peers (one per link, both families).
type bgpNode struct {
	Node     string
	AS, Peer int
	RouterID string
	Peers6   []string
	Peers4   []string
	Announce bool   // announce h2's prefixes
	Dir      string // the node's directory (logs)
	Scan     int    // BIRD's kernel scan time
}

func (rb *routerbed) bgpNode(node string) bgpNode {
	n := bgpNode{Node: node, Dir: filepath.Join(rb.dir, node), Scan: rb.opts.BIRDScan}
	if node == "r1" {
		n.AS, n.Peer, n.RouterID = 64501, 64502, "192.0.2.2"
		n.Peers6, n.Peers4 = []string{"2001:db8:2::1"}, []string{"198.51.100.1"}
		if rb.opts.ECMP {
			n.Peers6, n.Peers4 = append(n.Peers6, "2001:db8:3::1"), append(n.Peers4, "198.51.100.17")
		}
	} else {
		n.AS, n.Peer, n.RouterID, n.Announce = 64502, 64501, "198.51.100.1", true
		n.Peers6, n.Peers4 = []string{"2001:db8:2::2"}, []string{"198.51.100.2"}
		if rb.opts.ECMP {
			n.Peers6, n.Peers4 = append(n.Peers6, "2001:db8:3::2"), append(n.Peers4, "198.51.100.18")
		}
	}
	return n
}

// frrBGPConfig is bgpd's configuration. The timers make sessions come up
// and updates go out at once. h2 announces its prefixes without having a
// route to them (no import check): it delivers to the addresses on its lo.
var frrBGPConfig = template.Must(template.New("bgpd").Parse(`frr defaults traditional
hostname {{.Node}}
!
router bgp {{.AS}}
 bgp router-id {{.RouterID}}
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
{{- range .Peers6}}
 neighbor {{.}} remote-as {{$.Peer}}
 neighbor {{.}} timers connect 1
 neighbor {{.}} advertisement-interval 0
{{- end}}
{{- range .Peers4}}
 neighbor {{.}} remote-as {{$.Peer}}
 neighbor {{.}} timers connect 1
 neighbor {{.}} advertisement-interval 0
{{- end}}
 address-family ipv6 unicast
{{- if .Announce}}
  network 2001:db8:20::/48
{{- end}}
{{- range .Peers6}}
  neighbor {{.}} activate
{{- end}}
 exit-address-family
 address-family ipv4 unicast
{{- if .Announce}}
  network 203.0.113.0/24
{{- end}}
{{- range .Peers4}}
  neighbor {{.}} activate
{{- end}}
 exit-address-family
!
`))

// frrZebraConfig is zebra's configuration: its kernel messages are logged,
// so that a test can say what zebra made of lwtdump's changes.
var frrZebraConfig = template.Must(template.New("zebra").Parse(`hostname {{.Node}}
debug zebra kernel
debug zebra nexthop
debug zebra rib
!
`))

// birdConfig is BIRD's configuration. On r1 its kernel protocols export
// the BGP routes (ECMP merged into one multipath route); on h2 two static
// protocols, s6 and s4, hold the prefixes that BGP announces.
var birdConfig = template.Must(template.New("bird").Parse(`router id {{.RouterID}};
log "{{.Dir}}/bird.log" all;
protocol device { }
{{- if .Announce}}
protocol static s6 { ipv6; route 2001:db8:20::/48 unreachable; }
protocol static s4 { ipv4; route 203.0.113.0/24 unreachable; }
{{- else}}
protocol kernel k6 { ipv6 { import none; export all; }; merge paths on; scan time {{.Scan}}; }
protocol kernel k4 { ipv4 { import none; export all; }; merge paths on; scan time {{.Scan}}; }
{{- end}}
{{- range $i, $p := .Peers6}}
protocol bgp peer6_{{$i}} {
	local as {{$.AS}}; neighbor {{$p}} as {{$.Peer}};
	connect retry time 1;
	ipv6 { import all; export {{if $.Announce}}where proto = "s6"{{else}}none{{end}}; };
}
{{- end}}
{{- range $i, $p := .Peers4}}
protocol bgp peer4_{{$i}} {
	local as {{$.AS}}; neighbor {{$p}} as {{$.Peer}};
	connect retry time 1;
	ipv4 { import all; export {{if $.Announce}}where proto = "s4"{{else}}none{{end}}; };
}
{{- end}}
`))

// startDaemon writes a node's configuration and starts its daemons in its
// namespace, stopped (SIGTERM, then SIGKILL) when the test ends.
func (rb *routerbed) startDaemon(node, daemon string) {
	rb.t.Helper()
	n := rb.bgpNode(node)
	if err := os.Mkdir(n.Dir, 0o755); err != nil {
		rb.t.Fatal(err)
	}
	write := func(name string, tmpl *template.Template) string {
		var b strings.Builder
		if err := tmpl.Execute(&b, n); err != nil {
			rb.t.Fatal(err)
		}
		path := filepath.Join(n.Dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			rb.t.Fatal(err)
		}
		return path
	}
	switch daemon {
	case frrDaemon:
		// FRR runs as its own user (root is not in its vty group): it
		// writes its pid files, sockets and logs in the node's directory.
		u, err := user.Lookup("frr")
		if err != nil {
			rb.t.Skipf("end-to-end test with FRR: no user frr (%v)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		zconf, bconf := write("zebra.conf", frrZebraConfig), write("bgpd.conf", frrBGPConfig)
		for _, p := range []string{n.Dir, zconf, bconf} {
			if err := os.Chown(p, uid, gid); err != nil {
				rb.t.Fatal(err)
			}
		}
		common := func(name string) []string {
			return []string{"-i", filepath.Join(n.Dir, name+".pid"), "-z", filepath.Join(n.Dir, "zserv.api"),
				"--vty_socket", n.Dir, "-P", "0", "--log", "file:" + filepath.Join(n.Dir, name+".log"), "--log-level", "debug"}
		}
		rb.spawn(node, "zebra", append([]string{"/usr/lib/frr/zebra", "-f", zconf}, common("zebra")...))
		// bgpd connects to zebra's socket: wait for it.
		rb.waitFor(node+" zebra's socket", 10*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(n.Dir, "zserv.api"))
			return err == nil
		})
		rb.spawn(node, "bgpd", append([]string{"/usr/lib/frr/bgpd", "-f", bconf}, common("bgpd")...))
	case birdDaemon:
		conf := write("bird.conf", birdConfig)
		rb.spawn(node, "bird", []string{"bird", "-f", "-c", conf, "-s", filepath.Join(n.Dir, "bird.ctl"), "-P", filepath.Join(n.Dir, "bird.pid")})
	}
}

// spawn runs a daemon in the foreground in a node's namespace (ip netns exec
// keeps its pid), with its output in the node's directory.
func (rb *routerbed) spawn(node, name string, argv []string) {
	rb.t.Helper()
	out, err := os.Create(filepath.Join(rb.dir, node, name+".out"))
	if err != nil {
		rb.t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", rb.ns(node)}, argv...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		rb.t.Fatalf("start %s on %s: %v", name, node, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	rb.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	// A daemon that refuses its configuration exits at once: say why.
	select {
	case <-done:
		b, _ := os.ReadFile(out.Name())
		rb.t.Fatalf("%s on %s exited at start: %s", name, node, b)
	case <-time.After(50 * time.Millisecond):
	}
}

// waitFor polls cond every 20 ms until it holds, failing the test after timeout.
func (rb *routerbed) waitFor(what string, timeout time.Duration, cond func() bool) {
	rb.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			rb.t.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kernelRoute is a route of `ip -j route show`, as much as the tests read.
type kernelRoute struct {
	Dst      string `json:"dst"`
	Nhid     int    `json:"nhid"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Protocol string `json:"protocol"`
	Metric   int    `json:"metric"`
	Nexthops []struct {
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
	} `json:"nexthops"`
}

// Paths is the number of the route's next hops.
func (r kernelRoute) Paths() int {
	if len(r.Nexthops) > 0 {
		return len(r.Nexthops)
	}
	return 1
}

// kernelRoutes returns r1's routes to exactly prefix in the main table.
func (rb *routerbed) kernelRoutes(prefix string) []kernelRoute {
	rb.t.Helper()
	family := "-4"
	if strings.Contains(prefix, ":") {
		family = "-6"
	}
	out, err := exec.Command("ip", "-n", rb.r1, "-j", family, "route", "show", "exact", prefix).Output()
	if err != nil {
		rb.t.Fatalf("ip route show exact %s: %v", prefix, err)
	}
	var routes []kernelRoute
	if err := json.Unmarshal(out, &routes); err != nil {
		rb.t.Fatalf("ip -j route show exact %s: %v: %s", prefix, err, out)
	}
	return routes
}

// routeLines returns r1's routes to exactly prefix in the main table as
// `ip route show` prints them.
func (rb *routerbed) routeLines(prefix string) string {
	rb.t.Helper()
	family := "-4"
	if strings.Contains(prefix, ":") {
		family = "-6"
	}
	return rb.ip("-n", rb.r1, family, "route", "show", "exact", prefix)
}

// bgpRoute returns r1's route to prefix that its daemon installed, and
// whether there is one.
func (rb *routerbed) bgpRoute(prefix string) (kernelRoute, bool) {
	rb.t.Helper()
	proto := "bgp"
	if rb.opts.R1 == birdDaemon {
		proto = "bird"
	}
	for _, r := range rb.kernelRoutes(prefix) {
		if r.Protocol == proto {
			return r, true
		}
	}
	return kernelRoute{}, false
}

// waitRoute waits (at most 60 s: BGP sessions must come up) until r1's
// kernel holds the daemon's route to prefix with paths next hops.
func (rb *routerbed) waitRoute(prefix string, paths int) kernelRoute {
	rb.t.Helper()
	var r kernelRoute
	rb.waitFor(fmt.Sprintf("r1's %s route to %s with %d paths", rb.opts.R1, prefix, paths), time.Minute, func() bool {
		var ok bool
		r, ok = rb.bgpRoute(prefix)
		return ok && r.Paths() == paths
	})
	return r
}

// waitNoRoute waits until r1's kernel holds no daemon route to prefix.
func (rb *routerbed) waitNoRoute(prefix string) {
	rb.t.Helper()
	rb.waitFor(fmt.Sprintf("no %s route to %s on r1", rb.opts.R1, prefix), time.Minute, func() bool {
		_, ok := rb.bgpRoute(prefix)
		return !ok
	})
}

// nexthops returns the nexthop objects of a namespace, as `ip nexthop show` prints them.
func (rb *routerbed) nexthops(ns string) string {
	rb.t.Helper()
	return rb.ip("-n", ns, "nexthop", "show")
}

// table is what a capture must leave exactly as it found it: every route
// of both families in every table, and every nexthop object.
func (rb *routerbed) table(ns string) string {
	rb.t.Helper()
	return rb.routes(ns) + "--- nexthops\n" + rb.nexthops(ns)
}

// requireTable fails the test when the namespace's routes or nexthops differ from before.
func (rb *routerbed) requireTable(ns, before string) {
	rb.t.Helper()
	if after := rb.table(ns); after != before {
		rb.t.Fatalf("routes and nexthops of %s changed:\n--- before\n%s--- after\n%s", ns, before, after)
	}
}

// vtysh runs FRR commands on a node and returns their output.
func (rb *routerbed) vtysh(node string, cmds ...string) string {
	rb.t.Helper()
	args := []string{"--vty_socket", filepath.Join(rb.dir, node)}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.Command("vtysh", args...).CombinedOutput()
	if err != nil {
		rb.t.Fatalf("vtysh on %s %q: %v\n%s", node, cmds, err, out)
	}
	return string(out)
}

// birdc runs a BIRD command on a node and returns its output.
func (rb *routerbed) birdc(node string, args ...string) string {
	rb.t.Helper()
	out, err := exec.Command("birdc", append([]string{"-s", filepath.Join(rb.dir, node, "bird.ctl")}, args...)...).CombinedOutput()
	if err != nil {
		rb.t.Fatalf("birdc on %s %q: %v\n%s", node, args, err, out)
	}
	return string(out)
}

// frrRIBEntry is one route of FRR's `show ip[v6] route PREFIX json`.
type frrRIBEntry struct {
	Prefix                  string `json:"prefix"`
	Protocol                string `json:"protocol"`
	Selected                bool   `json:"selected"`
	Installed               bool   `json:"installed"`
	NexthopGroupID          int    `json:"nexthopGroupId"`
	InstalledNexthopGroupID int    `json:"installedNexthopGroupId"`
	Nexthops                []struct {
		IP            string `json:"ip"`
		InterfaceName string `json:"interfaceName"`
		Active        bool   `json:"active"`
		FIB           bool   `json:"fib"`
	} `json:"nexthops"`
}

// frrRoute returns FRR's view on r1 of its routes to prefix (zebra's RIB).
func (rb *routerbed) frrRoute(prefix string) []frrRIBEntry {
	rb.t.Helper()
	family := "ipv6"
	if !strings.Contains(prefix, ":") {
		family = "ip"
	}
	out := rb.vtysh("r1", fmt.Sprintf("show %s route %s json", family, prefix))
	var rib map[string][]frrRIBEntry
	if err := json.Unmarshal([]byte(out), &rib); err != nil {
		rb.t.Fatalf("show %s route %s json: %v: %s", family, prefix, err, out)
	}
	return rib[prefix]
}

// requireFRRInstalled fails the test unless FRR on r1 has its BGP route to
// prefix selected and installed, with paths next hops in the FIB.
func (rb *routerbed) requireFRRInstalled(prefix string, paths int) {
	rb.t.Helper()
	for _, e := range rb.frrRoute(prefix) {
		if e.Protocol != "bgp" {
			continue
		}
		fib := 0
		for _, nh := range e.Nexthops {
			if nh.FIB {
				fib++
			}
		}
		if !e.Selected || !e.Installed || fib != paths {
			rb.t.Fatalf("FRR's route to %s: selected %v, installed %v, %d next hops in the FIB, want true, true, %d", prefix, e.Selected, e.Installed, fib, paths)
		}
		return
	}
	rb.t.Fatalf("FRR has no BGP route to %s: %+v", prefix, rb.frrRoute(prefix))
}

// withdraw makes h2 stop announcing prefix.
func (rb *routerbed) withdraw(prefix string) { rb.announcement(prefix, false) }

// announce makes h2 announce prefix again.
func (rb *routerbed) announce(prefix string) { rb.announcement(prefix, true) }

func (rb *routerbed) announcement(prefix string, on bool) {
	rb.t.Helper()
	family, static := "ipv6", "s6"
	if !strings.Contains(prefix, ":") {
		family, static = "ipv4", "s4"
	}
	switch rb.opts.H2 {
	case frrDaemon:
		network := "network " + prefix
		if !on {
			network = "no " + network
		}
		rb.vtysh("h2", "configure terminal", "router bgp 64502", "address-family "+family+" unicast", network)
	case birdDaemon:
		verb := "disable"
		if on {
			verb = "enable"
		}
		rb.birdc("h2", verb, static)
	}
}

// daemonLog returns a log of a node's daemon: "zebra", "bgpd" or "bird".
func (rb *routerbed) daemonLog(node, name string) string {
	b, _ := os.ReadFile(filepath.Join(rb.dir, node, name+".log"))
	return string(b)
}

// logMark is a place in the logs of a node's daemons.
type logMark map[string]int

// markLogs returns the end of every log of a node's daemons, for logSince.
func (rb *routerbed) markLogs(node string) logMark {
	m := logMark{}
	for _, name := range []string{"zebra", "bgpd", "bird"} {
		m[name] = len(rb.daemonLog(node, name))
	}
	return m
}

// logSince returns what the daemon name ("zebra", "bgpd" or "bird") of a
// node logged since the mark.
func (rb *routerbed) logSince(node, name string, m logMark) string {
	l := rb.daemonLog(node, name)
	if m[name] > len(l) {
		return l
	}
	return l[m[name]:]
}

// logDaemons writes the daemons' logs and output into the test's log.
func (rb *routerbed) logDaemons() {
	for _, node := range []string{"r1", "h2"} {
		logs, _ := filepath.Glob(filepath.Join(rb.dir, node, "*.log"))
		outs, _ := filepath.Glob(filepath.Join(rb.dir, node, "*.out"))
		for _, f := range append(logs, outs...) {
			b, _ := os.ReadFile(f)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			rb.t.Logf("--- %s %s (the end)\n%s", node, filepath.Base(f), b)
		}
	}
}

// The harness itself: FRR and BIRD on r1, each with one path and with two,
// install h2's prefixes in their way (FRR on nexthop objects, BIRD as plain
// and RTA_MULTIPATH routes), traffic flows through them, FRR says they are
// selected and installed, and a withdraw and re-announce on h2 removes and
// puts back r1's route.
func TestRouterbed(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts routerOptions
	}{
		{"frr", routerOptions{}},
		{"frr-ecmp", routerOptions{ECMP: true}},
		{"bird-frr", routerOptions{R1: birdDaemon}},
		{"bird-ecmp-bird", routerOptions{R1: birdDaemon, H2: birdDaemon, ECMP: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := newRouterbed(t, tc.opts)
			paths := 1
			if tc.opts.ECMP {
				paths = 2
			}
			for _, prefix := range []string{bgpPrefix6, bgpPrefix4} {
				r, _ := rb.bgpRoute(prefix)
				if onNexthop := r.Nhid != 0; onNexthop != (rb.opts.R1 == frrDaemon) {
					t.Errorf("%s route to %s: nhid %d", rb.opts.R1, prefix, r.Nhid)
				}
				if rb.opts.R1 == frrDaemon {
					rb.requireFRRInstalled(prefix, paths)
				}
			}
			for _, dst := range []string{bgpHost6, bgpHost4} {
				if got := rb.ping(rb.h1, dst, 2); got != 2 {
					t.Errorf("%d of 2 pings to %s answered", got, dst)
				}
			}
			rb.withdraw(bgpPrefix6)
			rb.waitNoRoute(bgpPrefix6)
			rb.announce(bgpPrefix6)
			rb.waitRoute(bgpPrefix6, paths)
		})
	}
}

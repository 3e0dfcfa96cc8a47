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

// routeShape is a route on r1 that h1's traffic to dst takes.
type routeShape struct {
	name  string
	setup [][]string // ip arguments run in r1 first
	route string     // the -i argument
	table string     // --table, "" for main
	dst   string     // an address of h2 behind the route
}

// The shapes of route a capture must put back exactly.
var routeShapes = []routeShape{
	{name: "ipv6-connected", route: "2001:db8:2::/64", dst: "2001:db8:2::1"}, // proto kernel metric 256
	{name: "ipv4-connected", route: "198.51.100.0/28", dst: "198.51.100.1"},  // proto kernel scope link src
	{name: "ipv6-gateway", route: "2001:db8:20::/48", dst: "2001:db8:20::1"},
	{name: "ipv4-gateway", route: "203.0.113.0/24", dst: "203.0.113.1"},
	{name: "ipv6-proto-metric", route: "2001:db8:20::/48", dst: "2001:db8:20::1", setup: [][]string{
		{"-6", "route", "del", "2001:db8:20::/48"},
		{"-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "proto", "static", "metric", "50"},
	}},
	{name: "ipv4-proto-metric", route: "203.0.113.0/24", dst: "203.0.113.1", setup: [][]string{
		{"-4", "route", "del", "203.0.113.0/24"},
		{"-4", "route", "add", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "proto", "static", "metric", "50"},
	}},
	{name: "ipv6-pref-high", route: "2001:db8:20::/48", dst: "2001:db8:20::1", setup: [][]string{
		{"-6", "route", "replace", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "metric", "1024", "pref", "high"},
	}},
	{name: "ipv6-src", route: "2001:db8:20::/48", dst: "2001:db8:20::1", setup: [][]string{
		{"-6", "route", "replace", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "metric", "1024", "src", "2001:db8:2::2"},
	}},
	{name: "ipv4-src", route: "203.0.113.0/24", dst: "203.0.113.1", setup: [][]string{
		{"-4", "route", "replace", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "src", "198.51.100.2"},
	}},
	{name: "ipv4-onlink-mtu", route: "203.0.113.0/24", dst: "203.0.113.1", setup: [][]string{
		{"-4", "route", "replace", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "onlink", "mtu", "1400"},
	}},
	{name: "ipv4-appended", route: "203.0.113.0/24", dst: "203.0.113.1", setup: [][]string{
		// Two IPv4 routes with one metric (`ip route append`): the
		// capture takes the first, which the kernel uses, and leaves the
		// second alone.
		{"-4", "route", "append", "203.0.113.0/24", "via", "192.0.2.1", "dev", "r1_h1"},
	}},
	{name: "ipv6-backup-metric", route: "2001:db8:20::/48", dst: "2001:db8:20::1", setup: [][]string{
		// A second route to the prefix: the capture takes the one in use
		// (metric 1024) and leaves this one alone.
		{"-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "proto", "static", "metric", "2048"},
	}},
	{name: "ipv6-table100", route: "2001:db8:20::/48", table: "100", dst: "2001:db8:20::1", setup: [][]string{
		{"-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2", "table", "100", "proto", "static"},
		{"-6", "rule", "add", "iif", "r1_h1", "lookup", "100", "pref", "100"},
	}},
	{name: "ipv4-table100", route: "203.0.113.0/24", table: "100", dst: "203.0.113.1", setup: [][]string{
		{"-4", "route", "add", "203.0.113.0/24", "via", "198.51.100.1", "dev", "r1_h2", "table", "100", "proto", "static"},
		{"-4", "rule", "add", "iif", "r1_h1", "lookup", "100", "pref", "100"},
	}},
}

// Every route shape, captured at one hook (in turn xmit, in, out) and
// stopped with SIGINT, then at all three hooks at once and stopped with
// SIGTERM: forwarded packets reach each hook's own interface, with the
// hook in the comment, and `ip route show table all` is byte for byte what
// it was. That is every shape at every hook, and both signals in both
// families, without the whole product of shapes, hooks and signals.
func TestCaptureRouteShapes(t *testing.T) {
	single := []string{"xmit", "in", "out"}
	for i, shape := range routeShapes {
		t.Run(shape.name, func(t *testing.T) {
			tb := newTestbed(t)
			for _, args := range shape.setup {
				tb.ip(append([]string{"-n", tb.r1}, args...)...)
			}
			before := tb.routes(tb.r1)
			for _, run := range []struct {
				hooks string
				sig   syscall.Signal
			}{
				{single[i%len(single)], syscall.SIGINT},
				{"in,out,xmit", syscall.SIGTERM},
			} {
				t.Logf("--hook %s, stopped with %s", run.hooks, run.sig)
				out := filepath.Join(t.TempDir(), "out.pcapng")
				args := []string{"-i", shape.route, "--hook", run.hooks, "--netns", tb.r1, "-w", out}
				if shape.table != "" {
					args = append(args, "--table", shape.table)
				}
				p := startLwtdump(t, tb.launch(), args...)
				table := shape.table
				if table == "" {
					table = "main"
				}
				family := "-4"
				if strings.Contains(shape.route, ":") {
					family = "-6"
				}
				shown := tb.ip("-n", tb.r1, family, "route", "show", "table", table, shape.route)
				for _, h := range strings.Split(run.hooks, ",") {
					if want := fmt.Sprintf(" %s lwtdump:%d:%s", h, p.cmd.Process.Pid, h); !strings.Contains(shown, want) {
						t.Errorf("route while capturing has no %q: %s", want, shown)
					}
				}
				const n = 3
				if got := tb.ping(tb.h1, shape.dst, n); got != n {
					t.Errorf("%d of %d pings answered while capturing", got, n)
				}
				if code := p.stop(run.sig); code != 0 {
					t.Fatalf("exit code %d after %s\nstderr: %s", code, run.sig, p.stderr.String())
				}
				tb.requireRoutes(tb.r1, before)
				if files := tb.stateFiles(); len(files) != 0 {
					t.Errorf("state files left: %v", files)
				}
				got := echoRequests(t, out)
				for _, h := range strings.Split(run.hooks, ",") {
					key := fmt.Sprintf("lwt_%s:%s@r1_h2 hook=lwt_%s", h, shape.route, h)
					if got[key] != n {
						t.Errorf("%d echo requests at %s, want %d (all: %v)", got[key], key, n, got)
					}
				}
				if total := sum(got); total != n*len(strings.Split(run.hooks, ",")) {
					t.Errorf("%d echo requests in the capture: %v", total, got)
				}
			}
		})
	}
}

// echoRequests counts the echo requests (ICMP and ICMPv6) of a capture by
// pcapng interface name and the hook its comment names: "lwt_in:P@D hook=lwt_in".
func echoRequests(t *testing.T, file string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, row := range tsharkFields(t, file, []string{"-Y", "icmp.type == 8 || icmpv6.type == 128"}, "frame.interface_name", "frame.comment") {
		hook, _, _ := strings.Cut(row[1], " ")
		counts[row[0]+" "+hook]++
	}
	return counts
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Routes that cannot be put back exactly, or whose forwarding an encap would
// change, are refused with one line and exit code 2, and nothing changes.
func TestCaptureRefusals(t *testing.T) {
	tb := newTestbed(t)
	r1 := func(args ...string) { tb.ip(append([]string{"-n", tb.r1}, args...)...) }
	r1("nexthop", "add", "id", "10", "encap", "seg6", "mode", "encap", "segs", "2001:db8:f1::1", "via", "2001:db8:2::1", "dev", "r1_h2")
	r1("-6", "route", "add", "2001:db8:24::/64", "nhid", "10")
	r1("-6", "route", "add", "2001:db8:28::/64", "nexthop", "encap", "seg6", "mode", "encap", "segs", "2001:db8:f1::1", "via", "2001:db8:2::1", "dev", "r1_h2",
		"nexthop", "via", "2001:db8:1::1", "dev", "r1_h1")
	r1("-6", "route", "add", "2001:db8:25::/64", "via", "2001:db8:2::1", "dev", "r1_h2", "expires", "600")
	r1("-6", "route", "add", "2001:db8:27::/64", "encap", "seg6local", "action", "End", "dev", "r1_h1")
	// The other refusals (seg6 encap, IPv6 multipath, no route, another
	// device, a route twice, unknown device or namespace) are in
	// TestBadCommandLines.
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"seg6local", []string{"-i", "2001:db8:27::/64"}, "route 2001:db8:27::/64 already has an encap (seg6local)"},
		{"multipath-encap", []string{"-i", "2001:db8:28::/64"}, "route 2001:db8:28::/64 already has an encap (seg6) on path 1"},
		{"nexthop-object-encap", []string{"-i", "2001:db8:24::/64"}, "route 2001:db8:24::/64 uses nexthop object 10, which already has an encap (seg6)"},
		{"expiring", []string{"-i", "2001:db8:25::/64"}, "route 2001:db8:25::/64 expires"},
		{"after-a-good-one", []string{"-i", "203.0.113.0/24", "-i", "2001:db8:24::/64"}, "route 2001:db8:24::/64 uses nexthop object 10"},
	}
	if tb.tryIP("-n", tb.r1, "-4", "route", "add", "203.0.113.64/26", "encap", "mpls", "100", "via", "198.51.100.1", "dev", "r1_h2") {
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"mpls-encap", []string{"-i", "203.0.113.64/26"}, "route 203.0.113.64/26 already has an encap (mpls)"})
	} else {
		t.Log("mpls encap not available in this kernel (CONFIG_MPLS_IPTUNNEL): the mpls case is skipped")
	}
	if obj := foreignBPFObject(t); obj != "" {
		r1("-6", "route", "add", "2001:db8:26::/64", "encap", "bpf", "xmit", "obj", obj, "section", "lwt_xmit", "dev", "r1_h2")
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"other-bpf", []string{"-i", "2001:db8:26::/64"}, "route 2001:db8:26::/64 already has an encap (bpf)"})
	}
	// The expiring route counts its seconds down in `ip route`: compare
	// everything else byte for byte.
	expires := regexp.MustCompile(`expires \d+sec`)
	routes := func(tb *testbed) string { return expires.ReplaceAllString(tb.routes(tb.r1), "expires Nsec") }
	before := routes(tb)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := tb.in(t)
			args := tc.args
			if !slices.Contains(args, "--netns") {
				args = append(args, "--netns", tb.r1)
			}
			code, stdout, stderr := runLwtdump(t, tb.launch(), append(args, "-w", filepath.Join(t.TempDir(), "out.pcapng"))...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "lwtdump: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want one line with %q (stdout %q)", stderr, tc.want, stdout)
			}
			if after := routes(tb); after != before {
				t.Fatalf("route table of r1 changed:\n--- before\n%s--- after\n%s", before, after)
			}
			if files := tb.stateFiles(); len(files) != 0 {
				t.Errorf("state files left: %v", files)
			}
		})
	}
}

// tryIP runs ip(8) and reports whether it succeeded.
func (tb *testbed) tryIP(args ...string) bool {
	tb.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		tb.t.Logf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return err == nil
}

// foreignBPFObject builds an lwt_xmit program that is not lwtdump's, for
// `ip route ... encap bpf xmit obj`, or returns "" (and says why) when clang
// is missing.
func foreignBPFObject(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		t.Log("clang is not installed: the case of another program's bpf encap is skipped")
		return ""
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "pass.c")
	// No headers: returns BPF_OK (0), so the route forwards as without it.
	const prog = `struct __sk_buff;
__attribute__((section("lwt_xmit"), used)) int pass(struct __sk_buff *skb) { return 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
`
	if err := os.WriteFile(src, []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "pass.o")
	if out, err := exec.Command("clang", "-O2", "-g", "-target", "bpf", "-c", src, "-o", obj).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	return obj
}

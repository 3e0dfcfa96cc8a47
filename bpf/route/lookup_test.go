package route

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var netnsCounter atomic.Int32

// testNetns creates a network namespace joined to a second one by two
// veth pairs: d0 (2001:db8:2::2/64, 198.51.100.2/28) - d1 (2001:db8:2::1,
// 198.51.100.1) and v0 (2001:db8:3::2/64, 198.51.100.18/28) - v1
// (2001:db8:3::1, 198.51.100.17), runs the ip commands of setup in the
// first ("netns exec NETNS CMD" runs CMD in it), and returns a handle to it.
// Both are removed when the test ends.
func testNetns(t *testing.T, setup ...string) *Handle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace and its routes")
	}
	name := fmt.Sprintf("lwtdrt%d-%d", os.Getpid(), netnsCounter.Add(1))
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", name).Run()
		exec.Command("ip", "netns", "del", name+"-peer").Run()
	})
	ip("netns", "add", name)
	ip("netns", "add", name+"-peer")
	// Link-local addresses without duplicate address detection: at once,
	// not in the middle of the test.
	ip("netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	ip("-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1", "netns", name+"-peer")
	ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", name+"-peer")
	ip("-n", name, "addr", "add", "2001:db8:2::2/64", "dev", "d0", "nodad")
	ip("-n", name, "addr", "add", "198.51.100.2/28", "dev", "d0")
	ip("-n", name, "addr", "add", "2001:db8:3::2/64", "dev", "v0", "nodad")
	ip("-n", name, "addr", "add", "198.51.100.18/28", "dev", "v0")
	ip("-n", name+"-peer", "addr", "add", "2001:db8:2::1/64", "dev", "d1", "nodad")
	ip("-n", name+"-peer", "addr", "add", "198.51.100.1/28", "dev", "d1")
	ip("-n", name+"-peer", "addr", "add", "2001:db8:3::1/64", "dev", "v1", "nodad")
	ip("-n", name+"-peer", "addr", "add", "198.51.100.17/28", "dev", "v1")
	for _, l := range []string{"lo", "d0", "v0"} {
		ip("-n", name, "link", "set", l, "up")
	}
	ip("-n", name+"-peer", "link", "set", "d1", "up")
	ip("-n", name+"-peer", "link", "set", "v1", "up")
	// Routes through a device without carrier are dumped as linkdown, and
	// a link gets its link-local address when it comes up: wait for both
	// links' carrier and addresses, so that nothing changes under the test.
	for i := 0; ; i++ {
		links, _ := exec.Command("ip", "-n", name, "-o", "link", "show").Output()
		addrs, _ := exec.Command("ip", "-n", name, "-o", "-6", "addr", "show", "scope", "link").Output()
		if strings.Count(string(links), "LOWER_UP") >= 3 && strings.Count(string(addrs), "fe80::") >= 2 { // lo, d0, v0
			break
		}
		if i == 250 {
			t.Fatalf("d0 and v0 not up after 5 s:\n%s%s", links, addrs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range setup {
		if cmd, ok := strings.CutPrefix(line, "netns exec NETNS "); ok {
			ip(append([]string{"netns", "exec", name}, strings.Fields(cmd)...)...)
			continue
		}
		ip(append([]string{"-n", name}, strings.Fields(line)...)...)
	}
	h, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Routes finds a route by a lookup or, where the lookup cannot answer, by
// a dump of its table, and finds nothing where there is nothing.
func TestRoutes(t *testing.T) {
	h := testNetns(t,
		"-6 route add 2001:db8:20::/48 via 2001:db8:2::1 dev d0",
		"-6 route add 2001:db8:20::/48 via 2001:db8:2::1 dev d0 metric 2048",
		"-6 route add 2001:db8:20::/64 via 2001:db8:2::1 dev d0", // more specific: the lookup moves past it
		"-6 route add 2001:db8:20::/48 via 2001:db8:2::1 dev d0 table 100",
		"-4 route add 203.0.113.0/24 via 198.51.100.1 dev d0",
		"-4 route add 203.0.113.0/24 via 198.51.100.1 dev d0 table 1000",
		"-4 route add blackhole 192.0.2.0/24",
		"-6 route add 2001:db8:40::/48 via 2001:db8:2::1 dev d0 proto static metric 30",
		"-6 route add 2001:db8:40::/48 via 2001:db8:3::1 dev v0 proto static metric 10",
	)
	for _, tc := range []struct {
		prefix string
		table  uint32
		want   []string // Key().String() of each route found
	}{
		{"2001:db8:20::/48", 254, []string{"2001:db8:20::/48 (table 254, metric 1024)"}},
		{"2001:db8:20::/64", 254, []string{"2001:db8:20::/64 (table 254, metric 1024)"}},
		{"2001:db8:20::/48", 100, []string{"2001:db8:20::/48 (table 100, metric 1024)"}},
		{"2001:db8:2::/64", 254, []string{"2001:db8:2::/64 (table 254, metric 256)"}}, // 2001:db8:2:: is an anycast address of the local table
		{"198.51.100.0/28", 254, []string{"198.51.100.0/28 (table 254, metric 0)"}},
		{"203.0.113.0/24", 254, []string{"203.0.113.0/24 (table 254, metric 0)"}},
		{"203.0.113.0/24", 1000, []string{"203.0.113.0/24 (table 1000, metric 0)"}},
		{"2001:db8:40::/48", 254, []string{"2001:db8:40::/48 (table 254, metric 10)"}},
		{"2001:db8:21::/48", 254, nil},
		{"192.0.2.0/24", 254, nil}, // a blackhole is no unicast route
		{"2001:db8:20::/48", 200, nil},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.prefix, tc.table), func(t *testing.T) {
			routes, err := h.Routes(netip.MustParsePrefix(tc.prefix), tc.table)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range routes {
				got = append(got, r.Key().String())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("routes %v, want %v", got, tc.want)
			}
		})
	}

	// A route behind another at a lower metric: a lookup by its key finds it.
	backup := Key{Table: 254, Dst: netip.MustParsePrefix("2001:db8:20::/48"), Metric: 2048}
	if r, err := h.LookupKey(backup); err != nil || r == nil || r.Key() != backup {
		t.Errorf("LookupKey(%s) = %v, %v", backup, r, err)
	}
	missing := Key{Table: 254, Dst: netip.MustParsePrefix("2001:db8:20::/48"), Metric: 7}
	if r, err := h.LookupKey(missing); err != nil || r != nil {
		t.Errorf("LookupKey(%s) = %v, %v", missing, r, err)
	}
	// The lookup answers as a dump does.
	looked, _, _ := h.fibMatch(netip.MustParsePrefix("2001:db8:20::/48"), 254)
	scanned, _ := h.scan(netip.MustParsePrefix("2001:db8:20::/48"), 254)
	if looked == nil || len(scanned) != 2 || !Equal(looked, scanned[0]) {
		t.Errorf("lookup %v, dump %v", looked, scanned)
	}
}

// The last address of a prefix.
func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"2001:db8:20::/64": "2001:db8:20:0:ffff:ffff:ffff:ffff",
		"203.0.113.0/24":   "203.0.113.255",
		"203.0.113.7/32":   "203.0.113.7",
		"::/0":             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		if got := lastAddr(netip.MustParsePrefix(p)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", p, got, want)
		}
	}
}

// Walk reads every route with a program, of any table, without keeping the others.
func TestWalkPrograms(t *testing.T) {
	h := testNetns(t,
		"-6 route add 2001:db8:20::/48 via 2001:db8:2::1 dev d0",
		"-6 route add 2001:db8:21::/48 encap seg6 mode encap segs 2001:db8:f1::1 via 2001:db8:2::1 dev d0",
	)
	seen := 0
	err := h.Walk(unix.AF_INET6, 0, func(m RouteMsg) (bool, error) { seen++; return m.HasPrograms(), nil }, func(r *Route) error {
		t.Errorf("kept %s, which has no program", r)
		return nil
	})
	if err != nil || seen < 3 {
		t.Errorf("Walk: %v, %d routes seen", err, seen)
	}
}

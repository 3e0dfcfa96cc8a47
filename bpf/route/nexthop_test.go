package route

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// testEncap is a bpf encap whose lwt_xmit program returns BPF_OK, named
// like lwtdump's ("lwtdump:1:xmit").
func testEncap(t *testing.T) Encap {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.LWTXmit,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License:      "GPL",
	})
	if err != nil {
		t.Skipf("load a BPF program: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	var e netlink.BpfEncap
	if err := e.SetProg(nl.LWT_BPF_XMIT, prog.FD(), "lwtdump:1:xmit"); err != nil {
		t.Fatal(err)
	}
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: data}
}

// snapshot is every route of both families in every table and every
// nexthop of the handle's namespace, as ip prints them with details.
func snapshot(t *testing.T, h *Handle) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{{"-6", "route", "show", "table", "all"}, {"-4", "route", "show", "table", "all"}, {"nexthop", "show"}} {
		out, err := exec.Command("ip", append([]string{"-d", "-n", h.Netns()}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
		b.Write(out)
	}
	return b.String()
}

// A capture's change of a route on a nexthop object, a nexthop group
// (multipath and resilient, with weights), and of a plain multipath route:
// the route carries the encap on every path, the nexthop objects it shared
// with another route are untouched (and so is that route), and Undo puts
// every route and nexthop back as it was.
func TestNexthopCapture(t *testing.T) {
	t.Run("compat", func(t *testing.T) { testNexthopCapture(t, "1") })
	// Route dumps without the nexthops' gateways, devices and encaps.
	t.Run("no-compat", func(t *testing.T) { testNexthopCapture(t, "0") })
}

func testNexthopCapture(t *testing.T, compat string) {
	h := testNetns(t,
		"netns exec NETNS sysctl -qw net.ipv4.nexthop_compat_mode="+compat,
		"nexthop add id 11 via 2001:db8:2::1 dev d0",
		"nexthop add id 12 via 2001:db8:3::1 dev v0",
		"nexthop add id 13 group 11,1/12,3",
		"nexthop add id 14 group 11/12 type resilient buckets 32 idle_timer 100",
		"nexthop add id 21 via 198.51.100.1 dev d0 onlink",
		"-6 route add 2001:db8:20::/48 nhid 13 proto bgp metric 20",
		"-6 route add 2001:db8:21::/48 nhid 13 proto bgp metric 20",
		"-6 route add 2001:db8:22::/48 nhid 14 proto bgp metric 20",
		"-6 route add 2001:db8:23::/48 nhid 11 proto bgp metric 20",
		"-4 route add 203.0.113.0/24 nhid 21 proto bgp metric 20",
		"-6 route add 2001:db8:24::/48 proto bird metric 32 nexthop via 2001:db8:2::1 dev d0 weight 1 nexthop via 2001:db8:3::1 dev v0 weight 3",
		"-4 route add 198.51.100.64/26 proto bird nexthop via 198.51.100.1 dev d0 nexthop via 198.51.100.17 dev v0 onlink",
	)
	e := testEncap(t)
	before := snapshot(t, h)
	for _, tc := range []struct {
		prefix string
		copies int // nexthop objects lwtdump creates
		paths  int // paths of the route
	}{
		{"2001:db8:20::/48", 3, 2},
		{"2001:db8:22::/48", 3, 2},
		{"2001:db8:23::/48", 1, 1},
		{"203.0.113.0/24", 1, 1},
		{"2001:db8:24::/48", 0, 2},
		{"198.51.100.64/26", 0, 2},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			routes, err := h.Routes(netip.MustParsePrefix(tc.prefix), 254)
			if err != nil || len(routes) != 1 {
				t.Fatalf("routes %v, %v", routes, err)
			}
			orig := routes[0]
			if err := CheckReplaceable(orig); err != nil {
				t.Fatal(err)
			}
			if err := h.CheckNexthops(orig); err != nil {
				t.Fatal(err)
			}
			c, err := h.PlanReplace(orig, e)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Nexthops) != tc.copies {
				t.Errorf("%d nexthop copies planned, want %d", len(c.Nexthops), tc.copies)
			}
			if err := h.Apply(c, nil); err != nil {
				t.Fatal(err)
			}
			cur, err := h.Lookup(c.Installed)
			if err != nil || !c.Owns(cur) {
				t.Fatalf("route after Apply: %v, %v", cur, err)
			}
			progs := 0
			for _, p := range cur.Paths() {
				progs += len(encapPrograms(p.encapType(), p.attr(unix.RTA_ENCAP)))
			}
			if len(cur.Paths()) == 0 {
				progs = len(cur.Programs())
			}
			if compat == "0" && tc.copies > 0 {
				progs = tc.paths // the dump does not show them: the nexthops have them
				for _, cp := range c.Nexthops {
					if n, err := h.GetNexthop(cp.Nexthop.ID()); err != nil || n == nil || !ownsNexthop(n, cp.Nexthop) {
						t.Errorf("nexthop copy %d: %v, %v", cp.Nexthop.ID(), n, err)
					}
				}
			}
			if progs != tc.paths {
				t.Errorf("the encap is on %d paths, want %d: %s", progs, tc.paths, snapshot(t, h))
			}
			for _, cp := range c.Nexthops {
				if id := cp.Nexthop.ID(); id < NexthopIDMin {
					t.Errorf("nexthop copy id %d is below lwtdump's range", id)
				}
			}
			during := snapshot(t, h)
			for _, shared := range []string{"2001:db8:21::/48 nhid 13 ", "id 13 group 11/12,3 ", "id 11 via 2001:db8:2::1 dev d0 "} {
				if !strings.Contains(during, shared) {
					t.Errorf("%q changed during the capture:\n%s", shared, during)
				}
			}
			if err := h.Undo(c); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, h); after != before {
				t.Fatalf("not restored:\n--- before\n%s--- after\n%s", before, after)
			}
		})
	}
}

// A nexthop id that another process takes between the plan and Apply is
// chosen again: the state is recorded again with the new ids before they
// are used, the other process's nexthop is left alone, and Undo restores.
func TestNexthopIDTaken(t *testing.T) {
	h := testNetns(t,
		"nexthop add id 11 via 2001:db8:2::1 dev d0",
		"nexthop add id 12 via 2001:db8:3::1 dev v0",
		"nexthop add id 13 group 11/12",
		"-6 route add 2001:db8:20::/48 nhid 13 proto bgp metric 20",
	)
	e := testEncap(t)
	routes, err := h.Routes(netip.MustParsePrefix("2001:db8:20::/48"), 254)
	if err != nil || len(routes) != 1 {
		t.Fatalf("routes %v, %v", routes, err)
	}
	c, err := h.PlanReplace(routes[0], e)
	if err != nil {
		t.Fatal(err)
	}
	taken := c.Nexthops[0].Nexthop.ID()
	if out, err := exec.Command("ip", "-n", h.Netns(), "nexthop", "add", "id", fmt.Sprint(taken), "via", "2001:db8:3::1", "dev", "v0").CombinedOutput(); err != nil {
		t.Fatalf("take nexthop id %d: %v\n%s", taken, err, out)
	}
	before := snapshot(t, h)
	var recorded []uint32
	err = h.Apply(c, func(c *Change) error {
		recorded = append(recorded, c.Nexthops[0].Nexthop.ID())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 1 || recorded[0] == taken || c.Nexthops[0].Nexthop.ID() != recorded[0] {
		t.Errorf("recorded ids %v, taken %d, used %d", recorded, taken, c.Nexthops[0].Nexthop.ID())
	}
	if g := c.Nexthops[2].Nexthop.Group(); g[0].Id != recorded[0] {
		t.Errorf("the group's copy holds %d, not the new id %d", g[0].Id, recorded[0])
	}
	if err := h.Undo(c); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, h); after != before {
		t.Fatalf("not restored:\n--- before\n%s--- after\n%s", before, after)
	}
}

// Nexthops that cannot carry lwtdump's encap are refused before anything changes.
func TestCheckNexthops(t *testing.T) {
	h := testNetns(t,
		"nexthop add id 11 via 2001:db8:2::1 dev d0",
		"nexthop add id 12 blackhole",
		"nexthop add id 13 encap seg6 mode encap segs 2001:db8:f1::1 via 2001:db8:3::1 dev v0",
		"nexthop add id 14 group 11/13",
		"-4 route add 203.0.113.0/24 nhid 12",
		"-6 route add 2001:db8:20::/48 nhid 14",
	)
	for prefix, want := range map[string]string{
		"2001:db8:20::/48": "nexthop 13 already has an encap (seg6)",
	} {
		routes, err := h.Routes(netip.MustParsePrefix(prefix), 254)
		if err != nil || len(routes) != 1 {
			t.Fatalf("routes to %s: %v, %v", prefix, routes, err)
		}
		err = h.CheckNexthops(routes[0])
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", prefix, err, want)
		}
	}
	// A route on a blackhole nexthop is a blackhole route: no unicast route to capture.
	if routes, err := h.Routes(netip.MustParsePrefix("203.0.113.0/24"), 254); err != nil || len(routes) != 0 {
		t.Errorf("routes to a blackhole nexthop: %v, %v", routes, err)
	}
}

// CheckCopies tells whether a change's copies still forward as the nexthop
// objects they copy, after each change another process may make to those
// objects, and DeleteCopies deletes the copies of a route that left them.
func TestCheckCopies(t *testing.T) {
	h := testNetns(t,
		"nexthop add id 11 via 2001:db8:2::1 dev d0",
		"nexthop add id 12 via 2001:db8:3::1 dev v0",
		"nexthop add id 13 group 11,1/12,3",
		"-6 route add 2001:db8:20::/48 nhid 13 proto bgp metric 20",
		"-6 route add 2001:db8:21::/48 nhid 11 proto bgp metric 20",
	)
	e := testEncap(t)
	var group, single *Change
	for _, c := range []struct {
		prefix string
		ch     **Change
	}{{"2001:db8:20::/48", &group}, {"2001:db8:21::/48", &single}} {
		routes, err := h.Routes(netip.MustParsePrefix(c.prefix), 254)
		if err != nil || len(routes) != 1 {
			t.Fatalf("routes to %s: %v, %v", c.prefix, routes, err)
		}
		if *c.ch, err = h.PlanReplace(routes[0], e); err != nil {
			t.Fatal(err)
		}
		if err := h.Apply(*c.ch, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := group.Copied(); len(got) != 3 || got[0] != 11 || got[1] != 12 || got[2] != 13 {
		t.Errorf("Copied() = %v, want [11 12 13]", got)
	}
	for _, step := range []struct {
		ip            string // what another process does, in the namespace
		group, single CopyState
	}{
		{"", CopiesCurrent, CopiesCurrent},
		{"nexthop replace id 11 via 2001:db8:2::1 dev d0", CopiesCurrent, CopiesCurrent}, // the same again
		{"nexthop replace id 13 group 11,2/12,3", CopiesStale, CopiesCurrent},            // a weight
		{"nexthop replace id 11 via 2001:db8:2::5 dev d0", CopiesStale, CopiesStale},     // a gateway
		{"nexthop del id 12", CopiesStale, CopiesStale},                                  // a member, out of the group
		{"nexthop del id 13", NexthopGone, CopiesStale},
		{"nexthop replace id 11 blackhole", NexthopGone, CopiesStale},
		{"nexthop del id 11", NexthopGone, NexthopGone},
	} {
		if step.ip != "" {
			if out, err := exec.Command("ip", append([]string{"-n", h.Netns()}, strings.Fields(step.ip)...)...).CombinedOutput(); err != nil {
				t.Fatalf("ip %s: %v\n%s", step.ip, err, out)
			}
		}
		for _, c := range []struct {
			ch   *Change
			want CopyState
		}{{group, step.group}, {single, step.single}} {
			got, err := h.CheckCopies(c.ch)
			if err != nil || got != c.want {
				t.Errorf("after %q: CheckCopies(%s) = %v, %v, want %v", step.ip, c.ch.Installed.Dst(), got, err, c.want)
			}
		}
	}
	// The routes are still on the copies, which the kernel keeps: deleting
	// the copies of one deletes the route with them, and leaves the other's.
	if err := h.DeleteCopies(single); err != nil {
		t.Fatal(err)
	}
	if cur, err := h.Lookup(single.Installed); err != nil || cur != nil {
		t.Errorf("route on deleted copies: %v, %v", cur, err)
	}
	if owned, err := h.Owned(group); err != nil || !owned {
		t.Errorf("the other route: owned %v, %v", owned, err)
	}
}

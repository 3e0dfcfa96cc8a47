package route

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// testRoute builds a dumped-looking route: 2001:db8:20::/48 via
// 2001:db8:2::1 dev 3 metric 1024 pref medium, with cache info.
func testRoute() *Route {
	r := &Route{Msg: nl.RtMsg{RtMsg: unix.RtMsg{
		Family: unix.AF_INET6, Dst_len: 48, Table: unix.RT_TABLE_MAIN,
		Protocol: unix.RTPROT_BOOT, Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST,
	}}}
	dst := netip.MustParseAddr("2001:db8:20::").As16()
	gw := netip.MustParseAddr("2001:db8:2::1").As16()
	r.Attrs = append(r.Attrs,
		newAttr(unix.RTA_TABLE, nl.Uint32Attr(unix.RT_TABLE_MAIN)),
		newAttr(unix.RTA_DST, dst[:]),
		newAttr(unix.RTA_PRIORITY, nl.Uint32Attr(1024)),
		newAttr(unix.RTA_GATEWAY, gw[:]),
		newAttr(unix.RTA_OIF, nl.Uint32Attr(3)),
		newAttr(unix.RTA_CACHEINFO, make([]byte, 32)),
		newAttr(unix.RTA_PREF, []byte{0}))
	return r
}

func TestRouteRoundTrip(t *testing.T) {
	r := testRoute()
	back, err := ParseRoute(r.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Bytes(), r.Bytes()) {
		t.Errorf("route changed in a round trip:\n%x\n%x", r.Bytes(), back.Bytes())
	}
	if got := back.String(); got != "2001:db8:20::/48 via 2001:db8:2::1 oif 3 table 254 metric 1024" {
		t.Errorf("String() = %q", got)
	}
}

func TestEqualAndDiff(t *testing.T) {
	withFlags := testRoute()
	withFlags.Msg.Flags = unix.RTNH_F_LINKDOWN
	withCache := testRoute()
	binary.NativeEndian.PutUint32(withCache.attr(unix.RTA_CACHEINFO)[4:], 12345) // rta_lastuse
	proto := testRoute()
	proto.Msg.Protocol = unix.RTPROT_STATIC
	pref := testRoute()
	pref.attr(unix.RTA_PREF)[0] = 1 // high
	noPref := testRoute()
	noPref.Attrs = slices.DeleteFunc(noPref.Attrs, func(a syscall.NetlinkRouteAttr) bool { return a.Attr.Type == unix.RTA_PREF })
	encap := testRoute().withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: []byte{4, 0, 1, 0}})

	for _, tc := range []struct {
		name string
		r    *Route
		diff string
	}{
		{"same", testRoute(), ""},
		{"linkdown flag", withFlags, ""},
		{"cache info", withCache, ""},
		{"protocol", proto, "protocol 3 != 4"},
		{"pref", pref, "RTA_PREF"},
		{"no pref", noPref, "RTA_PREF"},
		{"encap", encap, "RTA_ENCAP, RTA_ENCAP_TYPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(testRoute(), tc.r); got != (tc.diff == "") {
				t.Errorf("Equal = %v", got)
			}
			if got := Diff(testRoute(), tc.r); got != tc.diff {
				t.Errorf("Diff = %q, want %q", got, tc.diff)
			}
		})
	}
}

// testMultipath builds a dumped-looking multipath route: 2001:db8:20::/48
// metric 32 proto bird, via 2001:db8:2::1 dev 3 and via 2001:db8:3::1 dev 4
// (linkdown).
func testMultipath() *Route {
	r := &Route{Msg: nl.RtMsg{RtMsg: unix.RtMsg{
		Family: unix.AF_INET6, Dst_len: 48, Table: unix.RT_TABLE_MAIN,
		Protocol: 12, Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST,
	}}}
	dst := netip.MustParseAddr("2001:db8:20::").As16()
	gw1 := netip.MustParseAddr("2001:db8:2::1").As16()
	gw2 := netip.MustParseAddr("2001:db8:3::1").As16()
	paths := []Path{
		{Ifindex: 3, Attrs: []syscall.NetlinkRouteAttr{newAttr(unix.RTA_GATEWAY, gw1[:])}},
		{Ifindex: 4, Flags: unix.RTNH_F_LINKDOWN, Hops: 1, Attrs: []syscall.NetlinkRouteAttr{newAttr(unix.RTA_GATEWAY, gw2[:])}},
	}
	r.Attrs = append(r.Attrs,
		newAttr(unix.RTA_TABLE, nl.Uint32Attr(unix.RT_TABLE_MAIN)),
		newAttr(unix.RTA_DST, dst[:]),
		newAttr(unix.RTA_PRIORITY, nl.Uint32Attr(32)),
		newAttr(unix.RTA_MULTIPATH, pathsBytes(paths)),
		newAttr(unix.RTA_CACHEINFO, make([]byte, 32)),
		newAttr(unix.RTA_PREF, []byte{0}))
	return r
}

func TestCheckReplaceable(t *testing.T) {
	expiring := testRoute()
	binary.NativeEndian.PutUint32(expiring.attr(unix.RTA_CACHEINFO)[8:], 300) // rta_expires
	withExpires := testRoute()
	withExpires.Attrs = append(withExpires.Attrs, newAttr(unix.RTA_EXPIRES, nl.Uint32Attr(300)))
	errorCache := testRoute()
	binary.NativeEndian.PutUint32(errorCache.attr(unix.RTA_CACHEINFO)[12:], 1) // rta_error, not an expiry
	multipath := testMultipath()
	mpls := Encap{Type: nl.LWTUNNEL_ENCAP_MPLS, Data: []byte{4, 0, 1, 0}}
	multipathEncap := testMultipath()
	paths := multipathEncap.Paths()
	paths[1].Attrs = append(paths[1].Attrs, newAttr(unix.RTA_ENCAP_TYPE, nl.Uint16Attr(mpls.Type)), newAttr(unix.RTA_ENCAP, mpls.Data))
	multipathEncap = multipathEncap.withPaths(paths)
	nhid := testRoute()
	nhid.Attrs = append(nhid.Attrs, newAttr(rtaNhID, nl.Uint32Attr(10)))
	nhidEncap := testRoute().withEncap(mpls)
	nhidEncap.Attrs = append(nhidEncap.Attrs, newAttr(rtaNhID, nl.Uint32Attr(10)))
	seg6 := testRoute().withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_SEG6, Data: []byte{4, 0, 1, 0}})

	for _, tc := range []struct {
		name string
		r    *Route
		want string
	}{
		{"plain", testRoute(), ""},
		{"cache info error", errorCache, ""},
		{"expiring", expiring, "expires"},
		{"RTA_EXPIRES", withExpires, "expires"},
		{"multipath", multipath, ""},
		{"multipath with an encap", multipathEncap, "already has an encap (mpls) on path 2"},
		{"nexthop object", nhid, ""},
		{"nexthop object with an encap", nhidEncap, "uses nexthop object 10, which already has an encap (mpls)"},
		{"seg6 encap", seg6, "already has an encap (seg6)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckReplaceable(tc.r)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotRestorable)):
				t.Errorf("error %v, want %q wrapping ErrNotRestorable", err, tc.want)
			}
		})
	}
}

// seg6Local builds a seg6local route for a SID with the given encap attributes.
func seg6Local(attrs ...[]byte) *Route {
	r := testRoute()
	r.Msg.Dst_len = 128
	var data []byte
	for _, a := range attrs {
		data = append(data, a...)
	}
	return r.withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_SEG6_LOCAL, Data: data})
}

func TestCheckEndReplaceable(t *testing.T) {
	action := func(a uint32) []byte { return attrBytes(newAttr(nl.SEG6_LOCAL_ACTION, nl.Uint32Attr(a))) }
	for _, tc := range []struct {
		name string
		r    *Route
		want string
	}{
		{"End", seg6Local(action(nl.SEG6_LOCAL_ACTION_END)), ""},
		{"End.DX6", seg6Local(action(nl.SEG6_LOCAL_ACTION_END_DX6), attrBytes(newAttr(nl.SEG6_LOCAL_NH6, make([]byte, 16)))), "has action End.DX6, not End"},
		{"End with counters", seg6Local(action(nl.SEG6_LOCAL_ACTION_END), attrBytes(newAttr(seg6LocalCounters|unix.NLA_F_NESTED, nil))), "is End with count"},
		{"End with flavors", seg6Local(action(nl.SEG6_LOCAL_ACTION_END), attrBytes(newAttr(seg6LocalFlavors|unix.NLA_F_NESTED, nil))), "is End with flavors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEndReplaceable(tc.r)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPrograms(t *testing.T) {
	prog := func(mode uint16, name string) []byte {
		inner := attrBytes(newAttr(nl.LWT_BPF_PROG_NAME, append([]byte(name), 0)))
		return attrBytes(newAttr(mode|unix.NLA_F_NESTED, inner))
	}
	bpf := testRoute().withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: append(prog(nl.LWT_BPF_IN, "lwtdump:7:in"), prog(nl.LWT_BPF_XMIT, "lwtdump:7:xmit")...)})
	want := []Program{{"in", "lwtdump:7:in"}, {"xmit", "lwtdump:7:xmit"}}
	if got := bpf.Programs(); !slices.Equal(got, want) {
		t.Errorf("bpf encap programs %v, want %v", got, want)
	}
	end := seg6Local(attrBytes(newAttr(nl.SEG6_LOCAL_ACTION, nl.Uint32Attr(nl.SEG6_LOCAL_ACTION_END_BPF))), prog(nl.SEG6_LOCAL_BPF, "lwtdump:7:seg6local"))
	if got := end.Programs(); !slices.Equal(got, []Program{{"End.BPF", "lwtdump:7:seg6local"}}) {
		t.Errorf("End.BPF programs %v", got)
	}
	if got := testRoute().Programs(); got != nil {
		t.Errorf("plain route programs %v", got)
	}
	// Apply and Undo recognise the installed route by its program names, in any order.
	c := &Change{Installed: bpf}
	swapped := testRoute().withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: append(prog(nl.LWT_BPF_XMIT, "lwtdump:7:xmit"), prog(nl.LWT_BPF_IN, "lwtdump:7:in")...)})
	other := testRoute().withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: prog(nl.LWT_BPF_XMIT, "lwtdump:8:xmit")})
	if !c.Owns(swapped) || c.Owns(other) || c.Owns(testRoute()) || c.Owns(nil) {
		t.Errorf("Owns: swapped %v, other %v, plain %v", c.Owns(swapped), c.Owns(other), c.Owns(testRoute()))
	}
}

func TestKey(t *testing.T) {
	metric := testRoute()
	metric.attr(unix.RTA_PRIORITY)[0] = 1 // 1025
	table := testRoute()
	table.Attrs = slices.DeleteFunc(table.Attrs, func(a syscall.NetlinkRouteAttr) bool { return a.Attr.Type == unix.RTA_TABLE })
	table.Attrs = append(table.Attrs, newAttr(unix.RTA_TABLE, nl.Uint32Attr(100)))
	gw := testRoute()
	gw.attr(unix.RTA_GATEWAY)[15] = 9
	if testRoute().Key() != gw.Key() {
		t.Error("another gateway is the same place in the table")
	}
	if testRoute().Key() == metric.Key() || testRoute().Key() == table.Key() {
		t.Error("another metric or table is another route")
	}
	if got := testRoute().Key().String(); got != "2001:db8:20::/48 (table 254, metric 1024)" {
		t.Errorf("Key().String() = %q", got)
	}
}

// A multipath route takes the encap on every path and keeps each path's
// device, weight and flags; its request drops the flags a request may not
// set (linkdown); the programs on its paths are listed once.
func TestMultipathEncap(t *testing.T) {
	e := Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: attrBytes(newAttr(nl.LWT_BPF_XMIT|unix.NLA_F_NESTED,
		attrBytes(newAttr(nl.LWT_BPF_PROG_NAME, []byte("lwtdump:7:xmit\x00")))))}
	orig := testMultipath()
	installed := orig.request().withEncap(e)
	back, err := ParseRoute(installed.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	paths := back.Paths()
	if len(paths) != 2 {
		t.Fatalf("%d paths", len(paths))
	}
	for i, want := range []struct {
		ifindex int32
		hops    uint8
	}{{3, 0}, {4, 1}} {
		p := paths[i]
		if p.Ifindex != want.ifindex || p.Hops != want.hops || p.Flags != 0 || p.encapType() != nl.LWTUNNEL_ENCAP_BPF {
			t.Errorf("path %d: ifindex %d hops %d flags %#x encap %d", i, p.Ifindex, p.Hops, p.Flags, p.encapType())
		}
	}
	if got := back.Programs(); !slices.Equal(got, []Program{{"xmit", "lwtdump:7:xmit"}}) {
		t.Errorf("programs %v", got)
	}
	if got := back.OIFs(); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("OIFs %v", got)
	}
	if !RouteMsg(installed.Bytes()).HasPrograms() || RouteMsg(orig.Bytes()).HasPrograms() {
		t.Error("HasPrograms does not see the encap on the paths")
	}
	// The linkdown flag of a path is the kernel's: the original equals itself without it.
	if !Equal(orig, orig.request()) || Diff(orig, installed) != "RTA_MULTIPATH" {
		t.Errorf("Diff(original, installed) = %q", Diff(orig, installed))
	}
}

// A route on a nexthop object is replayed with its nexthop's id alone:
// the gateway, device and paths that a dump shows of the nexthop are left out.
func TestNexthopRouteRequest(t *testing.T) {
	r := testMultipath()
	r.Msg.Flags = unix.RTNH_F_ONLINK
	r.Attrs = append(r.Attrs, newAttr(rtaNhID, nl.Uint32Attr(23)))
	q := r.request()
	if q.NexthopID() != 23 || q.attr(unix.RTA_MULTIPATH) != nil || q.Msg.Flags != 0 || q.attr(unix.RTA_CACHEINFO) != nil {
		t.Errorf("request %x", q.Bytes())
	}
	if r.Multipath() || len(r.Paths()) != 2 {
		t.Errorf("a route on a nexthop group: Multipath %v, %d paths", r.Multipath(), len(r.Paths()))
	}
	c := &Change{Installed: q}
	other := r.request()
	other.Attrs[len(other.Attrs)-1] = newAttr(rtaNhID, nl.Uint32Attr(24))
	if !c.Owns(r) || c.Owns(other) || c.Owns(testRoute()) {
		t.Error("Owns: a route on a nexthop object is lwtdump's when it uses lwtdump's copy")
	}
}

// A nexthop copy survives the state file, and a change recorded again (new
// nexthop ids) replaces its entry instead of adding one.
func TestStateNexthops(t *testing.T) {
	n := &Nexthop{Msg: unix.Nhmsg{Family: unix.AF_INET6}}
	gw := netip.MustParseAddr("2001:db8:2::1").As16()
	n.Attrs = append(n.Attrs, newAttr(unix.NHA_ID, nl.Uint32Attr(NexthopIDMin+5)), newAttr(unix.NHA_OIF, nl.Uint32Attr(3)), newAttr(unix.NHA_GATEWAY, gw[:]))
	g := &Nexthop{}
	g.Attrs = append(g.Attrs, newAttr(unix.NHA_ID, nl.Uint32Attr(NexthopIDMin+6)), newAttr(unix.NHA_GROUP, groupBytes([]unix.NexthopGrp{{Id: NexthopIDMin + 5, Weight: 2}})))
	c := &Change{Kind: Replaced, Original: testRoute(), Installed: testRoute(), Nexthops: []NexthopCopy{{Of: 11, Nexthop: n}, {Of: 13, Nexthop: g}}}
	s := &State{path: t.TempDir() + "/state.json"}
	if err := s.Record(c); err != nil {
		t.Fatal(err)
	}
	n.Attrs[0] = newAttr(unix.NHA_ID, nl.Uint32Attr(NexthopIDMin+7))
	if err := s.Record(c); err != nil {
		t.Fatal(err)
	}
	if len(s.Changes) != 1 || s.Changes[0].Nexthops[0].ID != NexthopIDMin+7 || s.Changes[0].Nexthops[1].Of != 13 {
		t.Fatalf("state changes %+v", s.Changes)
	}
	back, err := s.Changes[0].Change()
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Nexthops) != 2 || back.Nexthops[0].Nexthop.Gateway().String() != "2001:db8:2::1" || back.Nexthops[0].Nexthop.OIF() != 3 ||
		back.Nexthops[1].Nexthop.Group()[0] != (unix.NexthopGrp{Id: NexthopIDMin + 5, Weight: 2}) {
		t.Errorf("nexthops after the state file: %v, %v", back.Nexthops[0].Nexthop, back.Nexthops[1].Nexthop)
	}
	if err := s.Forget(c); err != nil || !s.Done() {
		t.Errorf("Forget: %v, %d changes left", err, len(s.Changes))
	}
}

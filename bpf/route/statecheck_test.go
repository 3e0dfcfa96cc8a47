package route

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// bpfEncap is a capture's encap: a program at xmit named name.
func bpfEncap(t *testing.T, name string) Encap {
	t.Helper()
	var e netlink.BpfEncap
	if err := e.SetProg(nl.LWT_BPF_XMIT, 9, name); err != nil {
		t.Fatal(err)
	}
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: data}
}

// seg6localEncap is a seg6local encap with action, and a program named
// name for End.BPF (none when name is "").
func seg6localEncap(t *testing.T, action int, name string, extra ...rawAttr) Encap {
	t.Helper()
	data := attrBytes(newAttr(nl.SEG6_LOCAL_ACTION, nl.Uint32Attr(uint32(action))))
	if name != "" {
		prog := attrBytes(newAttr(nl.LWT_BPF_PROG_FD, nl.Uint32Attr(9)))
		prog = append(prog, attrBytes(newAttr(nl.LWT_BPF_PROG_NAME, nl.ZeroTerminated(name)))...)
		data = append(data, attrBytes(newAttr(nl.SEG6_LOCAL_BPF|unix.NLA_F_NESTED, prog))...)
	}
	for _, a := range extra {
		data = append(data, attrBytes(newAttr(a.typ, a.value))...)
	}
	return Encap{Type: nl.LWTUNNEL_ENCAP_SEG6_LOCAL, Data: data}
}

type rawAttr struct {
	typ   uint16
	value []byte
}

// withAttr returns a copy of r whose attribute typ has value.
func withAttr(r *Route, typ uint16, value []byte) *Route {
	q := &Route{Msg: r.Msg}
	for _, a := range r.Attrs {
		if a.Attr.Type&nlaTypeMask == typ {
			a = newAttr(a.Attr.Type, value)
		}
		q.Attrs = append(q.Attrs, a)
	}
	return q
}

func addr16(s string) []byte {
	a := netip.MustParseAddr(s).As16()
	return a[:]
}

// A state file's change is replayed only when it undoes a capture and
// nothing more: the original is the route installed without the encap.
func TestCheckUndo(t *testing.T) {
	orig := testRoute()
	capture := bpfEncap(t, "lwtdump:4242:xmit")
	sid := testRoute().withEncap(seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END, ""))
	onNexthop := func(id uint32) *Route {
		r := testRoute()
		r.Attrs = append(r.Attrs, newAttr(rtaNhID, nl.Uint32Attr(id)))
		return r
	}
	nhCopy := func(id, of uint32, capture bool) NexthopCopy {
		n := &Nexthop{Msg: unix.Nhmsg{Family: unix.AF_INET6}}
		n.Attrs = append(n.Attrs, newAttr(unix.NHA_ID, nl.Uint32Attr(id)), newAttr(unix.NHA_OIF, nl.Uint32Attr(3)))
		if capture {
			e := bpfEncap(t, "lwtdump:4242:xmit")
			n.Attrs = append(n.Attrs, newAttr(unix.NHA_ENCAP_TYPE, nl.Uint16Attr(e.Type)), newAttr(unix.NHA_ENCAP|unix.NLA_F_NESTED, e.Data))
		}
		return NexthopCopy{Of: of, Nexthop: n}
	}
	group := func(id, of uint32, members ...uint32) NexthopCopy {
		var g []unix.NexthopGrp
		for _, m := range members {
			g = append(g, unix.NexthopGrp{Id: m})
		}
		n := &Nexthop{Msg: unix.Nhmsg{Family: unix.AF_INET6}}
		n.Attrs = append(n.Attrs, newAttr(unix.NHA_ID, nl.Uint32Attr(id)), newAttr(unix.NHA_GROUP, groupBytes(g)))
		return NexthopCopy{Of: of, Nexthop: n}
	}
	onCopies := func(copies ...NexthopCopy) *Change {
		last := copies[len(copies)-1]
		o := onNexthop(last.Of)
		return &Change{Kind: Replaced, Original: o, Installed: o.request().withNexthopID(last.Nexthop.ID()), Nexthops: copies}
	}
	const first = NexthopIDMin
	mpEncap := testMultipath().withPaths(pathsWithEncap(testMultipath().Paths(), Encap{Type: nl.LWTUNNEL_ENCAP_SEG6, Data: []byte{4, 0, 1, 0}}))
	for _, tc := range []struct {
		name string
		c    *Change
		want string // in the error; "" for none
	}{
		{"replaced", planReplaceRoute(orig, capture), ""},
		{"original with another gateway", &Change{Kind: Replaced, Original: withAttr(orig, unix.RTA_GATEWAY, addr16("2001:db8:2::7")), Installed: planReplaceRoute(orig, capture).Installed},
			"the original differs from the route installed by more than the capture: RTA_GATEWAY"},
		{"original and installed with another gateway", planReplaceRoute(withAttr(orig, unix.RTA_GATEWAY, addr16("2001:db8:2::7")), capture), ""}, // CheckInstalled's to find
		{"original with another metric", &Change{Kind: Replaced, Original: withAttr(orig, unix.RTA_PRIORITY, nl.Uint32Attr(50)), Installed: planReplaceRoute(orig, capture).Installed},
			"RTA_PRIORITY"},
		{"original with another protocol", func() *Change {
			c := planReplaceRoute(orig, capture)
			o := *orig
			o.Msg.Protocol = unix.RTPROT_STATIC
			c.Original = &o
			return c
		}(), "protocol 4 != 3"},
		{"original with an encap", &Change{Kind: Replaced, Original: orig.withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_SEG6, Data: []byte{4, 0, 1, 0}}), Installed: planReplaceRoute(orig, capture).Installed},
			"the original has an encap (seg6)"},
		{"installed without capture", &Change{Kind: Replaced, Original: orig, Installed: orig.request()}, "carries no capture"},
		{"replaced without original", &Change{Kind: Replaced, Installed: planReplaceRoute(orig, capture).Installed}, "without its original"},
		{"End to End.BPF", planReplaceRoute(sid, seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END_BPF, "lwtdump:4242:seg6local")), ""},
		{"End with a counter", planReplaceRoute(sid.withEncap(seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END, "", rawAttr{seg6LocalCounters, []byte{4, 0, 1, 0}})), seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END_BPF, "lwtdump:4242:seg6local")),
			"the original is not a bare End"},
		{"End.DX6 to End.BPF", planReplaceRoute(sid.withEncap(seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END_DX6, "")), seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END_BPF, "lwtdump:4242:seg6local")),
			"the original is not a bare End"},
		{"End to End", planReplaceRoute(sid, seg6localEncap(t, nl.SEG6_LOCAL_ACTION_END, "")), "not End.BPF"},
		{"added", PlanAdd(netip.MustParsePrefix("2001:db8:21::/64"), 3, 254, bpfEncap(t, "lwtdump:4242:xmit:added")), ""},
		{"added with an original", &Change{Kind: Added, Original: orig, Installed: planReplaceRoute(orig, capture).Installed}, "an added route has no original"},
		{"added without encap", &Change{Kind: Added, Installed: orig.request()}, "carries no bpf encap"},
		{"multipath", planReplaceRoute(testMultipath(), capture), ""},
		{"multipath with an encap on the original's paths", planReplaceRoute(mpEncap, capture), "path 1 of the original has an encap (seg6)"},
		{"multipath installed without capture", &Change{Kind: Replaced, Original: testMultipath(), Installed: testMultipath().request()}, "path 1 of the route installed carries no capture"},
		{"on a nexthop copy", onCopies(nhCopy(first+1, 12, true)), ""},
		{"on copies of a group", onCopies(nhCopy(first+1, 21, true), nhCopy(first+2, 22, true), group(first+3, 20, first+1, first+2)), ""},
		{"a daemon's nexthop as the copy", onCopies(nhCopy(12, 12, true)), "nexthop 12 is not in the range of lwtdump's copies"},
		{"a copy without capture", onCopies(nhCopy(first+1, 12, false)), "carries no capture"},
		{"a copy of no nexthop", onCopies(nhCopy(first+1, 0, true)), "copies no nexthop"},
		{"a group of other nexthops", onCopies(nhCopy(first+1, 21, true), group(first+3, 20, first+1, 22)), "holds other nexthops than lwtdump's copies"},
		{"a group before its members", onCopies(group(first+3, 20, first+1), nhCopy(first+1, 21, true)), "is not the last copy"},
		{"copies without their group", onCopies(nhCopy(first+1, 21, true), nhCopy(first+2, 22, true)), "several nexthop copies without a group"},
		{"installed on another nexthop", func() *Change {
			c := onCopies(nhCopy(first+1, 12, true))
			c.Installed = c.Installed.withNexthopID(first + 9)
			return c
		}(), "the route installed uses nexthop"},
		{"original on another nexthop", func() *Change {
			c := onCopies(nhCopy(first+1, 12, true))
			c.Original = onNexthop(13)
			return c
		}(), "the original uses nexthop 13, not 12"},
		{"original with another metric on a nexthop", func() *Change {
			c := onCopies(nhCopy(first+1, 12, true))
			c.Original = withAttr(c.Original, unix.RTA_PRIORITY, nl.Uint32Attr(50))
			return c
		}(), "more than the nexthop copy: RTA_PRIORITY"},
		{"on a nexthop without copies", &Change{Kind: Replaced, Original: onNexthop(12), Installed: onNexthop(12).request()}, "without lwtdump's copies"},
		{"unknown kind", &Change{Kind: "moved", Original: orig, Installed: planReplaceRoute(orig, capture).Installed}, `unknown kind of change "moved"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckUndo(tc.c)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one that says %q", err, tc.want)
			}
		})
	}
}

// The route the kernel holds is undone only when it is the route installed.
func TestCheckInstalled(t *testing.T) {
	capture := bpfEncap(t, "lwtdump:4242:xmit")
	replaced := planReplaceRoute(testRoute(), capture)
	// As the kernel dumps it: cache info, a linkdown flag, the encap last.
	dumped := func(r *Route) *Route {
		q := &Route{Msg: r.Msg, Attrs: append([]syscall.NetlinkRouteAttr{}, r.Attrs...)}
		q.Msg.Flags |= unix.RTNH_F_LINKDOWN
		q.Attrs = append(q.Attrs, newAttr(unix.RTA_CACHEINFO, make([]byte, 32)))
		return q
	}
	added := PlanAdd(netip.MustParsePrefix("2001:db8:21::/64"), 3, 254, bpfEncap(t, "lwtdump:4242:xmit:added"))
	addedAsDumped := dumped(added.Installed)
	addedAsDumped.Msg.Scope = unix.RT_SCOPE_UNIVERSE // the kernel's for IPv6
	addedAsDumped.Attrs = append(addedAsDumped.Attrs, newAttr(unix.RTA_PREF, []byte{0}))
	for _, tc := range []struct {
		name string
		c    *Change
		cur  *Route
		want string
	}{
		{"as installed", replaced, dumped(replaced.Installed), ""},
		{"another gateway", replaced, dumped(withAttr(replaced.Installed, unix.RTA_GATEWAY, addr16("2001:db8:2::7"))), "differs from the route installed: RTA_GATEWAY"},
		{"another program", replaced, dumped(testRoute().withEncap(bpfEncap(t, "other"))), ""}, // not touched
		{"gone", replaced, nil, ""},
		{"added, as the kernel fills it in", added, addedAsDumped, ""},
		{"added, another device", added, withAttr(addedAsDumped, unix.RTA_OIF, nl.Uint32Attr(4)), "RTA_OIF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInstalled(tc.c, tc.cur)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one that says %q", err, tc.want)
			}
		})
	}
}

// A state file is trusted by where it is and whose it is.
func TestTrusted(t *testing.T) {
	const nobody = 65534
	dir := filepath.Join("/run/lwtdump", "4242")
	for _, tc := range []struct {
		name   string
		caller int
		uid    int // recorded
		dirUID, fileUID,
		dirMode, fileMode uint32
		pid  int
		want string
	}{
		{"root's", 0, 0, 0, 0, 0o700, 0o600, 4242, ""},
		{"-Z user's", 0, nobody, nobody, nobody, 0o700, 0o600, 4242, ""},
		{"-Z user's, taken by root", 0, nobody, 0, 0, 0o700, 0o600, 4242, ""},
		{"another user's file", 0, 0, 0, nobody, 0o700, 0o600, 4242, "it is owned by uid 65534, which is neither root nor the user the file records (uid 0)"},
		{"another user's directory", 0, 0, nobody, 0, 0o700, 0o600, 4242, "its directory is owned by uid 65534"},
		{"file writable by others", 0, 0, 0, 0, 0o700, 0o666, 4242, "it is writable by others (mode 0666)"},
		{"file writable by group", 0, 0, 0, 0, 0o700, 0o620, 4242, "it is writable by others (mode 0620)"},
		{"directory writable by others", 0, 0, 0, 0, 0o777, 0o600, 4242, "its directory /run/lwtdump/4242 is writable by others"},
		{"another pid", 0, 0, 0, 0, 0o700, 0o600, 4343, "it records pid 4343 but is in the directory of pid 4242"},
		{"a capability holder's own", nobody, nobody, nobody, nobody, 0o700, 0o600, 4242, ""},
		{"root's, for a capability holder", nobody, 0, 0, 0, 0o700, 0o600, 4242, "this process runs for uid 65534, which replays only its own state"},
		{"a capability holder's, recording root", nobody, 0, nobody, nobody, 0o700, 0o600, 4242, "replays only its own state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &State{path: filepath.Join(dir, stateFile), Pid: tc.pid, Uid: tc.uid}
			s.facts = stateFacts{dirUID: tc.dirUID, fileUID: tc.fileUID, dirMode: unix.S_IFDIR | tc.dirMode, fileMode: unix.S_IFREG | tc.fileMode}
			err := s.Trusted(tc.caller)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one that says %q", err, tc.want)
			}
		})
	}
}

// A state file is read without following a link at it or at its
// directory, and one that cannot be read is kept with the reason.
func TestReadState(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "4242")
	if err := os.Mkdir(own, 0o700); err != nil {
		t.Fatal(err)
	}
	good := `{"pid": 4242, "uid": 0, "changes": []}`
	if err := os.WriteFile(filepath.Join(own, stateFile), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	s := readState(filepath.Join(own, stateFile))
	if s.facts.err != nil || s.Pid != 4242 || s.facts.fileUID != uint32(os.Getuid()) {
		t.Errorf("readState: pid %d, facts %+v", s.Pid, s.facts)
	}

	// A directory that is a link to another.
	if err := os.Symlink(own, filepath.Join(dir, "4343")); err != nil {
		t.Fatal(err)
	}
	if s := readState(filepath.Join(dir, "4343", stateFile)); s.facts.err == nil || s.Pid != 4343 {
		t.Errorf("read through a linked directory: pid %d, err %v", s.Pid, s.facts.err)
	}
	// A state file that is a link.
	other := filepath.Join(dir, "4444")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(own, stateFile), filepath.Join(other, stateFile)); err != nil {
		t.Fatal(err)
	}
	if s := readState(filepath.Join(other, stateFile)); s.facts.err == nil {
		t.Errorf("read through a linked file")
	}
	// Not JSON.
	if err := os.WriteFile(filepath.Join(own, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = readState(filepath.Join(own, stateFile))
	if err := s.Trusted(0); err == nil || !strings.Contains(err.Error(), "of lwtdump pid 4242 not replayed: it cannot be read: it is not a state file") {
		t.Errorf("Trusted of a broken file: %v", err)
	}
}

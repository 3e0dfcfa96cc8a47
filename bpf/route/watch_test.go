package route

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink/nl"
	cbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func testIP(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// nextRouteEvent reads events until a route event, failing after a second.
func nextRouteEvent(t *testing.T, w *Watcher) Event {
	t.Helper()
	for {
		ev, err := w.Read(time.Now().Add(time.Second))
		if err != nil {
			t.Fatalf("read notification: %v", err)
		}
		if ev.Route != nil {
			return ev
		}
	}
}

// The watcher returns the notifications of the watched routes only, tells
// the handle's own changes (by port id and sequence number) from another
// process's, and carries each route as a dump shows it.
func TestWatch(t *testing.T) {
	h := testNetns(t,
		"-6 route add 2001:db8:20::/48 via 2001:db8:2::1 dev d0 proto static metric 20",
		"-4 route add 203.0.113.0/24 via 198.51.100.1 dev d0")
	ns := h.Netns()
	v6, err := h.Routes(netip.MustParsePrefix("2001:db8:20::/48"), unix.RT_TABLE_MAIN)
	if err != nil || len(v6) != 1 {
		t.Fatalf("find: %v %v", v6, err)
	}
	v4, err := h.Routes(netip.MustParsePrefix("203.0.113.0/24"), unix.RT_TABLE_MAIN)
	if err != nil || len(v4) != 1 {
		t.Fatalf("find: %v %v", v4, err)
	}
	w, err := h.Watch([]int{48, 24})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetKeys([]Key{v6[0].Key(), v4[0].Key()})
	if got, want := h.PortOwner(w.Port()), fmt.Sprintf("(pid %d)", os.Getpid()); !strings.HasSuffix(got, want) {
		t.Errorf("PortOwner of the handle's own port %d = %q, want ... %s", w.Port(), got, want)
	}
	if got := h.PortOwner(0); got != "the kernel" {
		t.Errorf("PortOwner(0) = %q", got)
	}

	// The kernel drops the notifications of other prefixes.
	testIP(t, ns, "-6", "route", "add", "2001:db8:22::/48", "via", "2001:db8:2::1", "dev", "d0")
	testIP(t, ns, "-4", "route", "add", "192.0.2.0/24", "via", "198.51.100.1", "dev", "d0")
	testIP(t, ns, "-6", "route", "add", "2001:db8:20::/64", "via", "2001:db8:2::1", "dev", "d0")
	if ev, err := w.Read(time.Now().Add(200 * time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) || w.received != 0 {
		t.Fatalf("other prefixes: %d notifications reached the socket; read %+v, %v", w.received, ev, err)
	}

	// Not watched: another prefix length (dropped by the kernel), the same
	// prefix with another metric, another table (dropped here).
	testIP(t, ns, "-6", "route", "add", "2001:db8:21::/64", "via", "2001:db8:2::1", "dev", "d0")
	testIP(t, ns, "-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "d0", "metric", "30")
	testIP(t, ns, "-6", "route", "add", "2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "d0", "table", "100", "metric", "20")

	// Another process replaces the IPv6 route.
	testIP(t, ns, "-6", "route", "replace", "2001:db8:20::/48", "via", "2001:db8:2::9", "dev", "d0", "proto", "bgp", "metric", "20")
	ev := nextRouteEvent(t, w)
	if ev.Type != unix.RTM_NEWROUTE || ev.Own || ev.Port == 0 || ev.Route.Key() != v6[0].Key() || ev.Route.Gateway() != netip.MustParseAddr("2001:db8:2::9") || ev.Flags&unix.NLM_F_REPLACE == 0 {
		t.Fatalf("foreign replace: %+v (route %v)", ev, ev.Route)
	}
	now, err := h.Lookup(v6[0])
	if err != nil || !Equal(now, ev.Route) {
		t.Errorf("the notified route differs from the dumped one: %s", Diff(now, ev.Route))
	}

	// The handle puts its own route back: its own event, with its sequence number.
	seq, err := h.Replace(v6[0])
	if err != nil {
		t.Fatal(err)
	}
	ev = nextRouteEvent(t, w)
	if ev.Type != unix.RTM_NEWROUTE || !ev.Own || ev.Seq != seq || !Equal(ev.Route, v6[0]) {
		t.Fatalf("own replace (seq %d): %+v, %s", seq, ev, Diff(ev.Route, v6[0]))
	}
	seq2, err := h.Replace(v6[0])
	if err != nil || seq2 == seq {
		t.Fatalf("second replace: seq %d after %d, %v", seq2, seq, err)
	}
	if ev = nextRouteEvent(t, w); ev.Seq != seq2 {
		t.Fatalf("seq %d, want %d", ev.Seq, seq2)
	}

	// Another process deletes the IPv4 route; replacing it then fails as gone.
	testIP(t, ns, "-4", "route", "del", "203.0.113.0/24")
	ev = nextRouteEvent(t, w)
	if ev.Type != unix.RTM_DELROUTE || ev.Own || ev.Route.Key() != v4[0].Key() {
		t.Fatalf("foreign delete: %+v", ev)
	}
	if _, err := h.Replace(v4[0]); !Gone(err) {
		t.Errorf("replace of a deleted route: %v, want it gone", err)
	}

	// A device going down: a link event.
	testIP(t, ns, "link", "set", "d0", "down")
	for {
		ev, err := w.Read(time.Now().Add(time.Second))
		if err != nil {
			t.Fatalf("no link event: %v", err)
		}
		if ev.Type == unix.RTM_NEWLINK && !ev.Up && ev.Link == mustIndex(t, h, "d0") {
			break
		}
	}
	// Nothing else is pending but the route deletions that follow.
	for {
		ev, err := w.Read(time.Now().Add(200 * time.Millisecond))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Route != nil && (ev.Type != unix.RTM_DELROUTE || ev.Route.Key() != v6[0].Key()) {
			t.Errorf("unexpected event %+v route %v", ev, ev.Route)
		}
	}
}

func mustIndex(t *testing.T, h *Handle, name string) int {
	t.Helper()
	i, err := h.LinkIndex(name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// Close wakes a Read that waits.
func TestWatchClose(t *testing.T) {
	h := testNetns(t)
	w, err := h.Watch(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Interrupt()
	if _, err := w.Read(time.Time{}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("read after Interrupt: %v", err)
	}
	done := make(chan error)
	go func() {
		_, err := w.Read(time.Time{})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	w.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("read after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake Read")
	}
}

// notification is a route notification of type typ as the kernel lays it
// out: rtmsg, RTA_TABLE, RTA_DST, then the rest; or with RTA_DST first
// when dstFirst.
func notification(typ uint16, prefix string, table, metric uint32, dstFirst bool) []byte {
	p := netip.MustParsePrefix(prefix)
	family := uint8(unix.AF_INET6)
	if p.Addr().Is4() {
		family = unix.AF_INET
	}
	r := &Route{Msg: nl.RtMsg{RtMsg: unix.RtMsg{Family: family, Dst_len: uint8(p.Bits()), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}}}
	tableAttr, dstAttr := newAttr(unix.RTA_TABLE, nl.Uint32Attr(table)), newAttr(unix.RTA_DST, p.Addr().AsSlice())
	if dstFirst {
		r.Attrs = append(r.Attrs, dstAttr, tableAttr)
	} else {
		r.Attrs = append(r.Attrs, tableAttr, dstAttr)
	}
	r.Attrs = append(r.Attrs, newAttr(unix.RTA_PRIORITY, nl.Uint32Attr(metric)))
	body := r.Bytes()
	hdr := make([]byte, unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(hdr[0:], uint32(len(hdr)+len(body)))
	binary.NativeEndian.PutUint16(hdr[4:], typ)
	return append(hdr, body...)
}

// The kernel-side filter passes the notifications of the keys' prefixes,
// links and nexthops, and drops the others; where RTA_DST is not where the
// kernel puts it, it passes every prefix of a key's length.
func TestFilterProgram(t *testing.T) {
	keys := []Key{
		{Table: 254, Metric: 20, Dst: netip.MustParsePrefix("2001:db8:20::/48")},
		{Table: 254, Metric: 20, Dst: netip.MustParsePrefix("203.0.113.0/24")},
	}
	link := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint16(link[4:], unix.RTM_NEWLINK)
	for _, tc := range []struct {
		name string
		msg  []byte
		pass bool
	}{
		{"watched v6", notification(unix.RTM_NEWROUTE, "2001:db8:20::/48", 254, 20, false), true},
		{"watched v6, deleted", notification(unix.RTM_DELROUTE, "2001:db8:20::/48", 254, 20, false), true},
		{"watched v6, other metric (the key is checked in user space)", notification(unix.RTM_NEWROUTE, "2001:db8:20::/48", 254, 30, false), true},
		{"watched v4", notification(unix.RTM_NEWROUTE, "203.0.113.0/24", 254, 20, false), true},
		{"other v6 of the same length", notification(unix.RTM_NEWROUTE, "2001:db8:21::/48", 254, 20, false), false},
		{"other v6, same first 32 bits", notification(unix.RTM_NEWROUTE, "2001:db8:ffff::/48", 254, 20, false), false},
		{"other v4 of the same length", notification(unix.RTM_NEWROUTE, "198.51.100.0/24", 254, 20, false), false},
		{"other length", notification(unix.RTM_NEWROUTE, "2001:db8:20::/64", 254, 20, false), false},
		{"other layout, watched", notification(unix.RTM_NEWROUTE, "2001:db8:20::/48", 254, 20, true), true},
		{"other layout, same length", notification(unix.RTM_NEWROUTE, "2001:db8:21::/48", 254, 20, true), true},
		{"other layout, other length", notification(unix.RTM_NEWROUTE, "2001:db8:21::/64", 254, 20, true), false},
		{"link", link, true},
	} {
		for _, withKeys := range []bool{true, false} {
			var prog []cbpf.Instruction
			if withKeys {
				prog = filterProgram(nil, keys)
			} else {
				prog = filterProgram([]int{48, 24}, nil)
			}
			vm, err := cbpf.NewVM(prog)
			if err != nil {
				t.Fatal(err)
			}
			n, err := vm.Run(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.pass || !withKeys && (strings.HasPrefix(tc.name, "other v") || strings.HasPrefix(tc.name, "other layout, same"))
			if got := n > 0; got != want {
				t.Errorf("%s (keys: %v): passes %v, want %v", tc.name, withKeys, got, want)
			}
		}
	}
}

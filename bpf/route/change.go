package route

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ip6DefaultMetric is the metric of an IPv6 route added without one (IP6_RT_PRIO_USER).
const ip6DefaultMetric = 1024

// Encap is a lightweight tunnel to put on a route: its RTA_ENCAP_TYPE and RTA_ENCAP payload.
type Encap struct {
	Type uint16
	Data []byte
}

// Kind tells what a Change did to the routing table.
type Kind string

// The kinds of change.
const (
	Replaced Kind = "replaced" // an existing route was replaced by the same route with an encap
	Added    Kind = "added"    // a route that did not exist was added
)

// Change is one modification of a route and what is needed to undo it: the
// route as the kernel dumped it before (for Replaced), the route as lwtdump
// installed it, and the nexthop objects lwtdump created for it (for a
// route on a nexthop object).
type Change struct {
	Kind      Kind
	Original  *Route // nil for Added
	Installed *Route
	// Nexthops are lwtdump's copies of the original's nexthop objects,
	// members before the group that holds them; Installed uses the last.
	Nexthops []NexthopCopy
	seq      int // the change's number in its state file, 0 before it is recorded
}

// attributes the kernel reports in a dump but does not take back in a request.
var dumpOnly = []uint16{unix.RTA_CACHEINFO}

// nexthopAttrs are the attributes a dump of a route on a nexthop object
// shows of that nexthop (net.ipv4.nexthop_compat_mode), which a request
// pointing the route at it must not carry.
var nexthopAttrs = []uint16{unix.RTA_OIF, unix.RTA_GATEWAY, unix.RTA_VIA, unix.RTA_MULTIPATH, unix.RTA_FLOW, unix.RTA_ENCAP, unix.RTA_ENCAP_TYPE}

// request returns the route as a request would carry it: without dump-only
// attributes, with only the rtm_flags a request may set (and only those on
// each path), and for a route on a nexthop object, with the nexthop's id and
// nothing of the nexthop itself.
func (r *Route) request() *Route {
	q := &Route{Msg: r.Msg}
	q.Msg.Flags &= unix.RTNH_F_ONLINK
	nhid := r.NexthopID() != 0
	if nhid {
		q.Msg.Flags = 0 // onlink is the nexthop's
	}
	for _, a := range r.Attrs {
		t := a.Attr.Type & nlaTypeMask
		switch {
		case slices.Contains(dumpOnly, t):
		case nhid && slices.Contains(nexthopAttrs, t):
		case t == unix.RTA_MULTIPATH:
			paths, err := parsePaths(a.Value)
			if err != nil {
				q.Attrs = append(q.Attrs, a)
				continue
			}
			q.Attrs = append(q.Attrs, newAttr(a.Attr.Type, pathsBytes(requestPaths(paths))))
		default:
			q.Attrs = append(q.Attrs, a)
		}
	}
	return q
}

// withEncap returns a copy of r whose encap is e: on the route, or on each
// of its paths for a multipath route.
func (r *Route) withEncap(e Encap) *Route {
	if paths := r.Paths(); paths != nil {
		return r.withPaths(pathsWithEncap(paths, e))
	}
	q := r.withoutEncap()
	q.Attrs = append(q.Attrs,
		newAttr(unix.RTA_ENCAP_TYPE, nl.Uint16Attr(e.Type)),
		newAttr(unix.RTA_ENCAP|unix.NLA_F_NESTED, e.Data))
	return q
}

// withoutEncap returns a copy of r without an encap.
func (r *Route) withoutEncap() *Route {
	q := &Route{Msg: r.Msg}
	for _, a := range r.Attrs {
		switch a.Attr.Type & nlaTypeMask {
		case unix.RTA_ENCAP, unix.RTA_ENCAP_TYPE:
		default:
			q.Attrs = append(q.Attrs, a)
		}
	}
	return q
}

func newAttr(typ uint16, value []byte) syscall.NetlinkRouteAttr {
	return syscall.NetlinkRouteAttr{
		Attr:  syscall.RtAttr{Len: uint16(unix.SizeofRtAttr + len(value)), Type: typ},
		Value: value,
	}
}

// Bytes serializes the route as an rtnetlink payload: rtmsg then attributes.
func (r *Route) Bytes() []byte {
	b := bytes.NewBuffer(r.Msg.Serialize())
	for _, a := range r.Attrs {
		writeAttr(b, a)
	}
	return b.Bytes()
}

// attrBytes serializes one attribute.
func attrBytes(a syscall.NetlinkRouteAttr) []byte {
	var b bytes.Buffer
	writeAttr(&b, a)
	return b.Bytes()
}

func writeAttr(b *bytes.Buffer, a syscall.NetlinkRouteAttr) {
	var hdr [unix.SizeofRtAttr]byte
	binary.NativeEndian.PutUint16(hdr[0:2], uint16(unix.SizeofRtAttr+len(a.Value)))
	binary.NativeEndian.PutUint16(hdr[2:4], a.Attr.Type)
	b.Write(hdr[:])
	b.Write(a.Value)
	b.Write(make([]byte, rtaAlign(len(a.Value))-len(a.Value)))
}

// ParseRoute decodes a payload written by Bytes (or dumped by the kernel).
func ParseRoute(b []byte) (*Route, error) { return parseRoute(b) }

func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

// send makes one RTM_NEWROUTE or RTM_DELROUTE request and waits for its acknowledgement.
func (h *Handle) send(typ, flags int, r *Route) error {
	req := nl.NewNetlinkRequest(typ, flags|unix.NLM_F_ACK)
	req.AddRawData(r.Bytes())
	_, err := h.exec(req, 0)
	h.changeSeq = req.Seq
	return err
}

// ChangeSeq is the nlmsg_seq of the last route change the handle sent;
// the notification of that change carries it (see Watcher).
func (h *Handle) ChangeSeq() uint32 { return h.changeSeq }

// ErrNotRestorable means a route cannot be changed because lwtdump could not
// put it back exactly, or because an encap would change how it forwards.
var ErrNotRestorable = errors.New("route cannot be restored exactly")

// CheckReplaceable refuses routes whose replacement by an encap route would
// change forwarding or could not be undone exactly. A route on a nexthop
// object is checked here for what its dump shows; PlanReplace checks the
// nexthops themselves.
func CheckReplaceable(r *Route) error {
	if r.NexthopID() == 0 {
		for i, p := range r.Paths() {
			if t := p.encapType(); t != 0 {
				return fmt.Errorf("route %s already has an encap (%s) on path %d: %w", r.Dst(), EncapName(t), i+1, ErrNotRestorable)
			}
		}
	}
	switch {
	case r.NexthopID() == 0 && r.EncapType() != 0:
		return fmt.Errorf("route %s already has an encap (%s): %w", r.Dst(), EncapName(r.EncapType()), ErrNotRestorable)
	case r.NexthopID() != 0 && r.EncapType() != 0:
		return fmt.Errorf("route %s uses nexthop object %d, which already has an encap (%s): %w", r.Dst(), r.NexthopID(), EncapName(r.EncapType()), ErrNotRestorable)
	case r.expires():
		return fmt.Errorf("route %s expires (learned from a router advertisement, or added with expires): %w", r.Dst(), ErrNotRestorable)
	}
	return nil
}

// expires reports whether the kernel will remove the route by itself (an
// IPv6 route learned from a router advertisement, or added with expires).
func (r *Route) expires() bool {
	if r.attr(unix.RTA_EXPIRES) != nil {
		return true
	}
	ci := r.attr(unix.RTA_CACHEINFO) // struct rta_cacheinfo
	if len(ci) < 12 {
		return false
	}
	return binary.NativeEndian.Uint32(ci[8:12]) != 0 // rta_expires, after rta_clntref and rta_lastuse
}

// EncapName names a lightweight tunnel type as `ip route` does.
func EncapName(t uint16) string {
	switch t {
	case nl.LWTUNNEL_ENCAP_MPLS:
		return "mpls"
	case nl.LWTUNNEL_ENCAP_IP:
		return "ip"
	case nl.LWTUNNEL_ENCAP_ILA:
		return "ila"
	case nl.LWTUNNEL_ENCAP_IP6:
		return "ip6"
	case nl.LWTUNNEL_ENCAP_SEG6:
		return "seg6"
	case nl.LWTUNNEL_ENCAP_BPF:
		return "bpf"
	case nl.LWTUNNEL_ENCAP_SEG6_LOCAL:
		return "seg6local"
	case 8:
		return "rpl"
	case 9:
		return "ioam6"
	case 10:
		return "xfrm"
	}
	return fmt.Sprintf("encap type %d", t)
}

// PlanReplace prepares the replacement of orig by the same route carrying
// e: on the route itself, on each path of a multipath route, or, for a
// route on a nexthop object, on lwtdump's copies of that nexthop (or group
// and its members), which the route is pointed at instead; the nexthop
// objects that other routes share are not touched. Nothing is sent: record
// the change first, then Apply it.
func (h *Handle) PlanReplace(orig *Route, e Encap) (*Change, error) {
	id := orig.NexthopID()
	if id == 0 {
		return planReplaceRoute(orig, e), nil
	}
	copies, err := h.planNexthops(id, e)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", orig.Dst(), err)
	}
	installed := orig.request().withNexthopID(copies[len(copies)-1].Nexthop.ID())
	return &Change{Kind: Replaced, Original: orig, Installed: installed, Nexthops: copies}, nil
}

// planReplaceRoute is PlanReplace of a route on no nexthop object: the
// encap goes on the route, or on each of its paths.
func planReplaceRoute(orig *Route, e Encap) *Change {
	return &Change{Kind: Replaced, Original: orig, Installed: orig.request().withEncap(e)}
}

// withNexthopID returns a copy of r, a route on a nexthop object, that uses
// the nexthop object id instead.
func (r *Route) withNexthopID(id uint32) *Route {
	q := &Route{Msg: r.Msg, Attrs: slices.Clone(r.Attrs)}
	for i, a := range q.Attrs {
		if a.Attr.Type&nlaTypeMask == rtaNhID {
			q.Attrs[i] = newAttr(a.Attr.Type, nl.Uint32Attr(id))
		}
	}
	return q
}

// PlanAdd prepares a new route to prefix through the device oif in table,
// carrying e. Nothing is sent: record the change first, then Apply it.
func PlanAdd(prefix netip.Prefix, oif int, table uint32, e Encap) *Change {
	family := unix.AF_INET6
	if prefix.Addr().Is4() {
		family = unix.AF_INET
	}
	r := &Route{Msg: nl.RtMsg{RtMsg: unix.RtMsg{
		Family:   uint8(family),
		Dst_len:  uint8(prefix.Bits()),
		Protocol: unix.RTPROT_BOOT,
		Scope:    unix.RT_SCOPE_LINK,
		Type:     unix.RTN_UNICAST,
	}}}
	if table < 256 {
		r.Msg.Table = uint8(table)
	} else {
		r.Msg.Table = unix.RT_TABLE_UNSPEC
	}
	r.Attrs = append(r.Attrs,
		newAttr(unix.RTA_DST, ipBytes(prefix.Masked().Addr())),
		newAttr(unix.RTA_TABLE, nl.Uint32Attr(table)),
		newAttr(unix.RTA_OIF, nl.Uint32Attr(uint32(oif))))
	if family == unix.AF_INET6 {
		// The metric the kernel would give it, written out so that the
		// route can be found again by its key (see Lookup).
		r.Attrs = append(r.Attrs, newAttr(unix.RTA_PRIORITY, nl.Uint32Attr(ip6DefaultMetric)))
	}
	return &Change{Kind: Added, Installed: r.withEncap(e)}
}

// Errors of Undo when the route is no longer the one lwtdump installed.
var (
	// ErrRouteGone means the route disappeared while it carried the capture:
	// its device went down (the kernel then drops its routes) or it was deleted.
	ErrRouteGone = errors.New("route was removed during the capture")
	// ErrRouteChanged means something else replaced the route while it carried the capture.
	ErrRouteChanged = errors.New("route was changed during the capture by something else")
	// ErrRestoreDiffers means the route put back differs from the original.
	ErrRestoreDiffers = errors.New("route put back differs from the original")
	// ErrNotCarried means that Apply made its change, but the route in its
	// place then was not the one it installed: something else changed it
	// at the same moment, or the kernel added a route beside it.
	ErrNotCarried = errors.New("does not carry the capture after the change")
)

// Owns reports whether r, as the kernel now holds it, is the route c
// installed: it uses lwtdump's nexthop copy, or it carries the same programs
// (whose names hold lwtdump's pid).
func (c *Change) Owns(r *Route) bool {
	if r == nil {
		return false
	}
	if id := c.Installed.NexthopID(); id != 0 {
		return r.NexthopID() == id
	}
	if r.NexthopID() != 0 {
		return false
	}
	want := c.Installed.Programs()
	return len(want) > 0 && sameProgramNames(r.Programs(), want)
}

// Apply makes the change in the kernel and checks that the route now is the
// one installed (and not a second route beside the first). For a route on
// a nexthop object it first creates lwtdump's copies of the nexthops; an id
// of theirs that another process took since it was chosen is chosen again,
// and record (when not nil) is called with the changed change before it is
// used, so that the state file holds every id that may be lwtdump's.
func (h *Handle) Apply(c *Change, record func(*Change) error) error {
	switch c.Kind {
	case Replaced:
		if err := h.createNexthops(c, record); err != nil {
			return fmt.Errorf("route %s: %w", c.Original.Dst(), err)
		}
		// NLM_F_REPLACE without NLM_F_CREATE: fail rather than add if the route went away.
		if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_REPLACE, c.Installed); err != nil {
			return errors.Join(fmt.Errorf("replace route %s: %w", c.Original.Dst(), err), h.deleteNexthops(c.Nexthops))
		}
	case Added:
		if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, c.Installed); err != nil {
			return fmt.Errorf("add route %s: %w", c.Installed.Dst(), err)
		}
	default:
		return fmt.Errorf("apply route change: unknown kind %q", c.Kind)
	}
	owned, err := h.Owned(c)
	if err != nil {
		return errors.Join(fmt.Errorf("check route %s: %w", c.Installed.Dst(), err), h.Undo(c))
	}
	if !owned {
		return errors.Join(fmt.Errorf("route %s in table %d %w", c.Installed.Dst(), c.Installed.Table(), ErrNotCarried), h.Undo(c))
	}
	return nil
}

// Owned reports whether the route in c's place is still the one c
// installed (see Owns). It needs no dump of the table where the lookup
// finds the route.
func (h *Handle) Owned(c *Change) (bool, error) {
	cur, err := h.lookupKey(c.Installed.Key(), false)
	if err != nil {
		return false, err
	}
	return c.Owns(cur), nil
}

// Undo puts the routing table back as it was before c was applied: a
// replaced route gets its original attributes back, an added route is
// deleted. It touches the route only while it still carries what c
// installed: a route that something else removed or replaced since is left
// as it is (ErrRouteGone, ErrRouteChanged), unless it already equals the
// original. After restoring it checks that the route the kernel holds equals
// the original (ErrRestoreDiffers).
func (h *Handle) Undo(c *Change) error {
	if c.Kind != Replaced && c.Kind != Added {
		return fmt.Errorf("undo route change: unknown kind %q", c.Kind)
	}
	dst, table := c.Installed.Dst(), c.Installed.Table()
	cur, err := h.lookupKey(c.Installed.Key(), false)
	if err != nil {
		return fmt.Errorf("restore route %s: %w", dst, err)
	}
	if !c.Owns(cur) {
		if cur != nil && c.Kind == Replaced {
			// Compared with the original below: the route as a dump has it.
			if cur, err = h.Lookup(c.Installed); err != nil {
				return fmt.Errorf("restore route %s: %w", dst, err)
			}
		}
		// The route no longer uses lwtdump's nexthop copies: they can go.
		nerr := h.deleteNexthops(c.Nexthops)
		switch {
		case c.Kind == Added:
			return nerr // the route lwtdump added is gone already
		case cur != nil && Equal(cur, c.Original):
			return nerr // already as it was
		case cur == nil:
			return errors.Join(fmt.Errorf("restore route %s in table %d: %w (its device went down, or it was deleted); not put back", dst, table, ErrRouteGone), nerr)
		default:
			return errors.Join(fmt.Errorf("restore route %s in table %d: %w; left as it is", dst, table, ErrRouteChanged), nerr)
		}
	}
	if c.Kind == Added {
		// Without the encap: its program fds mean nothing after a crash.
		if err := h.send(unix.RTM_DELROUTE, 0, c.Installed.withoutEncap()); err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete route %s: %w", dst, err)
		}
		// Its lookup alone: a route that is gone needs no scan of the table.
		if cur, _, err = h.fibMatch(dst, table); err == nil && c.Owns(cur) {
			err = fmt.Errorf("route %s in table %d is still there after its deletion", dst, table)
		}
		return err
	}
	if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_REPLACE, c.Original.request()); err != nil {
		// The route still uses lwtdump's nexthop copies, if any: deleting
		// them would delete the route. They stay, and the state file with them.
		return fmt.Errorf("restore route %s: %w", dst, err)
	}
	return errors.Join(h.verify(c.Original), h.deleteNexthops(c.Nexthops))
}

// verify checks that the kernel holds orig exactly.
func (h *Handle) verify(orig *Route) error {
	cur, err := h.Lookup(orig)
	switch {
	case err != nil:
		return fmt.Errorf("check restored route %s: %w", orig.Dst(), err)
	case cur == nil:
		return fmt.Errorf("restore route %s in table %d: %w: it is missing", orig.Dst(), orig.Table(), ErrRestoreDiffers)
	case !Equal(cur, orig):
		return fmt.Errorf("restore route %s in table %d: %w: %s", orig.Dst(), orig.Table(), ErrRestoreDiffers, Diff(orig, cur))
	}
	return nil
}

// Strip removes the encap from cur, a route as the kernel holds it, by
// replacing it with the same route without it; a seg6local route gets
// action as its only attribute instead (End for an End.BPF capture). It is
// how `lwtdump cleanup --strip` restores a route whose original was not
// recorded: lwtdump only captures routes that have no encap (or a bare End).
func (h *Handle) Strip(cur *Route, seg6Action int) error {
	if id := cur.NexthopID(); id != 0 {
		return fmt.Errorf("remove capture from route %s: it uses nexthop %d, lwtdump's copy of a nexthop that no state file names: point the route back at its own nexthop by hand (ip route replace ... nhid N), then delete %d (ip nexthop del id %d)", cur.Dst(), id, id, id)
	}
	orig := cur.request()
	if paths := orig.Paths(); paths != nil {
		orig = orig.withPaths(pathsWithoutEncap(paths))
	} else if cur.EncapType() == nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
		orig = orig.withEncap(Encap{Type: nl.LWTUNNEL_ENCAP_SEG6_LOCAL, Data: attrBytes(newAttr(nl.SEG6_LOCAL_ACTION, nl.Uint32Attr(uint32(seg6Action))))})
	} else {
		orig = orig.withoutEncap()
	}
	if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_REPLACE, orig); err != nil {
		return fmt.Errorf("remove capture from route %s: %w", cur.Dst(), err)
	}
	return nil
}

// Delete deletes cur, a route as the kernel holds it.
func (h *Handle) Delete(cur *Route) error {
	if err := h.send(unix.RTM_DELROUTE, 0, cur.request().withoutEncap()); err != nil {
		return fmt.Errorf("delete route %s: %w", cur.Dst(), err)
	}
	return nil
}

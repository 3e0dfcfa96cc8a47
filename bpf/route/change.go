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
// route as the kernel dumped it before (for Replaced) and the route as
// lwtdump installed it.
type Change struct {
	Kind      Kind
	Original  *Route // nil for Added
	Installed *Route
}

// attributes the kernel reports in a dump but does not take back in a request.
var dumpOnly = []uint16{unix.RTA_CACHEINFO}

// request returns the route as a request would carry it: without dump-only
// attributes and with only the rtm_flags a request may set.
func (r *Route) request() *Route {
	q := &Route{Msg: r.Msg}
	q.Msg.Flags &= unix.RTNH_F_ONLINK
	for _, a := range r.Attrs {
		if !slices.Contains(dumpOnly, a.Attr.Type&nlaTypeMask) {
			q.Attrs = append(q.Attrs, a)
		}
	}
	return q
}

// withEncap returns a copy of r whose encap is e.
func (r *Route) withEncap(e Encap) *Route {
	q := &Route{Msg: r.Msg}
	for _, a := range r.Attrs {
		switch a.Attr.Type & nlaTypeMask {
		case unix.RTA_ENCAP, unix.RTA_ENCAP_TYPE:
		default:
			q.Attrs = append(q.Attrs, a)
		}
	}
	q.Attrs = append(q.Attrs,
		newAttr(unix.RTA_ENCAP_TYPE, nl.Uint16Attr(e.Type)),
		newAttr(unix.RTA_ENCAP|unix.NLA_F_NESTED, e.Data))
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
		var hdr [unix.SizeofRtAttr]byte
		binary.NativeEndian.PutUint16(hdr[0:2], uint16(unix.SizeofRtAttr+len(a.Value)))
		binary.NativeEndian.PutUint16(hdr[2:4], a.Attr.Type)
		b.Write(hdr[:])
		b.Write(a.Value)
		b.Write(make([]byte, rtaAlign(len(a.Value))-len(a.Value)))
	}
	return b.Bytes()
}

// ParseRoute decodes a payload written by Bytes (or dumped by the kernel).
func ParseRoute(b []byte) (*Route, error) { return parseRoute(b) }

func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

// send makes one RTM_NEWROUTE or RTM_DELROUTE request and waits for its acknowledgement.
func (h *Handle) send(typ, flags int, r *Route) error {
	req := nl.NewNetlinkRequest(typ, flags|unix.NLM_F_ACK)
	req.AddRawData(r.Bytes())
	_, err := h.exec(req, 0)
	return err
}

// ErrNotRestorable means a route cannot be changed because lwtdump could not
// put it back exactly, or because an encap would change how it forwards.
var ErrNotRestorable = errors.New("route cannot be restored exactly")

// CheckReplaceable refuses routes whose replacement by an encap route would
// change forwarding or could not be undone exactly.
func CheckReplaceable(r *Route) error {
	switch {
	case r.Multipath():
		return fmt.Errorf("route %s is multipath: %w", r.Dst(), ErrNotRestorable)
	case r.NexthopID() != 0:
		return fmt.Errorf("route %s uses nexthop object %d, which cannot carry an encap: %w", r.Dst(), r.NexthopID(), ErrNotRestorable)
	case r.EncapType() != 0:
		return fmt.Errorf("route %s already has an encap (%s): %w", r.Dst(), EncapName(r.EncapType()), ErrNotRestorable)
	case r.expires():
		return fmt.Errorf("route %s expires (it was learned, not configured): %w", r.Dst(), ErrNotRestorable)
	}
	return nil
}

// expires reports whether the kernel will remove the route by itself (an
// IPv6 route learned from a router advertisement).
func (r *Route) expires() bool {
	ci := r.attr(unix.RTA_CACHEINFO)
	if len(ci) < 16 {
		return false
	}
	return binary.NativeEndian.Uint32(ci[12:16]) != 0 // rta_expires
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

// PlanReplace prepares the replacement of orig by the same route carrying e.
// Nothing is sent: record the change first, then Apply it.
func PlanReplace(orig *Route, e Encap) *Change {
	return &Change{Kind: Replaced, Original: orig, Installed: orig.request().withEncap(e)}
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
	return &Change{Kind: Added, Installed: r.withEncap(e)}
}

// Apply makes the change in the kernel and checks that the route now is the
// one installed (and not a second route beside the first).
func (h *Handle) Apply(c *Change) error {
	switch c.Kind {
	case Replaced:
		// NLM_F_REPLACE without NLM_F_CREATE: fail rather than add if the route went away.
		if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_REPLACE, c.Installed); err != nil {
			return fmt.Errorf("replace route %s: %w", c.Original.Dst(), err)
		}
	case Added:
		if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, c.Installed); err != nil {
			return fmt.Errorf("add route %s: %w", c.Installed.Dst(), err)
		}
	default:
		return fmt.Errorf("apply route change: unknown kind %q", c.Kind)
	}
	return nil
}

// Undo puts the routing table back as it was before c was applied: a
// replaced route gets its original attributes back, an added route is deleted.
func (h *Handle) Undo(c *Change) error {
	switch c.Kind {
	case Replaced:
		orig := c.Original.request()
		err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_REPLACE, orig)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			// Someone removed our route: the original existed, so add it back.
			err = h.send(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, orig)
		}
		if err != nil {
			return fmt.Errorf("restore route %s: %w", c.Original.Dst(), err)
		}
	case Added:
		err := h.send(unix.RTM_DELROUTE, 0, c.Installed)
		if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete route %s: %w", c.Installed.Dst(), err)
		}
	default:
		return fmt.Errorf("undo route change: unknown kind %q", c.Kind)
	}
	return nil
}

// Package route finds, changes and restores kernel routes over rtnetlink,
// keeping every route exactly as the kernel dumped it so that it can be put
// back byte for byte.
//
// vishvananda/netlink cannot do this on its own: a dumped route with a BPF
// encap carries program names but no fds, and netlink.Route has no field for
// RTA_PREF, RTA_EXPIRES or a nexthop id, so RouteList followed by
// RouteReplace either fails or changes the route. This package therefore
// keeps the raw rtmsg and attributes of every route it touches and replays
// them, and uses the library's nl package for the socket and messages.
package route

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attribute numbers missing from golang.org/x/sys/unix.
const (
	rtaNhID     = 30     // RTA_NH_ID
	nlaTypeMask = 0x3fff // NLA_TYPE_MASK: the type without the nested and byte-order flags
)

// Handle is an rtnetlink connection to one network namespace.
type Handle struct {
	netns string
	ns    netns.NsHandle
	sock  *nl.NetlinkSocket
	links *netlink.Handle
}

// ErrNoNetns means the named network namespace does not exist.
var ErrNoNetns = errors.New("no such network namespace")

// Open connects to the routing tables of the named network namespace, or of
// the current one when name is "".
func Open(name string) (_ *Handle, err error) {
	h := &Handle{netns: name, ns: netns.None()}
	defer func() {
		if err != nil {
			h.Close() // h, not the result, which a failing return sets to nil
		}
	}()
	if name != "" {
		if h.ns, err = netns.GetFromName(name); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil, fmt.Errorf("open netns %q: %w", name, ErrNoNetns)
			}
			return nil, fmt.Errorf("open netns %q: %w", name, err)
		}
	}
	if h.sock, err = nl.GetNetlinkSocketAt(h.ns, netns.None(), unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(int64(5e9))
	if err := h.sock.SetReceiveTimeout(&tv); err != nil {
		return nil, fmt.Errorf("set rtnetlink timeout: %w", err)
	}
	_ = h.sock.SetExtAck(true) // best effort: kernel error messages in our errors
	if h.links, err = netlink.NewHandleAt(h.ns); err != nil {
		return nil, fmt.Errorf("open netlink handle: %w", err)
	}
	return h, nil
}

// Netns is the name of the handle's network namespace ("" for the current one).
func (h *Handle) Netns() string { return h.netns }

// Close releases the handle.
func (h *Handle) Close() error {
	if h.links != nil {
		h.links.Close()
	}
	if h.sock != nil {
		h.sock.Close()
	}
	if h.ns.IsOpen() {
		h.ns.Close()
	}
	return nil
}

// LinkIndex returns the ifindex of the named device.
func (h *Handle) LinkIndex(name string) (int, error) {
	l, err := h.links.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("find device %q: %w", name, err)
	}
	return l.Attrs().Index, nil
}

// LinkName returns the name of the device with the given ifindex, or "" when there is none.
func (h *Handle) LinkName(index int) string {
	if index == 0 {
		return ""
	}
	l, err := h.links.LinkByIndex(index)
	if err != nil {
		return ""
	}
	return l.Attrs().Name
}

// exec sends one request and returns the payloads of the replies of type resType.
func (h *Handle) exec(req *nl.NetlinkRequest, resType uint16) ([][]byte, error) {
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: h.sock}}
	return req.Execute(unix.NETLINK_ROUTE, resType)
}

// Route is one route as the kernel dumped it.
type Route struct {
	Msg   nl.RtMsg
	Attrs []syscall.NetlinkRouteAttr
}

// Family is unix.AF_INET or unix.AF_INET6.
func (r *Route) Family() int { return int(r.Msg.Family) }

func (r *Route) attr(typ uint16) []byte {
	for _, a := range r.Attrs {
		if a.Attr.Type&nlaTypeMask == typ {
			return a.Value
		}
	}
	return nil
}

func (r *Route) u32(typ uint16) (uint32, bool) {
	v := r.attr(typ)
	if len(v) < 4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(v), true
}

// Dst is the route's destination prefix.
func (r *Route) Dst() netip.Prefix {
	addr, ok := netip.AddrFromSlice(r.attr(unix.RTA_DST))
	if !ok {
		if r.Family() == unix.AF_INET {
			addr = netip.IPv4Unspecified()
		} else {
			addr = netip.IPv6Unspecified()
		}
	}
	return netip.PrefixFrom(addr.Unmap(), int(r.Msg.Dst_len))
}

// Table is the route's table (RTA_TABLE, or rtm_table for tables below 256).
func (r *Route) Table() uint32 {
	if t, ok := r.u32(unix.RTA_TABLE); ok {
		return t
	}
	return uint32(r.Msg.Table)
}

// Priority is the route's metric (RTA_PRIORITY), 0 when absent.
func (r *Route) Priority() uint32 {
	p, _ := r.u32(unix.RTA_PRIORITY)
	return p
}

// OIF is the ifindex of the route's output device, 0 when it has none.
func (r *Route) OIF() int {
	o, _ := r.u32(unix.RTA_OIF)
	return int(o)
}

// Gateway is the route's next hop address, invalid when it has none.
func (r *Route) Gateway() netip.Addr {
	a, _ := netip.AddrFromSlice(r.attr(unix.RTA_GATEWAY))
	return a.Unmap()
}

// EncapType is the route's lightweight tunnel type (nl.LWTUNNEL_ENCAP_*), 0 when it has none.
func (r *Route) EncapType() uint16 {
	v := r.attr(unix.RTA_ENCAP_TYPE)
	if len(v) < 2 {
		return 0
	}
	return binary.NativeEndian.Uint16(v)
}

// Encap is the raw RTA_ENCAP payload.
func (r *Route) Encap() []byte { return r.attr(unix.RTA_ENCAP) }

// Multipath reports whether the route has several next hops.
func (r *Route) Multipath() bool { return r.attr(unix.RTA_MULTIPATH) != nil }

// NexthopID is the id of the nexthop object the route uses, 0 when none.
func (r *Route) NexthopID() uint32 {
	id, _ := r.u32(rtaNhID)
	return id
}

// String describes the route in the words of `ip route`.
func (r *Route) String() string {
	var b strings.Builder
	b.WriteString(r.Dst().String())
	if gw := r.Gateway(); gw.IsValid() {
		b.WriteString(" via " + gw.String())
	}
	if o := r.OIF(); o != 0 {
		fmt.Fprintf(&b, " oif %d", o)
	}
	fmt.Fprintf(&b, " table %d", r.Table())
	if p := r.Priority(); p != 0 {
		fmt.Fprintf(&b, " metric %d", p)
	}
	return b.String()
}

// parseRoute decodes one RTM_NEWROUTE payload. The attribute values are copied.
func parseRoute(b []byte) (*Route, error) {
	if len(b) < unix.SizeofRtMsg {
		return nil, fmt.Errorf("short route message (%d bytes)", len(b))
	}
	r := &Route{Msg: *nl.DeserializeRtMsg(b)}
	attrs, err := nl.ParseRouteAttr(b[unix.SizeofRtMsg:])
	if err != nil {
		return nil, fmt.Errorf("parse route attributes: %w", err)
	}
	for _, a := range attrs {
		a.Value = append([]byte(nil), a.Value...)
		r.Attrs = append(r.Attrs, a)
	}
	return r, nil
}

// List dumps every route of the family (unix.AF_INET or unix.AF_INET6) in every table.
func (h *Handle) List(family int) ([]*Route, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETROUTE, unix.NLM_F_DUMP)
	req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family)}})
	msgs, err := h.exec(req, unix.RTM_NEWROUTE)
	if err != nil {
		return nil, fmt.Errorf("dump routes: %w", err)
	}
	routes := make([]*Route, 0, len(msgs))
	for _, m := range msgs {
		r, err := parseRoute(m)
		if err != nil {
			return nil, err
		}
		if r.Msg.Flags&unix.RTM_F_CLONED != 0 {
			continue // a cache entry, not a route
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// Find returns the unicast routes for exactly prefix in table, lowest metric first.
func (h *Handle) Find(prefix netip.Prefix, table uint32) ([]*Route, error) {
	family := unix.AF_INET6
	if prefix.Addr().Is4() {
		family = unix.AF_INET
	}
	all, err := h.List(family)
	if err != nil {
		return nil, err
	}
	var found []*Route
	for _, r := range all {
		if r.Msg.Type == unix.RTN_UNICAST && r.Table() == table && r.Dst() == prefix && r.Msg.Src_len == 0 {
			found = append(found, r)
		}
	}
	for i := 1; i < len(found); i++ { // insertion sort: there are one or two
		for j := i; j > 0 && found[j].Priority() < found[j-1].Priority(); j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	return found, nil
}

// FindLocal returns the SRv6 local SID route (seg6local encap) for sid in table.
func (h *Handle) FindLocal(sid netip.Addr, table uint32) (*Route, error) {
	routes, err := h.Find(netip.PrefixFrom(sid, 128), table)
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		if r.EncapType() == nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
			return r, nil
		}
	}
	return nil, nil
}

// ipBytes returns the address in the length its family uses on the wire.
func ipBytes(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// NetIP converts a netip.Prefix for APIs that want net.IPNet.
func NetIP(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: ipBytes(p.Addr()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// ProgramNames returns the names of the BPF programs on the route: those of
// a bpf encap (in, out, xmit) or of a seg6local End.BPF action.
func (r *Route) ProgramNames() []string {
	attrs, err := nl.ParseRouteAttr(r.Encap())
	if err != nil {
		return nil
	}
	var names []string
	for _, a := range attrs {
		switch {
		case r.EncapType() == nl.LWTUNNEL_ENCAP_BPF && a.Attr.Type&nlaTypeMask <= nl.LWT_BPF_XMIT,
			r.EncapType() == nl.LWTUNNEL_ENCAP_SEG6_LOCAL && a.Attr.Type&nlaTypeMask == nl.SEG6_LOCAL_BPF:
			inner, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				continue
			}
			for _, p := range inner {
				if p.Attr.Type&nlaTypeMask == nl.LWT_BPF_PROG_NAME {
					names = append(names, strings.TrimRight(string(p.Value), "\x00"))
				}
			}
		}
	}
	return names
}

// Seg6LocalAction is the action of a seg6local route (nl.SEG6_LOCAL_ACTION_*), 0 for other routes.
func (r *Route) Seg6LocalAction() int {
	if r.EncapType() != nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
		return 0
	}
	attrs, err := nl.ParseRouteAttr(r.Encap())
	if err != nil {
		return 0
	}
	for _, a := range attrs {
		if a.Attr.Type&nlaTypeMask == nl.SEG6_LOCAL_ACTION && len(a.Value) >= 4 {
			return int(binary.NativeEndian.Uint32(a.Value))
		}
	}
	return 0
}

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
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
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
	sh    *nl.SocketHandle // numbers the requests on sock, so that notifications name them
	links *netlink.Handle
	// changeSeq is the nlmsg_seq of the last route change sent: the
	// notification of the change carries it.
	changeSeq uint32
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
	h.sh = &nl.SocketHandle{Socket: h.sock}
	// Strict checking: the kernel filters dumps by table (see Walk).
	if err := unix.SetsockoptInt(h.sock.GetFd(), unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1); err != nil {
		return nil, fmt.Errorf("set rtnetlink strict checking: %w", err)
	}
	// NETLINK_ROUTE only: without a family, the library also opens XFRM
	// and netfilter sockets, which fail where xfrm_user or nfnetlink
	// cannot be loaded.
	if h.links, err = netlink.NewHandleAt(h.ns, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("open netlink handle: %w", err)
	}
	return h, nil
}

// Netns is the name of the handle's network namespace ("" for the current one).
func (h *Handle) Netns() string { return h.netns }

// NetnsID identifies the handle's network namespace as /proc/PID/ns/net
// does ("net:[4026531840]"), or is "" when it cannot be read.
func (h *Handle) NetnsID() string { return netnsID(h.ns) }

func netnsID(ns netns.NsHandle) string {
	var st unix.Stat_t
	var err error
	if ns.IsOpen() {
		err = unix.Fstat(int(ns), &st)
	} else {
		err = unix.Stat("/proc/self/ns/net", &st)
	}
	if err != nil {
		return ""
	}
	return fmt.Sprintf("net:[%d]", st.Ino)
}

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
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: h.sh}
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

// Multipath reports whether the route has several next hops of its own (RTA_MULTIPATH, without a nexthop object).
func (r *Route) Multipath() bool { return r.attr(unix.RTA_MULTIPATH) != nil && r.NexthopID() == 0 }

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

// Program is a BPF program on a route, as the kernel dumps it.
type Program struct {
	Hook string // "in", "out", "xmit" (a bpf encap) or "End.BPF" (a seg6local action)
	Name string // the name given when it was attached
}

// Programs returns the BPF programs on the route: those of a bpf encap (in,
// out, xmit) or of a seg6local End.BPF action, on the route itself or on its
// paths (a program on every path of a multipath route is listed once).
func (r *Route) Programs() []Program {
	progs := encapPrograms(r.EncapType(), r.Encap())
	for _, p := range r.Paths() {
		for _, prog := range encapPrograms(p.encapType(), p.attr(unix.RTA_ENCAP)) {
			if !slices.Contains(progs, prog) {
				progs = append(progs, prog)
			}
		}
	}
	return progs
}

// encapPrograms returns the BPF programs of an encap.
func encapPrograms(typ uint16, encap []byte) []Program {
	if typ != nl.LWTUNNEL_ENCAP_BPF && typ != nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
		return nil
	}
	attrs, err := nl.ParseRouteAttr(encap)
	if err != nil {
		return nil
	}
	var progs []Program
	for _, a := range attrs {
		t := a.Attr.Type & nlaTypeMask
		var hook string
		switch {
		case typ == nl.LWTUNNEL_ENCAP_BPF && t == nl.LWT_BPF_IN:
			hook = "in"
		case typ == nl.LWTUNNEL_ENCAP_BPF && t == nl.LWT_BPF_OUT:
			hook = "out"
		case typ == nl.LWTUNNEL_ENCAP_BPF && t == nl.LWT_BPF_XMIT:
			hook = "xmit"
		case typ == nl.LWTUNNEL_ENCAP_SEG6_LOCAL && t == nl.SEG6_LOCAL_BPF:
			hook = "End.BPF"
		default:
			continue
		}
		inner, err := nl.ParseRouteAttr(a.Value)
		if err != nil {
			continue
		}
		p := Program{Hook: hook}
		for _, in := range inner {
			if in.Attr.Type&nlaTypeMask == nl.LWT_BPF_PROG_NAME {
				p.Name = strings.TrimRight(string(in.Value), "\x00")
			}
		}
		progs = append(progs, p)
	}
	return progs
}

// sameProgramNames reports whether two lists hold the same program names, in any order.
func sameProgramNames(a, b []Program) bool {
	names := func(progs []Program) []string {
		var n []string
		for _, p := range progs {
			n = append(n, p.Name)
		}
		slices.Sort(n)
		return n
	}
	return slices.Equal(names(a), names(b))
}

// ProgramNames returns the names of the BPF programs on the route.
func (r *Route) ProgramNames() []string {
	var names []string
	for _, p := range r.Programs() {
		names = append(names, p.Name)
	}
	return names
}

// Equal reports whether two dumped routes are the same route: the same
// rtmsg and attributes, leaving out what the kernel changes by itself
// (RTA_CACHEINFO, and rtm_flags other than onlink such as linkdown).
func Equal(a, b *Route) bool {
	return bytes.Equal(a.request().Bytes(), b.request().Bytes())
}

// Diff names what differs between two dumped routes, such as
// "protocol 3 != 4, RTA_PREF", or "" when they are Equal.
func Diff(a, b *Route) string {
	a, b = a.request(), b.request()
	var d []string
	for _, f := range []struct {
		name string
		x, y uint8
	}{
		{"family", a.Msg.Family, b.Msg.Family}, {"dst_len", a.Msg.Dst_len, b.Msg.Dst_len},
		{"src_len", a.Msg.Src_len, b.Msg.Src_len}, {"tos", a.Msg.Tos, b.Msg.Tos},
		{"table", a.Msg.Table, b.Msg.Table}, {"protocol", a.Msg.Protocol, b.Msg.Protocol},
		{"scope", a.Msg.Scope, b.Msg.Scope}, {"type", a.Msg.Type, b.Msg.Type},
	} {
		if f.x != f.y {
			d = append(d, fmt.Sprintf("%s %d != %d", f.name, f.x, f.y))
		}
	}
	if a.Msg.Flags != b.Msg.Flags {
		d = append(d, fmt.Sprintf("flags %#x != %#x", a.Msg.Flags, b.Msg.Flags))
	}
	types := map[uint16]bool{}
	for _, r := range []*Route{a, b} {
		for _, at := range r.Attrs {
			types[at.Attr.Type&nlaTypeMask] = true
		}
	}
	var names []string
	for t := range types {
		if !bytes.Equal(a.attr(t), b.attr(t)) || (a.attr(t) == nil) != (b.attr(t) == nil) {
			names = append(names, attrName(t))
		}
	}
	slices.Sort(names)
	d = append(d, names...)
	if len(d) == 0 && !Equal(a, b) {
		d = append(d, "attribute order")
	}
	return strings.Join(d, ", ")
}

// attrName names a route attribute as the kernel's headers do.
func attrName(t uint16) string {
	names := map[uint16]string{
		unix.RTA_DST: "RTA_DST", unix.RTA_SRC: "RTA_SRC", unix.RTA_IIF: "RTA_IIF",
		unix.RTA_OIF: "RTA_OIF", unix.RTA_GATEWAY: "RTA_GATEWAY", unix.RTA_PRIORITY: "RTA_PRIORITY",
		unix.RTA_PREFSRC: "RTA_PREFSRC", unix.RTA_METRICS: "RTA_METRICS", unix.RTA_MULTIPATH: "RTA_MULTIPATH",
		unix.RTA_FLOW: "RTA_FLOW", unix.RTA_TABLE: "RTA_TABLE", unix.RTA_MARK: "RTA_MARK",
		unix.RTA_VIA: "RTA_VIA", unix.RTA_NEWDST: "RTA_NEWDST", unix.RTA_PREF: "RTA_PREF",
		unix.RTA_ENCAP_TYPE: "RTA_ENCAP_TYPE", unix.RTA_ENCAP: "RTA_ENCAP", unix.RTA_EXPIRES: "RTA_EXPIRES",
		rtaNhID: "RTA_NH_ID",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("attribute %d", t)
}

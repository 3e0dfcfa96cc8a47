package route

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	cbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Watcher reads the rtnetlink notifications of a Handle's network
// namespace that concern a set of routes: their changes (RTM_NEWROUTE,
// RTM_DELROUTE), and the link and nexthop changes that may remove or change
// them without a route notification. Each notification names, in its
// nlmsg_pid, the port id of the socket whose request caused it (0 for the
// kernel's own changes), so the changes the Handle made are told from those
// of other processes.
//
// vishvananda/netlink's RouteSubscribe decodes notifications into
// netlink.Route, which drops what exact restores need (see the package
// doc) and the sender's port id; this reads them by hand.
type Watcher struct {
	f    *os.File
	rc   syscall.RawConn
	buf  []byte
	port uint32 // the port id of the Handle's socket
	keys []Key
	// received counts the datagrams read: what the kernel let through.
	received int
	// interrupted makes a Read return ErrInterrupted (see Interrupt).
	interrupted atomic.Bool
	// msgs holds the messages of the last datagram not yet returned.
	msgs []syscall.NetlinkMessage
	read time.Time // when they were read
}

// Event is one notification.
type Event struct {
	Type  uint16    // unix.RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWLINK, RTM_DELLINK, RTM_NEWNEXTHOP or RTM_DELNEXTHOP
	Flags uint16    // nlmsg_flags, such as NLM_F_REPLACE on a route that replaced another
	Seq   uint32    // nlmsg_seq of the request that caused it
	Port  uint32    // nlmsg_pid: the port id of the socket whose request caused it, 0 for the kernel
	Own   bool      // caused by a request of the watcher's Handle
	Time  time.Time // when it was read
	Route *Route    // the route, for route events: as the kernel holds it now, or as it was before its deletion
	Link  int       // the ifindex, for link events
	Up    bool      // the link is administratively up (RTM_NEWLINK)
	NhID  uint32    // the nexthop id, for nexthop events
}

// ErrLost means notifications were lost because the socket's buffer was
// full: what the kernel holds must be looked up again.
var ErrLost = errors.New("route notifications lost")

// watchBuffer is the receive buffer asked for the watch socket: large
// enough for the bursts of a full table being reloaded, although the
// kernel-side filter lets few of those messages through.
const watchBuffer = 8 << 20

// Watch opens a socket that receives the notifications about routes whose
// prefix has one of the given lengths, and about links and nexthop objects,
// in the handle's network namespace. Open it before looking routes up and
// changing them, so that no change made by others in between is missed;
// Read returns the route notifications once SetKeys has named the routes.
func (h *Handle) Watch(prefixLens []int) (_ *Watcher, err error) {
	port, err := h.sock.GetPid()
	if err != nil {
		return nil, fmt.Errorf("watch routes: %w", err)
	}
	s, err := nl.GetNetlinkSocketAt(h.ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("watch routes: open rtnetlink socket: %w", err)
	}
	// The library's socket is non-blocking; a duplicate of its descriptor
	// goes to the runtime's poller, so that a read waits with a deadline
	// and Close wakes it.
	fd, err := unix.FcntlInt(uintptr(s.GetFd()), unix.F_DUPFD_CLOEXEC, 0)
	s.Close()
	if err != nil {
		return nil, fmt.Errorf("watch routes: %w", err)
	}
	w := &Watcher{f: os.NewFile(uintptr(fd), "rtnetlink-watch"), buf: make([]byte, 64<<10), port: port}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.rc, err = w.f.SyscallConn(); err != nil {
		return nil, fmt.Errorf("watch routes: %w", err)
	}
	var serr error
	err = w.rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, watchBuffer) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, watchBuffer) // best effort without CAP_NET_ADMIN
		}
		if serr = attachFilter(int(fd), prefixLens, nil); serr != nil {
			serr = fmt.Errorf("attach notification filter: %w", serr)
			return
		}
		for _, g := range []int{unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_NEXTHOP, unix.RTNLGRP_LINK} {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); serr != nil {
				serr = fmt.Errorf("join rtnetlink group %d: %w", g, serr)
				return
			}
		}
	})
	if err = errors.Join(err, serr); err != nil {
		return nil, fmt.Errorf("watch routes: %w", err)
	}
	return w, nil
}

// SetKeys names the routes whose notifications Read returns. Call it before
// the first Read. The kernel then drops the notifications of other routes
// (when it cannot, Read does).
func (w *Watcher) SetKeys(keys []Key) {
	w.keys = keys
	w.rc.Control(func(fd uintptr) { _ = attachFilter(int(fd), nil, keys) })
}

// ErrInterrupted is returned by a Read that Interrupt woke.
var ErrInterrupted = errors.New("route notifications: read interrupted")

// Interrupt makes the Read waiting now, or else the next one, return
// ErrInterrupted. It may be called from another goroutine.
func (w *Watcher) Interrupt() {
	w.interrupted.Store(true)
	w.f.SetReadDeadline(time.Now())
}

// Port is the port id of the Handle's socket: notifications with it in
// nlmsg_pid are the Handle's own changes.
func (w *Watcher) Port() uint32 { return w.port }

// Close closes the socket; a Read waiting on it returns.
func (w *Watcher) Close() error { return w.f.Close() }

// Read returns the next notification about one of the watched routes (any
// link or nexthop notification is returned too). It waits until deadline,
// then returns os.ErrDeadlineExceeded (a zero deadline waits for ever). It
// returns ErrLost once after notifications were lost.
func (w *Watcher) Read(deadline time.Time) (Event, error) {
	for {
		for len(w.msgs) > 0 {
			m := w.msgs[0]
			w.msgs = w.msgs[1:]
			if ev, ok := w.decode(m); ok {
				return ev, nil
			}
		}
		if err := w.receive(deadline); err != nil {
			return Event{}, err
		}
	}
}

// receive reads one datagram into w.msgs.
func (w *Watcher) receive(deadline time.Time) error {
	if err := w.f.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("read route notifications: %w", err)
	}
	// After setting the deadline: an Interrupt before it is seen here, one
	// after it wakes the read.
	if w.interrupted.Swap(false) {
		return ErrInterrupted
	}
	var n int
	var rerr error
	err := w.rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), w.buf, unix.MSG_TRUNC)
		return rerr != unix.EAGAIN
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if w.interrupted.Swap(false) {
			return ErrInterrupted
		}
		return err
	case err != nil: // the poller's "use of closed file"
		return os.ErrClosed
	case errors.Is(rerr, unix.ENOBUFS):
		return ErrLost
	case rerr != nil:
		return fmt.Errorf("read route notifications: %w", rerr)
	case n > len(w.buf):
		return ErrLost // truncated: a message larger than any route's
	}
	w.read = time.Now()
	w.received++
	msgs, err := syscall.ParseNetlinkMessage(w.buf[:n])
	if err != nil {
		return fmt.Errorf("read route notifications: %w", err)
	}
	w.msgs = msgs
	return nil
}

// decode turns a message into an Event, and reports whether it is one the
// watcher returns: a route of a watched key, a link or a nexthop.
func (w *Watcher) decode(m syscall.NetlinkMessage) (Event, bool) {
	ev := Event{Type: m.Header.Type, Flags: m.Header.Flags, Seq: m.Header.Seq, Port: m.Header.Pid, Time: w.read}
	ev.Own = ev.Port == w.port && ev.Port != 0
	switch m.Header.Type {
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		k, ok := peekKey(m.Data)
		if !ok || !slices.Contains(w.keys, k) {
			return ev, false
		}
		r, err := parseRoute(m.Data)
		if err != nil || r.Msg.Flags&unix.RTM_F_CLONED != 0 {
			return ev, false
		}
		ev.Route = r
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		if len(m.Data) < unix.SizeofIfInfomsg {
			return ev, false
		}
		ev.Link = int(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
		ev.Up = m.Header.Type == unix.RTM_NEWLINK && binary.NativeEndian.Uint32(m.Data[8:12])&unix.IFF_UP != 0
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		const sizeofNhmsg = 8
		if len(m.Data) < sizeofNhmsg {
			return ev, false
		}
		attrs, err := nl.ParseRouteAttr(m.Data[sizeofNhmsg:])
		if err != nil {
			return ev, false
		}
		for _, a := range attrs {
			if a.Attr.Type&nlaTypeMask == unix.NHA_ID && len(a.Value) >= 4 {
				ev.NhID = binary.NativeEndian.Uint32(a.Value)
			}
		}
	default:
		return ev, false
	}
	return ev, true
}

// peekKey reads the key of a route message without copying it. A route
// with a source prefix or a TOS has none: lwtdump takes no such route.
func peekKey(b []byte) (Key, bool) {
	if len(b) < unix.SizeofRtMsg || b[2] != 0 || b[3] != 0 {
		return Key{}, false
	}
	family, dstLen := b[0], int(b[1])
	k := Key{Table: uint32(b[4])}
	dst := []byte(nil)
	for a := b[unix.SizeofRtMsg:]; len(a) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(a[0:2]))
		if l < unix.SizeofRtAttr || l > len(a) {
			return Key{}, false
		}
		v := a[unix.SizeofRtAttr:l]
		switch binary.NativeEndian.Uint16(a[2:4]) & nlaTypeMask {
		case unix.RTA_DST:
			dst = v
		case unix.RTA_TABLE:
			if len(v) >= 4 {
				k.Table = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_PRIORITY:
			if len(v) >= 4 {
				k.Metric = binary.NativeEndian.Uint32(v)
			}
		}
		a = a[min(rtaAlign(l), len(a)):]
	}
	addr, ok := netip.AddrFromSlice(dst)
	if !ok {
		if family == unix.AF_INET {
			addr = netip.IPv4Unspecified()
		} else {
			addr = netip.IPv6Unspecified()
		}
	}
	k.Dst = netip.PrefixFrom(addr.Unmap(), dstLen)
	return k, true
}

// attachFilter lets the kernel drop, before they reach the socket, the
// route notifications that concern none of the keys (or, without keys, whose
// prefix length none of prefixLens has): on a router with a full table,
// nearly all of them. Link and nexthop notifications pass.
func attachFilter(fd int, prefixLens []int, keys []Key) error {
	raw, err := cbpf.Assemble(filterProgram(prefixLens, keys))
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]})
}

// Offsets in a route notification: the 16-byte nlmsghdr, whose nlmsg_type
// is a host-order u16 at 4 (route types fit in its low byte), then the
// 12-byte rtmsg (rtm_family at 16, rtm_dst_len at 17), then the
// attributes. The kernel writes RTA_TABLE first (8 bytes, at 28), then
// RTA_DST (its type at 38, its address from 40), both for IPv4
// (fib_dump_info) and IPv6 (rt6_fill_node).
const (
	offFamily  = unix.SizeofNlMsghdr
	offDstLen  = unix.SizeofNlMsghdr + 1
	offDstType = unix.SizeofNlMsghdr + unix.SizeofRtMsg + 8 + 2
	offDst     = unix.SizeofNlMsghdr + unix.SizeofRtMsg + 8 + 4
)

// filterProgram is the classic BPF program of attachFilter. Where the
// attributes are not laid out as the kernel lays them out today, it falls
// back to the prefix lengths of the keys (of prefixLens without keys): a
// change in the kernel lets more through, never less.
func filterProgram(prefixLens []int, keys []Key) []cbpf.Instruction {
	const accept, drop = 0xffffffff, 0
	var lens []uint8
	for _, l := range prefixLens {
		if !slices.Contains(lens, uint8(l)) {
			lens = append(lens, uint8(l))
		}
	}
	for _, k := range keys {
		if !slices.Contains(lens, uint8(k.Dst.Bits())) {
			lens = append(lens, uint8(k.Dst.Bits()))
		}
	}
	lo, hi := uint32(0), uint32(1) // the bytes of a host-order u16
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		lo, hi = 1, 0
	}
	p := []cbpf.Instruction{
		cbpf.LoadAbsolute{Off: 4 + lo, Size: 1},
		cbpf.JumpIf{Cond: cbpf.JumpEqual, Val: unix.RTM_NEWROUTE, SkipTrue: 2},
		cbpf.JumpIf{Cond: cbpf.JumpEqual, Val: unix.RTM_DELROUTE, SkipTrue: 1},
		cbpf.RetConstant{Val: accept}, // not a route
	}
	var byLen []cbpf.Instruction
	for _, l := range lens {
		byLen = append(byLen, cbpf.JumpIf{Cond: cbpf.JumpNotEqual, Val: uint32(l), SkipTrue: 1}, cbpf.RetConstant{Val: accept})
	}
	byLen = append([]cbpf.Instruction{cbpf.LoadAbsolute{Off: offDstLen, Size: 1}}, append(byLen, cbpf.RetConstant{Val: drop})...)
	if len(keys) == 0 {
		return append(p, byLen...)
	}
	var byKey []cbpf.Instruction
	for _, k := range keys {
		addr := k.Dst.Addr().AsSlice()
		var words []uint32
		for i := 0; i+4 <= len(addr) && i < 8; i += 4 {
			words = append(words, binary.BigEndian.Uint32(addr[i:]))
		}
		block := []cbpf.Instruction{
			cbpf.LoadAbsolute{Off: offFamily, Size: 1},
			cbpf.JumpIf{Cond: cbpf.JumpNotEqual, Val: uint32(k.family())},
			cbpf.LoadAbsolute{Off: offDstLen, Size: 1},
			cbpf.JumpIf{Cond: cbpf.JumpNotEqual, Val: uint32(k.Dst.Bits())},
		}
		for i, w := range words {
			block = append(block, cbpf.LoadAbsolute{Off: offDst + uint32(4*i), Size: 4}, cbpf.JumpIf{Cond: cbpf.JumpNotEqual, Val: w})
		}
		block = append(block, cbpf.RetConstant{Val: accept})
		for i, ins := range block { // a mismatch skips to the next key
			if j, ok := ins.(cbpf.JumpIf); ok {
				j.SkipTrue = uint8(len(block) - i - 1)
				block[i] = j
			}
		}
		byKey = append(byKey, block...)
	}
	byKey = append(byKey, cbpf.RetConstant{Val: drop})
	// The layout check: an RTA_DST where the kernel puts it, else by length.
	p = append(p,
		cbpf.LoadAbsolute{Off: offDstType + hi, Size: 1},
		cbpf.JumpIf{Cond: cbpf.JumpNotEqual, Val: 0, SkipTrue: 2},
		cbpf.LoadAbsolute{Off: offDstType + lo, Size: 1},
		cbpf.JumpIf{Cond: cbpf.JumpEqual, Val: unix.RTA_DST, SkipTrue: 1},
		cbpf.Jump{Skip: uint32(len(byKey))},
	)
	return append(append(p, byKey...), byLen...)
}

// Replace puts r, a route as dumped or notified (or as a Change installs
// it), in the place of the route with its key, and returns the request's
// nlmsg_seq, which the notification of the change carries. It never
// creates a route: when none has r's key any more, it fails with an error
// for which Gone is true.
func (h *Handle) Replace(r *Route) (uint32, error) {
	if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_REPLACE, r.request()); err != nil {
		return 0, fmt.Errorf("replace route %s: %w", r.Dst(), err)
	}
	return h.changeSeq, nil
}

// Put installs r (NLM_F_CREATE|NLM_F_REPLACE) in the place of the route
// with its key, or anew when there is none, and returns the request's
// nlmsg_seq. It is for giving another process back the route that a change
// of lwtdump's just removed.
func (h *Handle) Put(r *Route) (uint32, error) {
	if err := h.send(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, r.request()); err != nil {
		return 0, fmt.Errorf("put back route %s: %w", r.Dst(), err)
	}
	return h.changeSeq, nil
}

// Remove deletes the route with r's key, as long as it is r without its
// encap (that is, what lwtdump added), and returns the request's nlmsg_seq.
func (h *Handle) Remove(r *Route) (uint32, error) {
	if err := h.send(unix.RTM_DELROUTE, 0, r.request().withoutEncap()); err != nil {
		return 0, fmt.Errorf("delete route %s: %w", r.Dst(), err)
	}
	return h.changeSeq, nil
}

// Gone reports whether a change failed because the route was not there.
func Gone(err error) bool { return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) }

// Protocol is the route's rtm_protocol: who installed it.
func (r *Route) Protocol() uint8 { return r.Msg.Protocol }

// protocolNames are iproute2's names for rtm_protocol (/etc/iproute2/rt_protos).
var protocolNames = map[uint8]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra", 10: "mrt",
	11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp", 17: "mrouted",
	18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip",
	192: "eigrp",
}

// ProtocolName names an rtm_protocol as `ip route` does: "bgp", "kernel", or the number.
func ProtocolName(p uint8) string {
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return fmt.Sprint(p)
}

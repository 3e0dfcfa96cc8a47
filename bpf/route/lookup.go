package route

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Finding a route on a router with a full table: a dump of a family is
// hundreds of thousands of routes, so a route is looked up by itself. The
// kernel's RTM_GETROUTE with RTM_F_FIB_MATCH returns the FIB entry it would
// use for an address (its prefix, table, metric and next hops, as a dump
// shows them), but it follows the policy rules (it takes no table) and
// answers only for the route in use. Where it cannot answer (a table the
// rules do not reach, a route with a higher metric, a route that is not
// there, and IPv6 multipath routes, whose paths its answer lists in another
// order), a dump filtered by the kernel to one family and table is read one
// batch at a time, keeping only the routes to the prefix.

// Key is a route's place in the kernel's tables: a route with the same key
// replaces it. lwtdump only takes routes without a source prefix and with
// TOS 0.
type Key struct {
	Table  uint32
	Dst    netip.Prefix
	Metric uint32 // RTA_PRIORITY
}

// Key is the route's key.
func (r *Route) Key() Key { return Key{Table: r.Table(), Dst: r.Dst(), Metric: r.Priority()} }

// String names the key as lwtdump's messages do: "2001:db8:20::/48 (table 254, metric 1024)".
func (k Key) String() string {
	return fmt.Sprintf("%s (table %d, metric %d)", k.Dst, k.Table, k.Metric)
}

func (k Key) family() int {
	if k.Dst.Addr().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// matches reports whether r is a unicast route to exactly prefix in table,
// with no source prefix and TOS 0.
func matches(r *Route, prefix netip.Prefix, table uint32) bool {
	return r.Msg.Type == unix.RTN_UNICAST && r.Table() == table && r.Dst() == prefix && r.Msg.Src_len == 0 && r.Msg.Tos == 0
}

// maxProbes bounds the addresses of a prefix that a lookup tries before
// it reads the table instead: each probe that a more specific route answers
// (the router's own address, anycast or broadcast address, a longer prefix)
// moves past that route.
const maxProbes = 4

// fibMatch asks the kernel which route it uses for addresses of prefix, and
// returns that route when it is a unicast route to exactly prefix in table;
// nil when the lookup cannot tell. ordered is false for an IPv6 multipath
// route: IPv6 lists the paths of its answer starting from the one the
// lookup's hash chose, not in the route's order, which only a dump gives.
// Such an answer tells whose the route is, not what exactly it is.
func (h *Handle) fibMatch(prefix netip.Prefix, table uint32) (r *Route, ordered bool, err error) {
	addr := prefix.Masked().Addr()
	for range maxProbes {
		r, err := h.getRoute(addr)
		if err != nil || r == nil {
			return nil, false, err
		}
		if matches(r, prefix, table) {
			return r, !(r.Family() == unix.AF_INET6 && r.Multipath()), nil
		}
		d := r.Dst()
		if d.Bits() <= prefix.Bits() || !prefix.Contains(d.Addr()) {
			return nil, false, nil // a shorter prefix, or another table's route: not this one
		}
		next := lastAddr(d).Next()
		if !next.IsValid() || !prefix.Contains(next) {
			return nil, false, nil
		}
		addr = next
	}
	return nil, false, nil
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// getRoute is `ip route get fibmatch ADDR`: the FIB entry the kernel uses
// for addr, or nil when it has none (no route, or one that refuses: an
// unreachable, prohibit or blackhole route).
func (h *Handle) getRoute(addr netip.Addr) (*Route, error) {
	family := unix.AF_INET6
	if addr.Is4() {
		family = unix.AF_INET
	}
	req := nl.NewNetlinkRequest(unix.RTM_GETROUTE, 0)
	req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family), Dst_len: uint8(addr.BitLen()), Flags: unix.RTM_F_FIB_MATCH}})
	req.AddData(nl.NewRtAttr(unix.RTA_DST, addr.AsSlice()))
	msgs, err := h.exec(req, unix.RTM_NEWROUTE)
	switch {
	case errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH) || errors.Is(err, unix.EACCES) ||
		errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT):
		// No route, or an unreachable, prohibit or blackhole one; EINVAL
		// for a route the lookup cannot use (such as a local SID of another
		// table's VRF). None of them is an answer.
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up route to %s: %w", addr, err)
	case len(msgs) != 1:
		return nil, nil
	}
	return parseRoute(msgs[0])
}

// Routes returns the unicast routes to exactly prefix in table (no source
// prefix, TOS 0), lowest metric first. When the kernel's lookup answers, the
// first is the route the kernel uses and is the only one returned: routes
// to the prefix with a higher metric (backups) are not looked for.
func (h *Handle) Routes(prefix netip.Prefix, table uint32) ([]*Route, error) {
	r, ordered, err := h.fibMatch(prefix, table)
	if err != nil {
		return nil, err
	}
	if r != nil && ordered {
		return []*Route{r}, nil
	}
	return h.scan(prefix, table)
}

// LookupKey returns the route the kernel holds at k, or nil when there is none.
func (h *Handle) LookupKey(k Key) (*Route, error) { return h.lookupKey(k, true) }

// lookupKey is LookupKey; when exact is false, the paths of an IPv6
// multipath route may come in another order than the route's, which is
// enough to tell whose the route is (Owns) and needs no dump.
func (h *Handle) lookupKey(k Key, exact bool) (*Route, error) {
	r, ordered, err := h.fibMatch(k.Dst, k.Table)
	if err != nil {
		return nil, err
	}
	if r != nil && r.Priority() == k.Metric && (ordered || !exact) {
		return r, nil
	}
	routes, err := h.scan(k.Dst, k.Table)
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		if r.Priority() == k.Metric {
			return r, nil
		}
	}
	return nil, nil
}

// Lookup returns the route the kernel now holds in r's place (same table,
// destination and metric), or nil when there is none.
func (h *Handle) Lookup(r *Route) (*Route, error) { return h.LookupKey(r.Key()) }

// FindLocal returns the SRv6 local SID route (seg6local encap) for sid in table.
func (h *Handle) FindLocal(sid netip.Addr, table uint32) (*Route, error) {
	routes, err := h.Routes(netip.PrefixFrom(sid, 128), table)
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		if r.EncapType() == nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
			return r, nil
		}
	}
	if len(routes) == 1 {
		// The lookup found another route to the SID: the local SID may
		// sit behind it at a higher metric.
		if routes, err = h.scan(netip.PrefixFrom(sid, 128), table); err != nil {
			return nil, err
		}
		for _, r := range routes {
			if r.EncapType() == nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
				return r, nil
			}
		}
	}
	return nil, nil
}

// scan reads the routes of prefix's family in table with a dump that the
// kernel filters by table, and returns those to exactly prefix, lowest
// metric first. Only they are kept: the dump is read one batch at a time.
func (h *Handle) scan(prefix netip.Prefix, table uint32) ([]*Route, error) {
	k := Key{Dst: prefix, Table: table}
	var found []*Route
	err := h.Walk(k.family(), table, func(m RouteMsg) (bool, error) {
		return m.DstLen() == prefix.Bits() && m.Type() == unix.RTN_UNICAST, nil
	}, func(r *Route) error {
		if matches(r, prefix, table) {
			found = append(found, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(found, func(a, b *Route) int { return cmp.Compare(a.Priority(), b.Priority()) })
	return found, nil
}

// RouteMsg is a route message of a dump as it was read, valid only during
// the call it is passed to: Walk's filter looks at it without copying it.
type RouteMsg []byte

// DstLen is the route's prefix length.
func (m RouteMsg) DstLen() int { return int(m[1]) }

// Type is the route's type (unix.RTN_*).
func (m RouteMsg) Type() uint8 { return m[7] }

// Flags are the route's rtm_flags.
func (m RouteMsg) Flags() uint32 { return binary.NativeEndian.Uint32(m[8:12]) }

// Attr returns the value of the first attribute of type typ, nil when none.
func (m RouteMsg) Attr(typ uint16) []byte { return findAttr(m[unix.SizeofRtMsg:], typ) }

// findAttr returns the value of the first attribute of type typ in b, a
// sequence of rtattrs, without copying or allocating.
func findAttr(b []byte, typ uint16) []byte {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		t := binary.NativeEndian.Uint16(b[2:4])
		if l < unix.SizeofRtAttr || l > len(b) {
			return nil
		}
		if t&nlaTypeMask == typ {
			return b[unix.SizeofRtAttr:l]
		}
		b = b[min(rtaAlign(l), len(b)):]
	}
	return nil
}

// HasPrograms reports, without copying the message, whether the route may
// carry a BPF program: a bpf or seg6local encap on it or on one of its paths.
func (m RouteMsg) HasPrograms() bool {
	isProg := func(v []byte) bool {
		if len(v) < 2 {
			return false
		}
		t := binary.NativeEndian.Uint16(v)
		return t == nl.LWTUNNEL_ENCAP_BPF || t == nl.LWTUNNEL_ENCAP_SEG6_LOCAL
	}
	if isProg(m.Attr(unix.RTA_ENCAP_TYPE)) {
		return true
	}
	mp := m.Attr(unix.RTA_MULTIPATH)
	for len(mp) >= unix.SizeofRtNexthop {
		l := int(binary.NativeEndian.Uint16(mp[0:2]))
		if l < unix.SizeofRtNexthop || l > len(mp) {
			return false
		}
		if isProg(findAttr(mp[unix.SizeofRtNexthop:l], unix.RTA_ENCAP_TYPE)) {
			return true
		}
		mp = mp[min(rtaAlign(l), len(mp)):]
	}
	return false
}

// maxDumpTries bounds the restarts of a dump that the kernel interrupted
// because the table changed while it was read.
const maxDumpTries = 3

// Walk dumps the routes of family (unix.AF_INET or unix.AF_INET6) in table
// (every table when 0), filtered by the kernel to that table, and reads the
// dump one batch at a time: keep sees each route message in place, and fn
// gets a copy of those keep accepts. Cache entries (RTM_F_CLONED) are
// skipped. A dump the kernel interrupted because the routes changed is
// read again, and fn may then see a route twice.
func (h *Handle) Walk(family int, table uint32, keep func(RouteMsg) (bool, error), fn func(*Route) error) error {
	var err error
	for range maxDumpTries {
		if err = h.walk(family, table, keep, fn); !errors.Is(err, nl.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

func (h *Handle) walk(family int, table uint32, keep func(RouteMsg) (bool, error), fn func(*Route) error) error {
	req := nl.NewNetlinkRequest(unix.RTM_GETROUTE, unix.NLM_F_DUMP)
	msg := &nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family)}}
	if table != 0 && table < 256 {
		msg.Table = uint8(table)
	}
	req.AddData(msg)
	if table >= 256 {
		req.AddData(nl.NewRtAttr(unix.RTA_TABLE, nl.Uint32Attr(table)))
	}
	err := h.dump(req, func(typ uint16, b []byte) error {
		m := RouteMsg(b)
		if typ != unix.RTM_NEWROUTE || len(m) < unix.SizeofRtMsg || m.Flags()&unix.RTM_F_CLONED != 0 {
			return nil
		}
		ok, err := keep(m)
		if err != nil || !ok {
			return err
		}
		r, err := parseRoute(b)
		if err != nil {
			return err
		}
		return fn(r)
	})
	if errors.Is(err, unix.ENOENT) {
		return nil // the table does not exist: it holds no route
	}
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return fmt.Errorf("dump routes: %w", err)
	}
	return err
}

// dump sends a dump request and hands each message of the answer to fn,
// one batch of messages at a time; a message is valid only during the call.
// It is written here rather than taken from vishvananda/netlink, whose
// ExecuteIter (v1.3.1) reads the error attributes of NLMSG_DONE as those of
// NLMSG_ERROR and fails when the kernel explains an error of a filtered dump.
// A dump the kernel interrupted because the routes changed ends with
// nl.ErrDumpInterrupted once it is read to its end.
func (h *Handle) dump(req *nl.NetlinkRequest, fn func(typ uint16, msg []byte) error) error {
	pid, err := h.sock.GetPid()
	if err != nil {
		return err
	}
	// Numbered as exec numbers its requests, so that no answer of one is
	// taken for the other's.
	req.Seq = atomic.AddUint32(&h.sh.Seq, 1)
	if err := h.sock.Send(req); err != nil {
		return err
	}
	var ferr error
	intr := false
	for {
		msgs, from, err := h.sock.Receive()
		if err != nil {
			return err
		}
		if from.Pid != nl.PidKernel {
			continue
		}
		for _, m := range msgs {
			if m.Header.Seq != req.Seq || m.Header.Pid != pid {
				continue // the rest of an earlier request's answer
			}
			if m.Header.Flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := int32(binary.NativeEndian.Uint32(m.Data[0:4])); errno < 0 {
						return unix.Errno(-errno)
					}
				}
				switch {
				case ferr != nil:
					return ferr
				case intr:
					return nl.ErrDumpInterrupted
				}
				return nil
			}
			if ferr == nil {
				// After an error of fn the rest of the answer is read and dropped.
				ferr = fn(m.Header.Type, m.Data)
			}
		}
	}
}

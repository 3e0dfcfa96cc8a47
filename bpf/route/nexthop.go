package route

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Nexthop objects (`ip nexthop`): a route with RTA_NH_ID uses a nexthop
// object, or a group of them, that other routes may share (FRR installs
// every route so). Such a route cannot carry an encap of its own; the
// nexthop can. So lwtdump captures on it through copies: a nexthop of its
// own for each of the route's (same gateway, device and flags, plus the
// encap), a group of those copies with the same type and weights when the
// route uses a group, and the route pointed at the copy. At exit the route
// is pointed back and the copies are deleted; the daemon's nexthops are
// never touched.

// Attributes of nexthop messages missing from golang.org/x/sys/unix.
const (
	nhaFDB      = 11 // NHA_FDB: a nexthop of a bridge's FDB
	nhaResGroup = 12 // NHA_RES_GROUP: nested attributes of a resilient group

	nhaResGroupBuckets         = 1 // NHA_RES_GROUP_BUCKETS
	nhaResGroupIdleTimer       = 2 // NHA_RES_GROUP_IDLE_TIMER
	nhaResGroupUnbalancedTimer = 3 // NHA_RES_GROUP_UNBALANCED_TIMER
)

// The range of the ids of lwtdump's nexthop copies: high in the id space,
// away from the ids that routing daemons give their own (FRR counts up from
// 1, below 2^28, and keeps 2^28 to 2^30 for EVPN). An id is checked free
// before it is used and taken with NLM_F_EXCL, so a daemon's id that falls
// in the range is never touched.
const (
	NexthopIDMin = 0xe0000000
	NexthopIDMax = 0xfffffffe
)

// nexthopProtocol is the nh_protocol of lwtdump's copies: unspec, which
// `ip nexthop` prints without a "proto" and which no daemon claims as its own.
const nexthopProtocol = unix.RTPROT_UNSPEC

// Nexthop is a nexthop object, as the kernel dumped it or as lwtdump creates it.
type Nexthop struct {
	Msg   unix.Nhmsg
	Attrs []syscall.NetlinkRouteAttr
}

// parseNexthop decodes one RTM_NEWNEXTHOP payload. The attribute values are copied.
func parseNexthop(b []byte) (*Nexthop, error) {
	if len(b) < unix.SizeofNhmsg {
		return nil, fmt.Errorf("short nexthop message (%d bytes)", len(b))
	}
	n := &Nexthop{Msg: unix.Nhmsg{Family: b[0], Scope: b[1], Protocol: b[2], Resvd: b[3], Flags: binary.NativeEndian.Uint32(b[4:8])}}
	attrs, err := nl.ParseRouteAttr(b[unix.SizeofNhmsg:])
	if err != nil {
		return nil, fmt.Errorf("parse nexthop attributes: %w", err)
	}
	for _, a := range attrs {
		a.Value = append([]byte(nil), a.Value...)
		n.Attrs = append(n.Attrs, a)
	}
	return n, nil
}

// ParseNexthop decodes a payload written by Bytes (or dumped by the kernel).
func ParseNexthop(b []byte) (*Nexthop, error) { return parseNexthop(b) }

// Bytes serializes the nexthop as an rtnetlink payload: nhmsg then attributes.
func (n *Nexthop) Bytes() []byte {
	var b bytes.Buffer
	b.Write([]byte{n.Msg.Family, n.Msg.Scope, n.Msg.Protocol, n.Msg.Resvd})
	b.Write(binary.NativeEndian.AppendUint32(nil, n.Msg.Flags))
	for _, a := range n.Attrs {
		writeAttr(&b, a)
	}
	return b.Bytes()
}

func (n *Nexthop) attr(typ uint16) []byte {
	for _, a := range n.Attrs {
		if a.Attr.Type&nlaTypeMask == typ {
			return a.Value
		}
	}
	return nil
}

func (n *Nexthop) has(typ uint16) bool {
	for _, a := range n.Attrs {
		if a.Attr.Type&nlaTypeMask == typ {
			return true
		}
	}
	return false
}

// ID is the nexthop's id.
func (n *Nexthop) ID() uint32 {
	v := n.attr(unix.NHA_ID)
	if len(v) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(v)
}

// OIF is the nexthop's device, 0 for a group or a blackhole.
func (n *Nexthop) OIF() int {
	v := n.attr(unix.NHA_OIF)
	if len(v) < 4 {
		return 0
	}
	return int(binary.NativeEndian.Uint32(v))
}

// Gateway is the nexthop's gateway, invalid when it has none.
func (n *Nexthop) Gateway() netip.Addr {
	a, _ := netip.AddrFromSlice(n.attr(unix.NHA_GATEWAY))
	return a.Unmap()
}

// Group returns the members of a nexthop group, nil for a single nexthop.
func (n *Nexthop) Group() []unix.NexthopGrp {
	v := n.attr(unix.NHA_GROUP)
	var g []unix.NexthopGrp
	for ; len(v) >= unix.SizeofNexthopGrp; v = v[unix.SizeofNexthopGrp:] {
		g = append(g, unix.NexthopGrp{
			Id: binary.NativeEndian.Uint32(v[0:4]), Weight: v[4], High: v[5],
			Resvd2: binary.NativeEndian.Uint16(v[6:8]),
		})
	}
	return g
}

// Blackhole reports whether the nexthop drops what it is given.
func (n *Nexthop) Blackhole() bool { return n.has(unix.NHA_BLACKHOLE) }

// IsGroup reports whether the nexthop is a group.
func (n *Nexthop) IsGroup() bool { return n.has(unix.NHA_GROUP) }

// EncapType is the nexthop's lightweight tunnel type, 0 when it has none.
func (n *Nexthop) EncapType() uint16 {
	v := n.attr(unix.NHA_ENCAP_TYPE)
	if len(v) < 2 {
		return 0
	}
	return binary.NativeEndian.Uint16(v)
}

// Programs returns the BPF programs of the nexthop's encap.
func (n *Nexthop) Programs() []Program { return encapPrograms(n.EncapType(), n.attr(unix.NHA_ENCAP)) }

// String describes the nexthop in the words of `ip nexthop`.
func (n *Nexthop) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id %d", n.ID())
	if g := n.Group(); g != nil {
		var ids []string
		for _, m := range g {
			ids = append(ids, fmt.Sprint(m.Id))
		}
		b.WriteString(" group " + strings.Join(ids, "/"))
	}
	if gw := n.Gateway(); gw.IsValid() {
		b.WriteString(" via " + gw.String())
	}
	if o := n.OIF(); o != 0 {
		fmt.Fprintf(&b, " oif %d", o)
	}
	return b.String()
}

// GetNexthop returns the nexthop object id, or nil when there is none.
func (h *Handle) GetNexthop(id uint32) (*Nexthop, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETNEXTHOP, 0)
	req.AddRawData(nexthopIDRequest(id))
	msgs, err := h.exec(req, unix.RTM_NEWNEXTHOP)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get nexthop %d: %w", id, err)
	case len(msgs) != 1:
		return nil, fmt.Errorf("get nexthop %d: %d answers", id, len(msgs))
	}
	return parseNexthop(msgs[0])
}

// nexthopIDRequest is the payload of a request about the nexthop id: an
// empty nhmsg and NHA_ID.
func nexthopIDRequest(id uint32) []byte {
	return append(make([]byte, unix.SizeofNhmsg), attrBytes(newAttr(unix.NHA_ID, nl.Uint32Attr(id)))...)
}

// addNexthop creates n, failing with EEXIST when its id is taken.
func (h *Handle) addNexthop(n *Nexthop) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWNEXTHOP, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.AddRawData(n.Bytes())
	if _, err := h.exec(req, 0); err != nil {
		return fmt.Errorf("create nexthop %d: %w", n.ID(), err)
	}
	return nil
}

// deleteNexthop deletes the nexthop id; one that is gone already is no error.
func (h *Handle) deleteNexthop(id uint32) error {
	req := nl.NewNetlinkRequest(unix.RTM_DELNEXTHOP, unix.NLM_F_ACK)
	req.AddRawData(nexthopIDRequest(id))
	if _, err := h.exec(req, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete nexthop %d: %w", id, err)
	}
	return nil
}

// NexthopCopy is a nexthop object lwtdump creates in place of another's.
type NexthopCopy struct {
	Of      uint32   // the id of the nexthop it copies
	Nexthop *Nexthop // the copy, as lwtdump creates it
}

// planNexthops prepares copies of the nexthop object id (a single nexthop
// or a group and its members) that carry e, members first. Their ids are
// free when chosen; Apply takes them with NLM_F_EXCL.
func (h *Handle) planNexthops(id uint32, e Encap) ([]NexthopCopy, error) {
	top, err := h.GetNexthop(id)
	if err != nil {
		return nil, err
	}
	if top == nil {
		return nil, fmt.Errorf("nexthop object %d is missing", id)
	}
	taken := map[uint32]bool{}
	if !top.IsGroup() {
		c, err := h.copyNexthop(top, e, taken)
		if err != nil {
			return nil, err
		}
		return []NexthopCopy{c}, nil
	}
	if top.has(nhaFDB) {
		return nil, fmt.Errorf("nexthop group %d is a bridge FDB group: %w", id, ErrNotRestorable)
	}
	var copies []NexthopCopy
	group := &Nexthop{Msg: unix.Nhmsg{Family: top.Msg.Family, Protocol: nexthopProtocol}}
	var members []unix.NexthopGrp
	for _, m := range top.Group() {
		n, err := h.GetNexthop(m.Id)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, fmt.Errorf("nexthop %d of group %d is missing", m.Id, id)
		}
		c, err := h.copyNexthop(n, e, taken)
		if err != nil {
			return nil, fmt.Errorf("nexthop group %d: %w", id, err)
		}
		copies = append(copies, c)
		m.Id, m.Resvd2 = c.Nexthop.ID(), 0
		members = append(members, m)
	}
	gid, err := h.freeNexthopID(taken)
	if err != nil {
		return nil, err
	}
	shape, err := groupShape(top)
	if err != nil {
		return nil, err
	}
	group.Attrs = append(group.Attrs,
		newAttr(unix.NHA_ID, nl.Uint32Attr(gid)),
		newAttr(unix.NHA_GROUP, groupBytes(members)))
	group.Attrs = append(group.Attrs, shape...)
	return append(copies, NexthopCopy{Of: id, Nexthop: group}), nil
}

// groupShape returns the attributes of a group's copy that say what kind of
// group it is: its type and, for a resilient group, the same number of
// buckets and the same timers (the table of buckets is the kernel's to fill).
func groupShape(top *Nexthop) ([]syscall.NetlinkRouteAttr, error) {
	var shape []syscall.NetlinkRouteAttr
	if v := top.attr(unix.NHA_GROUP_TYPE); v != nil {
		shape = append(shape, newAttr(unix.NHA_GROUP_TYPE, v))
	}
	if v := top.attr(nhaResGroup); v != nil {
		inner, err := nl.ParseRouteAttr(v)
		if err != nil {
			return nil, fmt.Errorf("parse resilient group %d: %w", top.ID(), err)
		}
		var res []byte
		for _, a := range inner {
			switch a.Attr.Type & nlaTypeMask {
			case nhaResGroupBuckets, nhaResGroupIdleTimer, nhaResGroupUnbalancedTimer:
				res = append(res, attrBytes(a)...)
			}
		}
		shape = append(shape, newAttr(nhaResGroup|unix.NLA_F_NESTED, res))
	}
	return shape, nil
}

// CheckNexthops refuses a route on a nexthop object that lwtdump cannot
// copy with an encap: a blackhole, a nexthop of a bridge FDB, one that has
// an encap already, or one that is missing. Other routes pass.
func (h *Handle) CheckNexthops(r *Route) error {
	id := r.NexthopID()
	if id == 0 {
		return nil
	}
	top, err := h.GetNexthop(id)
	if err != nil {
		return err
	}
	if top == nil {
		return fmt.Errorf("route %s uses nexthop object %d, which is missing", r.Dst(), id)
	}
	singles := []*Nexthop{top}
	if top.IsGroup() {
		if top.has(nhaFDB) {
			return fmt.Errorf("route %s uses nexthop group %d, a bridge FDB group: %w", r.Dst(), id, ErrNotRestorable)
		}
		singles = nil
		for _, m := range top.Group() {
			n, err := h.GetNexthop(m.Id)
			if err != nil {
				return err
			}
			if n == nil {
				return fmt.Errorf("route %s uses nexthop group %d, whose nexthop %d is missing", r.Dst(), id, m.Id)
			}
			singles = append(singles, n)
		}
	}
	for _, n := range singles {
		if err := checkCopyable(n); err != nil {
			return fmt.Errorf("route %s: %w", r.Dst(), err)
		}
	}
	return nil
}

// NexthopOIFs returns the devices of the nexthop object id, or of each
// nexthop of the group id, in the group's order: for a route whose dump
// leaves its nexthop out (net.ipv4.nexthop_compat_mode 0).
func (h *Handle) NexthopOIFs(id uint32) ([]int, error) {
	n, err := h.GetNexthop(id)
	if err != nil || n == nil {
		return nil, err
	}
	if !n.IsGroup() {
		return []int{n.OIF()}, nil
	}
	var oifs []int
	for _, m := range n.Group() {
		mn, err := h.GetNexthop(m.Id)
		if err != nil {
			return nil, err
		}
		if mn != nil {
			oifs = append(oifs, mn.OIF())
		}
	}
	return oifs, nil
}

// checkCopyable refuses a single nexthop whose copy cannot carry an encap.
func checkCopyable(n *Nexthop) error {
	switch {
	case n.has(unix.NHA_BLACKHOLE):
		return fmt.Errorf("nexthop %d is a blackhole, which cannot carry an encap: %w", n.ID(), ErrNotRestorable)
	case n.has(nhaFDB):
		return fmt.Errorf("nexthop %d belongs to a bridge FDB: %w", n.ID(), ErrNotRestorable)
	case n.EncapType() != 0:
		return fmt.Errorf("nexthop %d already has an encap (%s): %w", n.ID(), EncapName(n.EncapType()), ErrNotRestorable)
	}
	return nil
}

// copyNexthop prepares a copy of a single nexthop that carries e, with a free id.
func (h *Handle) copyNexthop(n *Nexthop, e Encap, taken map[uint32]bool) (NexthopCopy, error) {
	if err := checkCopyable(n); err != nil {
		return NexthopCopy{}, err
	}
	id, err := h.freeNexthopID(taken)
	if err != nil {
		return NexthopCopy{}, err
	}
	m := mirror(n)
	c := &Nexthop{Msg: m.Msg}
	c.Attrs = append(c.Attrs, newAttr(unix.NHA_ID, nl.Uint32Attr(id)))
	c.Attrs = append(c.Attrs, m.Attrs...)
	c.Attrs = append(c.Attrs,
		newAttr(unix.NHA_ENCAP_TYPE, nl.Uint16Attr(e.Type)),
		newAttr(unix.NHA_ENCAP|unix.NLA_F_NESTED, e.Data))
	return NexthopCopy{Of: n.ID(), Nexthop: c}, nil
}

// mirror returns what a copy of the single nexthop n takes of it: the
// header of a request (the family, the flags a request may set, onlink,
// and scope 0, which the kernel derives), its device and its gateway.
func mirror(n *Nexthop) *Nexthop {
	m := &Nexthop{Msg: unix.Nhmsg{Family: n.Msg.Family, Protocol: nexthopProtocol, Flags: n.Msg.Flags & unix.RTNH_F_ONLINK}}
	for _, t := range []uint16{unix.NHA_OIF, unix.NHA_GATEWAY} {
		if v := n.attr(t); v != nil {
			m.Attrs = append(m.Attrs, newAttr(t, v))
		}
	}
	return m
}

// mirrors reports whether the copy c forwards as the single nexthop n does.
func mirrors(c, n *Nexthop) bool {
	return !n.IsGroup() && checkCopyable(n) == nil && bytes.Equal(mirror(c).Bytes(), mirror(n).Bytes())
}

// CopyState is what became of the nexthop objects that a change's copies
// mirror (see CheckCopies).
type CopyState int

// The states of a change's copies.
const (
	// CopiesCurrent: the copies forward as the nexthops they copy do.
	CopiesCurrent CopyState = iota
	// CopiesStale: another process changed a nexthop the copies mirror
	// (ip nexthop replace: its gateway, device, group members or weights),
	// or removed a member of the group: the copies must be made again
	// (PlanReplace) for the route to forward as that process asked.
	CopiesStale
	// NexthopGone: the nexthop object of the route (as the process that
	// installed it made it) was deleted. The kernel deletes the routes that
	// use a nexthop with it: so would it the route, had it not been on
	// lwtdump's copy.
	NexthopGone
)

// Copied returns the ids of the nexthop objects that c's copies mirror,
// the route's own last.
func (c *Change) Copied() []uint32 {
	var ids []uint32
	for _, n := range c.Nexthops {
		ids = append(ids, n.Of)
	}
	return ids
}

// CheckCopies compares c's nexthop copies with the nexthop objects they
// copy, as the kernel now holds them. A change without copies is current.
func (h *Handle) CheckCopies(c *Change) (CopyState, error) {
	if len(c.Nexthops) == 0 {
		return CopiesCurrent, nil
	}
	last := c.Nexthops[len(c.Nexthops)-1]
	top, err := h.GetNexthop(last.Of)
	switch {
	case err != nil:
		return 0, err
	case top == nil:
		return NexthopGone, nil
	case !last.Nexthop.IsGroup():
		if !mirrors(last.Nexthop, top) {
			return CopiesStale, nil
		}
		return CopiesCurrent, nil
	case !top.IsGroup():
		return CopiesStale, nil
	}
	want, err := groupShape(top)
	if err != nil {
		return 0, err
	}
	have, _ := groupShape(last.Nexthop)
	members, mine := top.Group(), last.Nexthop.Group()
	if !slices.EqualFunc(want, have, func(a, b syscall.NetlinkRouteAttr) bool { return bytes.Equal(attrBytes(a), attrBytes(b)) }) ||
		len(members) != len(mine) || len(members) != len(c.Nexthops)-1 {
		return CopiesStale, nil
	}
	for i, m := range members {
		cp := c.Nexthops[i]
		if cp.Of != m.Id || mine[i].Id != cp.Nexthop.ID() || mine[i].Weight != m.Weight || mine[i].High != m.High {
			return CopiesStale, nil
		}
		n, err := h.GetNexthop(m.Id)
		if err != nil {
			return 0, err
		}
		if n == nil || !mirrors(cp.Nexthop, n) {
			return CopiesStale, nil
		}
	}
	return CopiesCurrent, nil
}

// DeleteCopies deletes c's nexthop copies, the group before its members,
// each only while it is still the one lwtdump created. Call it only once
// the route no longer uses them: deleting a nexthop deletes the routes on it.
func (h *Handle) DeleteCopies(c *Change) error { return h.deleteNexthops(c.Nexthops) }

func groupBytes(g []unix.NexthopGrp) []byte {
	var b []byte
	for _, m := range g {
		b = binary.NativeEndian.AppendUint32(b, m.Id)
		b = append(b, m.Weight, m.High)
		b = binary.NativeEndian.AppendUint16(b, m.Resvd2)
	}
	return b
}

// freeNexthopID picks an id in lwtdump's range that no nexthop has and
// that taken does not hold, and adds it to taken.
func (h *Handle) freeNexthopID(taken map[uint32]bool) (uint32, error) {
	for range 64 {
		id := NexthopIDMin + rand.Uint32N(NexthopIDMax-NexthopIDMin+1)
		if taken[id] {
			continue
		}
		n, err := h.GetNexthop(id)
		if err != nil {
			return 0, err
		}
		if n == nil {
			taken[id] = true
			return id, nil
		}
	}
	return 0, errors.New("find a free nexthop id: every one tried is taken")
}

// renumber gives copy i of c a new free id, and changes the references to
// it: in the group that holds it, or in the installed route.
func (h *Handle) renumber(c *Change, i int) error {
	taken := map[uint32]bool{}
	for _, cp := range c.Nexthops {
		taken[cp.Nexthop.ID()] = true
	}
	old := c.Nexthops[i].Nexthop.ID()
	id, err := h.freeNexthopID(taken)
	if err != nil {
		return err
	}
	setU32 := func(attrs []syscall.NetlinkRouteAttr, typ uint16, v uint32) {
		for j, a := range attrs {
			if a.Attr.Type&nlaTypeMask == typ {
				attrs[j].Value = nl.Uint32Attr(v)
			}
		}
	}
	setU32(c.Nexthops[i].Nexthop.Attrs, unix.NHA_ID, id)
	for _, cp := range c.Nexthops {
		if g := cp.Nexthop.Group(); g != nil {
			for j := range g {
				if g[j].Id == old {
					g[j].Id = id
				}
			}
			for j, a := range cp.Nexthop.Attrs {
				if a.Attr.Type&nlaTypeMask == unix.NHA_GROUP {
					cp.Nexthop.Attrs[j].Value = groupBytes(g)
				}
			}
		}
	}
	if c.Installed.NexthopID() == old {
		setU32(c.Installed.Attrs, rtaNhID, id)
	}
	return nil
}

// ownsNexthop reports whether cur, a nexthop as the kernel holds it, is the
// copy mine that lwtdump created: the same id and, for a single nexthop,
// the same programs; for a group, the same members.
func ownsNexthop(cur, mine *Nexthop) bool {
	if cur == nil || cur.ID() != mine.ID() {
		return false
	}
	if mine.IsGroup() {
		ids := func(n *Nexthop) []uint32 {
			var ids []uint32
			for _, m := range n.Group() {
				ids = append(ids, m.Id)
			}
			return ids
		}
		return slices.Equal(ids(cur), ids(mine))
	}
	have, want := cur.Programs(), mine.Programs()
	return len(want) > 0 && sameProgramNames(have, want)
}

// createNexthops creates c's nexthop copies, members first. An id another
// process took since it was chosen is chosen again, and record is called
// with the renumbered change before the next try, so that the state file
// holds every id that may be lwtdump's. On failure the copies made are
// deleted again.
func (h *Handle) createNexthops(c *Change, record func(*Change) error) error {
	for i := 0; i < len(c.Nexthops); i++ {
		var err error
		for try := 0; ; try++ {
			if err = h.addNexthop(c.Nexthops[i].Nexthop); !errors.Is(err, unix.EEXIST) || try == 8 {
				break
			}
			if err = h.renumber(c, i); err != nil {
				break
			}
			if record != nil {
				if err = record(c); err != nil {
					break
				}
			}
		}
		if err != nil {
			return errors.Join(err, h.deleteNexthops(c.Nexthops[:i]))
		}
	}
	return nil
}

// deleteNexthops deletes lwtdump's copies, the group before its members,
// each only while it is still the one lwtdump created.
func (h *Handle) deleteNexthops(copies []NexthopCopy) error {
	var errs []error
	for i := len(copies) - 1; i >= 0; i-- {
		mine := copies[i].Nexthop
		cur, err := h.GetNexthop(mine.ID())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ownsNexthop(cur, mine) {
			continue // gone, or not lwtdump's: leave it
		}
		errs = append(errs, h.deleteNexthop(mine.ID()))
	}
	return errors.Join(errs...)
}

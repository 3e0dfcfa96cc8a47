package bpf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/bpf/sample"
	cbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// MainTable is the kernel's main routing table.
const MainTable = unix.RT_TABLE_MAIN

// Options describe a capture.
type Options struct {
	Targets   []Target      // routes to capture
	Hooks     []sample.Hook // hooks on each route (default lwt_xmit)
	SIDs      []netip.Addr  // SRv6 local SIDs whose End action becomes End.BPF
	Netns     string        // network namespace name ("" for the current one)
	Table     uint32        // routing table of the targets (default main)
	Cookie    uint64        // cookie of every attachment when HasCookie; else the attachment number
	HasCookie bool
	Snaplen   uint32 // bytes copied per packet (default MaxSnaplen)
	Filter    string // filter expression: only matching packets are copied; recorded in the interfaces
	// FilterProgram is Filter compiled by filter.Compile; when nil, Start
	// compiles Filter itself.
	FilterProgram []cbpf.RawInstruction
	Reader        ReaderOptions
	StateDir      string // default route.DefaultStateDir
	// NoFollow ends the capture (Run returns ErrRouteLost) when another
	// process replaces or removes a captured route, instead of following
	// the route to its new version (see follow.go).
	NoFollow bool
	// Notify is called, from a goroutine of the capture's, for each change
	// another process makes to a captured route.
	Notify func(RouteNotice)
	// ExistingOnly captures routes as they exist and never adds one (a
	// Target with a device and no route is refused, ErrExistingOnly):
	// what a capability holder that is not root may do (see Root).
	ExistingOnly bool
}

// Capture is a running capture: programs attached to routes, and the reader
// of their samples. Close always restores every route it changed.
type Capture struct {
	h           *route.Handle
	coll        *Collection
	reader      *Reader
	state       *route.State
	changes     []*route.Change // applied, in order
	attachments []sample.Attachment
	follow      *follower  // watches the routes while capturing
	stateMu     sync.Mutex // guards state, changed by follow while capturing
	sink        Sink       // the sink of Run
	ended       bool       // Run stopped at the limit or at the sink's sample.ErrDone, not at a failure
}

// plan is one route to change: the route found in the kernel (nil when one is added).
type plan struct {
	existing *route.Route
	prefix   netip.Prefix
	oif      int
	dev      string
	cookie   uint64
	hasCk    bool
	sid      bool
}

// Start checks every target, loads the programs and attaches them. Either
// every route is changed and the capture runs, or nothing is left changed and
// an error says why.
func Start(opts Options) (_ *Capture, err error) {
	if len(opts.Hooks) == 0 {
		opts.Hooks = []sample.Hook{sample.HookXmit}
	}
	if opts.Table == 0 {
		opts.Table = MainTable
	}
	if opts.Snaplen == 0 {
		opts.Snaplen = MaxSnaplen
	}
	if opts.StateDir == "" {
		opts.StateDir = route.DefaultStateDir
	}
	if len(opts.Targets) == 0 && len(opts.SIDs) == 0 {
		return nil, ErrNothingToCapture
	}

	// c is not the named result: a failing return sets that to nil, and c
	// must still undo whatever was done.
	c := &Capture{}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if c.h, err = route.Open(opts.Netns); err != nil {
		return nil, err
	}
	if c.follow, err = newFollower(c, opts); err != nil {
		return nil, err
	}
	unlock, err := route.Lock(opts.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var plans []plan
	for _, t := range opts.Targets {
		p, err := c.resolve(t, opts.Table, opts.ExistingOnly)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	for _, sid := range opts.SIDs {
		p, err := c.resolveSID(sid, opts.Table)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	if n := len(opts.Targets)*len(opts.Hooks) + len(opts.SIDs); n > MaxAttachments {
		return nil, fmt.Errorf("%d attachments: at most %d", n, MaxAttachments)
	}

	if c.coll, err = NewCollection(opts.Reader); err != nil {
		return nil, err
	}
	if opts.Filter != "" {
		prog := opts.FilterProgram
		if prog == nil {
			if prog, err = filter.Compile(opts.Filter); err != nil {
				return nil, fmt.Errorf("filter expression %q: %w", opts.Filter, err)
			}
		}
		if err := c.coll.SetFilter(prog); err != nil {
			return nil, err
		}
	}
	// encaps[i] goes on plans[i]; follows[i] on the versions of its route
	// that another process installs during the capture.
	var encaps, follows []route.Encap
	for _, p := range plans {
		hooks := opts.Hooks
		if p.sid {
			hooks = []sample.Hook{sample.HookSeg6Local}
		}
		progs := map[sample.Hook]*ebpf.Program{}
		for _, h := range hooks {
			id := uint32(len(c.attachments))
			a := sample.Attachment{
				Hook: h, Cookie: uint64(id), Route: p.prefix.String(), Dev: p.dev,
				Table: opts.Table, Netns: opts.Netns, Snaplen: opts.Snaplen, Filter: opts.Filter,
			}
			switch {
			case p.hasCk:
				a.Cookie = p.cookie
			case opts.HasCookie:
				a.Cookie = opts.Cookie
			}
			if progs[h], err = c.coll.Program(id, a); err != nil {
				return nil, err
			}
			c.attachments = append(c.attachments, a)
		}
		var e route.Encap
		if p.sid {
			e, err = EndBPFEncap(progs[sample.HookSeg6Local])
		} else {
			e, err = BPFEncap(progs, p.existing == nil)
		}
		if err != nil {
			return nil, fmt.Errorf("build encap for %s: %w", p.prefix, err)
		}
		encaps, follows = append(encaps, e), append(follows, e)
		if p.existing == nil && !p.sid {
			// A version of the route lwtdump added that another process
			// installs is that process's: lwtdump replaces it, and a
			// cleanup without the state file must not delete it.
			if follows[len(follows)-1], err = BPFEncap(progs, false); err != nil {
				return nil, fmt.Errorf("build encap for %s: %w", p.prefix, err)
			}
		}
	}
	if c.coll.Transport() == PerfBuffer { // chosen, or fallen back to while loading
		for i := range c.attachments {
			c.attachments[i].Snaplen = min(c.attachments[i].Snaplen, PerfMaxCaplen) // what the interfaces say
		}
	}
	// The reader exists before the first program is attached, so that no
	// sample is lost between the two.
	if c.reader, err = NewReader(c.coll, opts.Reader); err != nil {
		return nil, err
	}
	if c.state, err = route.NewState(opts.StateDir, c.h); err != nil {
		return nil, err
	}
	for i, p := range plans {
		ch, err := c.attach(p.existing, p.prefix, p.oif, opts.Table, encaps[i])
		if err != nil {
			return nil, err
		}
		c.changes = append(c.changes, ch)
		c.follow.add(ch, c.h.ChangeSeq(), p.sid, follows[i])
	}
	c.follow.start()
	return c, nil
}

// attach puts the encap e on a route: on existing, a route as the kernel
// holds it (on the route, on each of its paths, or on copies of its nexthop
// objects), or, when existing is nil, on a route to prefix through oif that
// it adds in table. The change is in the state file before the route is
// touched; on failure nothing is left changed or recorded. Undo the change
// with c.h.Undo, then forget it in the state file. Once the capture runs,
// it is called with c.stateMu held.
func (c *Capture) attach(existing *route.Route, prefix netip.Prefix, oif int, table uint32, e route.Encap) (*route.Change, error) {
	var ch *route.Change
	if existing != nil {
		var err error
		if ch, err = c.h.PlanReplace(existing, e); err != nil {
			return nil, err
		}
	} else {
		ch = route.PlanAdd(prefix, oif, table, e)
	}
	if err := c.state.Record(ch); err != nil {
		return nil, err
	}
	if err := c.h.Apply(ch, c.state.Record); err != nil {
		return nil, errors.Join(err, c.state.Forget(ch))
	}
	return ch, nil
}

// resolve finds the route a target names and checks that it can be changed and restored.
func (c *Capture) resolve(t Target, table uint32, existingOnly bool) (plan, error) {
	p := plan{prefix: t.Prefix, dev: t.Dev, cookie: t.Cookie, hasCk: t.HasCookie}
	if t.Dev != "" {
		var err error
		if p.oif, err = c.h.LinkIndex(t.Dev); err != nil {
			return p, &TargetError{Kind: ErrNoDevice, Prefix: t.Prefix, Table: table, Netns: c.h.Netns(), Dev: t.Dev}
		}
	}
	routes, err := c.h.Routes(t.Prefix, table)
	if err != nil {
		return p, err
	}
	if len(routes) == 0 {
		switch {
		case t.Dev == "":
			return p, &TargetError{Kind: ErrNoRoute, Prefix: t.Prefix, Table: table, Netns: c.h.Netns()}
		case existingOnly:
			return p, &TargetError{Kind: ErrExistingOnly, Prefix: t.Prefix, Table: table, Netns: c.h.Netns(), Dev: t.Dev}
		}
		return p, nil
	}
	// The one the kernel uses: lowest metric. IPv4 routes appended to one
	// prefix at one metric (`ip route append`) come in the kernel's order,
	// and a replace takes the first, which the kernel uses.
	r := routes[0]
	if err := c.checkOwner(r, table); err != nil {
		return p, err
	}
	if err := route.CheckReplaceable(r); err != nil {
		return p, err
	}
	if err := c.h.CheckNexthops(r); err != nil {
		return p, err
	}
	oifs := r.OIFs()
	if id := r.NexthopID(); id != 0 && len(oifs) == 0 {
		// The dump leaves the nexthop out (nexthop_compat_mode 0).
		if oifs, err = c.h.NexthopOIFs(id); err != nil {
			return p, err
		}
	}
	if t.Dev != "" && !slices.Contains(oifs, p.oif) {
		return p, &TargetError{Kind: ErrOtherDevice, Prefix: t.Prefix, Table: table, Netns: c.h.Netns(), Dev: t.Dev, RouteDev: devNames(c.h, oifs)}
	}
	p.existing, p.oif, p.dev = r, r.OIF(), devNames(c.h, oifs)
	return p, nil
}

// resolveSID finds the seg6local End route of an SRv6 SID.
func (c *Capture) resolveSID(sid netip.Addr, table uint32) (plan, error) {
	p := plan{prefix: netip.PrefixFrom(sid, 128), sid: true}
	r, err := c.h.FindLocal(sid, table)
	if err != nil {
		return p, err
	}
	if r == nil {
		return p, &TargetError{Kind: ErrNoRoute, Prefix: p.prefix, SID: true, Table: table, Netns: c.h.Netns()}
	}
	if err := c.checkOwner(r, table); err != nil {
		return p, err
	}
	if err := route.CheckEndReplaceable(r); err != nil {
		return p, err
	}
	p.existing, p.oif, p.dev = r, r.OIF(), c.h.LinkName(r.OIF())
	return p, nil
}

// ErrNothingToCapture means Options name no route and no SID.
var ErrNothingToCapture = errors.New("nothing to capture: no route and no SID")

// Errors of a target that names what does not exist.
var (
	ErrNoDevice    = errors.New("no such device")
	ErrNoRoute     = errors.New("no route")
	ErrOtherDevice = errors.New("route goes through another device")
	// ErrExistingOnly means a target names a route to add, and
	// Options.ExistingOnly forbids adding one.
	ErrExistingOnly = errors.New("no route, and this capture adds none")
)

// Errors of Start on a route that already carries lwtdump's programs.
var (
	// ErrBusy means a route carries the programs of a running lwtdump.
	ErrBusy = errors.New("route is in use by another lwtdump")
	// ErrStale means a route carries the programs of an lwtdump that is gone.
	ErrStale = errors.New("route still carries the programs of an lwtdump that is gone")
)

// TargetError is a route or SID that Start does not capture, with what it
// found. Kind says why, and errors.Is finds it: ErrNoDevice, ErrNoRoute,
// ErrOtherDevice, ErrExistingOnly, ErrBusy or ErrStale.
type TargetError struct {
	Kind     error
	Prefix   netip.Prefix // the route's prefix; a SID's is its /128
	SID      bool         // the target is an SRv6 SID
	Table    uint32
	Netns    string // the network namespace, "" for the current one
	Dev      string // the device the target names (ErrNoDevice, ErrOtherDevice, ErrExistingOnly)
	RouteDev string // the device the route goes through (ErrOtherDevice)
	Pid      int    // the lwtdump whose programs the route carries (ErrBusy, ErrStale)
}

func (e *TargetError) Error() string {
	netns := ""
	if e.Netns != "" {
		netns = " of netns " + e.Netns
	}
	switch e.Kind {
	case ErrNoDevice:
		return fmt.Sprintf("route %s: %v %q%s", e.Prefix, ErrNoDevice, e.Dev, netns)
	case ErrNoRoute:
		if e.SID {
			return fmt.Sprintf("%v: no seg6local route for SID %s in table %d%s", ErrNoRoute, e.Prefix.Addr(), e.Table, netns)
		}
		return fmt.Sprintf("%v to %s in table %d%s", ErrNoRoute, e.Prefix, e.Table, netns)
	case ErrOtherDevice:
		return fmt.Sprintf("route %s in table %d goes through %s, not %s", e.Prefix, e.Table, e.RouteDev, e.Dev)
	case ErrExistingOnly:
		return fmt.Sprintf("no route to %s in table %d%s, and this capture may only take existing routes, not add one through %s", e.Prefix, e.Table, netns, e.Dev)
	case ErrBusy:
		return fmt.Sprintf("route %s is being captured by lwtdump pid %d", e.Prefix, e.Pid)
	case ErrStale:
		return fmt.Sprintf("route %s still carries the programs of lwtdump pid %d, which is gone", e.Prefix, e.Pid)
	}
	return fmt.Sprintf("route %s: %v", e.Prefix, e.Kind)
}

func (e *TargetError) Unwrap() error { return e.Kind }

// checkOwner refuses a route that carries an lwtdump program, naming its process.
func (c *Capture) checkOwner(r *route.Route, table uint32) error {
	for _, name := range r.ProgramNames() {
		l, ok := ParseProgramName(name)
		if !ok {
			continue
		}
		e := &TargetError{Kind: ErrStale, Prefix: r.Dst(), Table: table, Netns: c.h.Netns(), Pid: l.Pid}
		if route.ProcessAlive(l.Pid) {
			e.Kind = ErrBusy
		}
		return e
	}
	return nil
}

// BadTarget reports whether err means that the targets themselves are wrong
// (a namespace, device or route that does not exist, or a route lwtdump must
// not change): the targets need changing, not the system.
func BadTarget(err error) bool {
	for _, e := range []error{route.ErrNoNetns, ErrNoDevice, ErrNoRoute, ErrOtherDevice, route.ErrNotRestorable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Attachments lists the capture's attachments; a sample's Attachment indexes it.
func (c *Capture) Attachments() []sample.Attachment { return c.attachments }

// Counters reads what the kernel counted for one attachment: Seen,
// Dropped and Filtered. It is safe to call while the capture runs, from any
// goroutine.
func (c *Capture) Counters(attachment uint32) (sample.Counters, error) {
	return c.coll.Counters(attachment)
}

// Tally is what became of one attachment's packets: the kernel's counters
// (see Counters), and what user space counted: the packets the sink of Run
// wrote (those it took, or as many as it delivered: see DeliveringSink);
// those lost to its failed write (taken but not delivered, refused, and
// read out of the buffers after it failed); and those read out after the
// capture's end (the limit, or the sink's sample.ErrDone). Once Run has
// returned, the routes restored, they add up (see sample.Counters). Call
// it from the goroutine that runs Run, or once Run has returned.
func (c *Capture) Tally(attachment uint32) (sample.Counters, error) {
	k, err := c.coll.Counters(attachment)
	if err != nil || c.reader == nil {
		return k, err
	}
	r := c.reader
	k.Written = r.Handed(attachment)
	if ds, ok := c.sink.(DeliveringSink); ok {
		k.Written = min(k.Written, ds.Delivered(attachment))
	}
	k.Unwritten = r.Handed(attachment) - k.Written + r.Refused(attachment)
	if c.ended {
		k.AfterEnd = r.Discarded(attachment)
	} else {
		k.Unwritten += r.Discarded(attachment)
	}
	return k, nil
}

// Gaps returns the gaps of an attachment: the times its route was gone.
func (c *Capture) Gaps(attachment uint32) []sample.Gap { return c.follow.gaps(attachment) }

// RouteGaps returns the gaps of every route that had some, in the order of the routes.
func (c *Capture) RouteGaps() []RouteGaps { return c.follow.routeGaps() }

// Reader is the capture's sample reader.
func (c *Capture) Reader() *Reader { return c.reader }

// ChownState gives the capture's state file to uid and gid, so that the
// capture can keep it after dropping to that user.
func (c *Capture) ChownState(uid, gid int) error {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.state.Chown(uid, gid)
}

// StatePath is the path of the capture's state file.
func (c *Capture) StatePath() string { return c.state.Path() }

// Run hands samples to sink until ctx ends or limit samples were written (0:
// no limit), or until the sink fails or wants no more. Then it restores the
// routes and reads out what the hooks sent up to that moment: to the sink,
// when ctx ended; counted and left out (see Tally), when it stopped at the
// limit or because of the sink. So every packet seen is accounted for when
// it returns.
func (c *Capture) Run(ctx context.Context, sink Sink, limit uint64) error {
	c.sink = sink
	ctx, cancel := c.follow.context(ctx)
	defer cancel()
	err := c.reader.Run(ctx, sink, limit)
	if cause := context.Cause(ctx); err == nil && errors.Is(cause, ErrRouteLost) {
		err = cause
	}
	derr := c.Detach()
	if len(c.changes) == 0 { // no program is left on a route: the buffers get nothing more
		r := c.reader
		if (err == nil || errors.Is(err, ErrRouteLost)) && !r.SinkFailed() && !r.SinkDone() {
			err = errors.Join(err, r.Drain(sink, limit))
		}
		c.ended = limit > 0 && r.Written() >= limit || r.SinkDone()
		if c.ended || r.SinkFailed() {
			err = errors.Join(err, r.Discard())
		}
	}
	return errors.Join(withoutLimit(err), derr)
}

// withoutLimit is err without ErrLimit, which is a normal end.
func withoutLimit(err error) error {
	if errors.Is(err, ErrLimit) {
		var rest []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				if !errors.Is(e, ErrLimit) {
					rest = append(rest, e)
				}
			}
		}
		return errors.Join(rest...)
	}
	return err
}

// Detach restores every route the capture changed, newest first, and
// checks that each equals its original again. A route that something else
// removed or changed during the capture is left as it is and reported. It
// may be called more than once.
func (c *Capture) Detach() error {
	var errs []error
	var failed []*route.Change
	undo := c.h.Undo
	if c.follow != nil {
		c.follow.stop()
		undo = c.follow.restore
	}
	for i := len(c.changes) - 1; i >= 0; i-- {
		ch := c.changes[i]
		if err := undo(ch); err != nil {
			errs = append(errs, err)
			if !settled(err) {
				failed = append([]*route.Change{ch}, failed...)
				continue
			}
		}
		if err := c.state.Forget(ch); err != nil {
			errs = append(errs, err)
		}
	}
	c.changes = failed
	if c.follow != nil {
		// Nexthop copies of versions of the routes the capture followed
		// away from, which could not be deleted then.
		var left []*route.Change
		for _, old := range c.follow.leftover {
			if err := c.h.DeleteCopies(old); err != nil {
				errs = append(errs, err)
				left = append(left, old)
				continue
			}
			errs = append(errs, c.state.Forget(old))
		}
		c.follow.leftover = left
	}
	if len(failed) == 0 && c.state != nil && c.state.Done() {
		errs = append(errs, c.state.Remove())
		c.state = nil
	}
	return errors.Join(errs...)
}

// settled reports whether an Undo error leaves nothing of the capture on
// the route, so that there is nothing left to retry or to restore later.
func settled(err error) bool {
	return errors.Is(err, route.ErrRouteGone) || errors.Is(err, route.ErrRouteChanged) || errors.Is(err, route.ErrRestoreDiffers)
}

// Close restores every route and releases programs, maps and buffers.
func (c *Capture) Close() error {
	err := c.Detach()
	if c.follow != nil {
		c.follow.close()
	}
	if c.reader != nil {
		c.reader.Close()
	}
	if c.coll != nil {
		c.coll.Close()
	}
	if c.h != nil {
		c.h.Close()
	}
	return err
}

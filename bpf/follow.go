package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"golang.org/x/sys/unix"
)

// How a capture follows a route that another process keeps replacing (a
// controller enforcing its own state): the first re-attachment is at once;
// each further one within FollowWindow waits FollowBackoff, doubled each
// time (0.25 s, 0.5 s, 1 s, 2 s); after FollowLimit re-attachments within
// the window the route is no longer followed. Only re-attachments after a
// replacement of the captured route count: a route removed and added again
// (a BGP withdraw and re-announce, `clear bgp`) is followed at once every
// time.
const (
	FollowWindow  = time.Minute            // the window re-attachments are counted in
	FollowBackoff = 250 * time.Millisecond // the wait before the second re-attachment in the window
	FollowLimit   = 5                      // re-attachments in the window before the route is given up
)

// RouteNotice is something another process did to a captured route, said as it
// happens.
type RouteNotice struct {
	Time  time.Time
	Route string // "2001:db8:20::/48 (table 254, metric 1024)"
	Text  string // what happened and what the capture does about it
	// Prefix, Table and Metric are the route's, apart: the prefix as the
	// attachments name it ("2001:db8:20::/48").
	Prefix        string
	Table, Metric uint32
	// Gap is the gap of the route's attachments that this notice is the
	// first to tell of since it opened or closed: open (End 0) when the
	// route went, closed when the capture is back on it (a route replaced
	// and captured again at once opens and closes one in a notice). It is
	// nil when the notice tells of no such change.
	Gap *sample.Gap
}

// String is the notice as one line: "12:00:01.234 route 2001:db8:20::/48
// (table 254, metric 1024) removed by zebra (pid 4242): ...".
func (n RouteNotice) String() string {
	return n.Time.Format("15:04:05.000") + " route " + n.Route + " " + n.Text
}

// ErrRouteLost means that another process replaced or removed a captured
// route and the capture was told not to follow it (Options.NoFollow), or
// that no captured route is left to follow.
var ErrRouteLost = errors.New("captured route lost")

// RouteLostError ends a capture that does not follow its routes
// (Options.NoFollow) when another process replaced or removed one, or
// that has no route left to follow; errors.Is finds ErrRouteLost in it.
type RouteLostError struct {
	Route    string    // the route, as in a RouteNotice
	What     string    // what happened to it: "removed by ip (pid 7)"
	Time     time.Time // when
	NoneLeft bool      // no captured route is left to follow (Route, What and Time unset)
}

func (e *RouteLostError) Error() string {
	if e.NoneLeft {
		return "no captured route is left to follow: the capture ends"
	}
	return fmt.Sprintf("route %s %s at %s; the capture does not follow it", e.Route, e.What, e.Time.Format("15:04:05.000"))
}

func (e *RouteLostError) Unwrap() error { return ErrRouteLost }

// RouteGaps are the gaps of one captured route.
type RouteGaps struct {
	Route string // the prefix, as in the attachments
	Gaps  []sample.Gap
}

// followed is one route of the capture as the follower knows it.
type followed struct {
	ch   *route.Change // the change in force: the route lwtdump installed last
	key  route.Key
	sid  bool
	atts []uint32 // the attachments (one per hook) on the route
	// encap is what lwtdump puts on another process's version of the
	// route: the programs of the capture, named as on a route lwtdump
	// replaces (not :added, even when lwtdump added the first version).
	encap route.Encap
	// want is the route to put back at exit: the original, or the latest
	// version another process installed since; nil once another process
	// removed it (or, for a route lwtdump added, while nobody else made one).
	want    *route.Route
	wantGen int // counts the changes of want
	// attached tells that the kernel holds ch.Installed, as far as the
	// notifications read so far tell.
	attached bool
	// pending is the nlmsg_seq of lwtdump's last change of the route whose
	// notification has not been read yet; basisGen is wantGen when it was
	// made. A change by another process read while a change is pending was
	// made before it, and was overwritten by it if it was a replacement.
	pending  uint32
	basisGen int
	fights   []time.Time // re-attachments after a replacement of the capture, within FollowWindow
	due      time.Time   // when to attach to want again; zero when nothing is planned
	givenUp  bool        // no longer followed
	// nexthopEvent is the last notification of another process about a
	// nexthop object that lwtdump's copies mirror, not yet looked into
	// (see followNexthops); nil when none.
	nexthopEvent *route.Event
	nexthopBy    func() string // names who changed the nexthop, when the event cannot
	// gaps are read by the writer's goroutine: guarded by follower.mu.
	gaps []sample.Gap
	open bool // the last gap is still open
	// gapNews tells that the last gap opened or closed since a notice
	// last carried it.
	gapNews bool
}

// follower watches the routes of a capture, says when another process
// replaces or removes one, records the gaps, and attaches to the route
// again when it comes back.
type follower struct {
	c        *Capture
	w        *route.Watcher
	routes   []*followed
	noFollow bool
	notify   func(RouteNotice)
	down     map[int]bool // links seen going down

	mu sync.Mutex // guards the gaps of routes, read by Gaps from another goroutine

	running  bool
	stopping chan struct{}
	done     chan struct{}
	failed   chan error // one error that ends the capture
	stopped  bool       // after stop: no re-attachment any more, only bookkeeping
	held     *route.Event
	// leftover are changes replaced by newer ones whose nexthop copies
	// could not be deleted: Detach tries again, and the state file keeps
	// them until it succeeds.
	leftover []*route.Change
}

// newFollower opens the notification socket for the capture's targets,
// before any route is looked up, so that no change of another process is
// missed from then on.
func newFollower(c *Capture, opts Options) (*follower, error) {
	var lens []int
	for _, t := range opts.Targets {
		lens = append(lens, t.Prefix.Bits())
	}
	if len(opts.SIDs) > 0 {
		lens = append(lens, 128)
	}
	w, err := c.h.Watch(lens)
	if err != nil {
		return nil, err
	}
	notify := opts.Notify
	if notify == nil {
		notify = func(RouteNotice) {}
	}
	return &follower{c: c, w: w, noFollow: opts.NoFollow, notify: notify, down: map[int]bool{},
		stopping: make(chan struct{}), done: make(chan struct{}), failed: make(chan error, 1)}, nil
}

// add follows a route that Start changed with ch, whose notification
// carries seq; e is the encap to put on another process's version of it.
func (f *follower) add(ch *route.Change, seq uint32, sid bool, e route.Encap) {
	fr := &followed{
		ch: ch, key: ch.Installed.Key(), sid: sid, encap: e, attached: true, pending: seq,
		want: ch.Original,
	}
	dst := ch.Installed.Dst().String()
	for i, a := range f.c.attachments {
		if a.Route == dst {
			fr.atts = append(fr.atts, uint32(i))
		}
	}
	f.routes = append(f.routes, fr)
}

// start reads the notifications from now on, in a goroutine of its own.
func (f *follower) start() {
	keys := make([]route.Key, len(f.routes))
	for i, fr := range f.routes {
		keys[i] = fr.key
	}
	f.w.SetKeys(keys)
	f.running = true
	go f.run()
}

// stop ends the goroutine: from then on nothing is attached again.
// Notifications are still read, by restore.
func (f *follower) stop() {
	if f.stopped {
		return
	}
	if f.running {
		close(f.stopping)
		f.w.Interrupt()
		<-f.done
	}
	f.stopped = true
}

// close releases the notification socket.
func (f *follower) close() {
	f.stop()
	f.w.Close()
}

// context returns ctx ended also when the follower fails (ErrRouteLost).
func (f *follower) context(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case err := <-f.failed:
			cancel(err)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// fail ends the capture with err (the first error only).
func (f *follower) fail(err error) {
	select {
	case f.failed <- err:
	default:
	}
}

func (f *follower) run() {
	defer close(f.done)
	for {
		ev, err := f.w.Read(f.nextDue())
		select {
		case <-f.stopping:
			if err == nil {
				f.held = &ev // read already: for drain
			}
			return
		default:
		}
		switch {
		case err == nil:
			f.handle(ev)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// A re-attachment is due: first take in what arrived, so that
			// it is made on the newest version of the route.
			f.drain()
		case errors.Is(err, route.ErrInterrupted):
		case errors.Is(err, route.ErrLost):
			f.resync("notifications were lost")
		default:
			f.fail(fmt.Errorf("watch routes: %w", err))
			return
		}
		f.attachDue(time.Now())
	}
}

// nextDue is the earliest planned re-attachment, or a zero time.
func (f *follower) nextDue() time.Time {
	var next time.Time
	for _, fr := range f.routes {
		if !fr.due.IsZero() && (next.IsZero() || fr.due.Before(next)) {
			next = fr.due
		}
	}
	return next
}

// attachDue attaches to the routes whose time has come.
func (f *follower) attachDue(now time.Time) {
	for _, fr := range f.routes {
		if !fr.due.IsZero() && !fr.due.After(now) {
			fr.due = time.Time{}
			f.reattach(fr, now, nil, true)
		}
	}
}

func (f *follower) find(k route.Key) *followed {
	for _, fr := range f.routes {
		if fr.key == k {
			return fr
		}
	}
	return nil
}

// handle takes one notification into account.
func (f *follower) handle(ev route.Event) {
	switch ev.Type {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		f.onLink(ev)
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		if fr := f.find(ev.Route.Key()); fr != nil {
			f.onRoute(fr, ev, f.c.h.PortOwner)
		}
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		f.onNexthop(ev)
	}
	f.followNexthopsDue()
}

// followNexthopsDue looks at the nexthops of the routes whose nexthops
// another process changed, once lwtdump's own change of the route, if one
// is under way, has been read.
func (f *follower) followNexthopsDue() {
	for _, fr := range f.routes {
		if fr.nexthopEvent != nil && fr.pending == 0 {
			f.followNexthops(fr)
		}
	}
}

// onRoute takes a route notification into account; who names the sender.
func (f *follower) onRoute(fr *followed, ev route.Event, who func(uint32) string) {
	by := once(func() string {
		name := who(ev.Port)
		if ev.Port == 0 && f.down[ev.Route.OIF()] {
			name += fmt.Sprintf(" (device %s went down)", f.c.h.LinkName(ev.Route.OIF()))
		}
		return name
	})
	if ev.Own {
		if ev.Seq == fr.pending {
			fr.pending = 0
			if ev.Type == unix.RTM_NEWROUTE && fr.basisGen != fr.wantGen && fr.want != nil && !f.stopped {
				// Another process replaced the route just before this
				// change of lwtdump's, which overwrote it: its version is
				// the one to carry the capture.
				want := fr.want
				f.reattach(fr, ev.Time, func() string {
					return fmt.Sprintf("replaced by another process just before lwtdump's change, which overwrote it: attaching to that version (%s)", f.describe(want))
				}, true)
			}
		}
		return
	}
	if fr.pending != 0 {
		// Made before lwtdump's pending change: it only changes what
		// the route should be (and tells that the change overwrote it).
		fr.wantGen++
		fr.want = nil
		if ev.Type == unix.RTM_NEWROUTE {
			fr.want = ev.Route
		}
		return
	}
	if ev.Type == unix.RTM_NEWROUTE && fr.attached && fr.ch.Owns(ev.Route) {
		return // the route still carries the capture
	}
	if ev.Type == unix.RTM_NEWROUTE && ev.Flags&unix.NLM_F_REPLACE == 0 && fr.attached {
		// A route added beside the captured one (ip route append, an ECMP
		// sibling), or added after a removal that sent no notification (an
		// IPv4 route whose device went down): look.
		if owned, err := f.c.h.Owned(fr.ch); err == nil && owned {
			return
		}
	}
	f.changed(fr, ev.Type, ev.Route, by, ev.Time)
}

// changed takes into account that another process (named by by, which may
// take time, so it is called once the capture is attached again) replaced
// the route with r (RTM_NEWROUTE) or removed it (RTM_DELROUTE) at t.
func (f *follower) changed(fr *followed, typ uint16, r *route.Route, by func() string, t time.Time) {
	old := fr.want
	fr.wantGen++
	wasAttached := fr.attached
	fr.attached = false
	if wasAttached {
		f.openGap(fr, t)
		if !fr.ch.Owns(r) {
			// The route no longer uses lwtdump's nexthop copies, if it had any.
			f.c.h.DeleteCopies(fr.ch)
		}
	}
	if typ == unix.RTM_DELROUTE {
		fr.want = nil
		fr.due = time.Time{}
		if !wasAttached {
			return // the route it waited for went away again: the gap goes on
		}
		what := "removed by " + by()
		f.setCause(fr, "route "+what)
		if !f.lost(fr, what, t) {
			f.say(fr, t, what+": "+f.pausedUntil(fr))
		}
		return
	}
	fr.want = r
	what := once(func() string {
		var w string
		switch {
		case wasAttached:
			w = "replaced by " + by() + ": " + f.change(old, r)
			f.setCause(fr, "route "+w)
		case old == nil:
			w = "back, added by " + by() + ": " + f.describe(r)
		default:
			w = "replaced again by " + by() + ": " + f.change(old, r)
		}
		return w
	})
	switch {
	case f.noFollow && f.lost(fr, what(), t) || fr.givenUp:
		return
	case f.stopped:
		f.say(fr, t, what()+"; left as it is (the capture is ending)")
		return
	case !wasAttached && !fr.due.IsZero():
		return // a re-attachment is planned: it takes the newest version
	}
	if wasAttached {
		fr.fights = pruneBefore(fr.fights, t.Add(-FollowWindow))
		if len(fr.fights) >= FollowLimit {
			f.giveUp(fr, t, fmt.Sprintf("%s; the capture on it was replaced %d times within %s: no longer following it, so as not to fight %s; its gap lasts until the capture ends%s",
				what(), len(fr.fights)+1, shortSeconds(FollowWindow), by(), f.others(fr)))
			return
		}
		if n := len(fr.fights); n > 0 {
			wait := FollowBackoff << (n - 1)
			fr.due = t.Add(wait)
			f.say(fr, t, fmt.Sprintf("%s; attaching again in %s (back-off: replacement %d of the capture within %s)", what(), shortSeconds(wait), n+1, shortSeconds(FollowWindow)))
			return
		}
	}
	f.reattach(fr, t, what, wasAttached)
}

// lost handles --no-follow, and reports whether the capture ends.
func (f *follower) lost(fr *followed, what string, t time.Time) bool {
	if !f.noFollow || f.stopped {
		return false
	}
	fr.givenUp = true
	f.fail(&RouteLostError{Route: fr.key.String(), What: what, Time: t})
	return true
}

// reattach puts the capture on fr.want, the version another process
// installed: on the route itself, on each of its paths, or on new copies of
// its nexthop objects (those of the version before are deleted once the
// route has left them). what, when not nil, says what happened, and is
// said with the outcome; fight tells that the capture itself was replaced,
// which counts towards the back-off.
func (f *follower) reattach(fr *followed, t time.Time, what func() string, fight bool) {
	cur := fr.want
	if cur == nil || f.stopped {
		return
	}
	prefix := func() string {
		if what == nil {
			return ""
		}
		return what() + "; "
	}
	if err := f.c.checkFollow(cur, fr.sid); err != nil {
		back := f.putBack(fr, t)
		f.giveUp(fr, t, fmt.Sprintf("%snow %s, which lwtdump cannot capture: %v; no longer following it%s%s", prefix(), f.describe(cur), collapseSpace(err), back, f.others(fr)))
		return
	}
	f.c.stateMu.Lock()
	defer f.c.stateMu.Unlock()
	ch, err := f.c.attach(cur, cur.Dst(), 0, cur.Table(), fr.encap)
	if err != nil {
		if route.Gone(err) || errors.Is(err, route.ErrNotCarried) {
			return // removed or changed meanwhile: its notification follows
		}
		back := f.putBack(fr, t)
		f.giveUp(fr, t, fmt.Sprintf("%sattaching again failed: %v; no longer following it%s%s", prefix(), collapseSpace(err), back, f.others(fr)))
		return
	}
	seq := f.c.h.ChangeSeq()
	now := time.Now()
	if fight {
		fr.fights = append(fr.fights, t)
	}
	for i, old := range f.c.changes {
		if old == fr.ch {
			f.c.changes[i] = ch
		}
	}
	old := fr.ch
	fr.ch, fr.attached, fr.pending, fr.basisGen = ch, true, seq, fr.wantGen
	said := prefix() // after the change: naming the sender may take a while
	// The route is on ch's copies now, if it has any: those of the
	// version before can go, then their record.
	if err := f.c.h.DeleteCopies(old); err != nil {
		f.say(fr, now, fmt.Sprintf("lwtdump's nexthop copies of the version before stay for now: %v", collapseSpace(err)))
		f.leftover = append(f.leftover, old)
	} else {
		f.c.state.Forget(old)
	}
	if !fr.open { // the capture was on the route all along, on an older version
		f.say(fr, now, strings.TrimSuffix(said, "; "))
		return
	}
	gap := seconds(f.closeGap(fr, now, f.describe(cur)))
	if what == nil {
		f.say(fr, now, fmt.Sprintf("captured again after a gap of %s (the route is now %s)", gap, f.describe(cur)))
		return
	}
	f.say(fr, now, fmt.Sprintf("%scaptured again after a gap of %s", said, gap))
}

// checkFollow checks that the capture can be put on r, the version of its
// route that another process installed: the checks of Start.
func (c *Capture) checkFollow(r *route.Route, sid bool) error {
	if err := c.checkOwner(r, r.Table()); err != nil {
		return err
	}
	if sid {
		return route.CheckEndReplaceable(r)
	}
	if err := route.CheckReplaceable(r); err != nil {
		return err
	}
	return c.h.CheckNexthops(r)
}

// putBack gives the route back to the process that installed it, when it
// still carries the capture on lwtdump's nexthop copies but the capture
// cannot follow that process's nexthops: the route must forward as that
// process asked. The gap lasts until the capture ends. It returns what to
// add to the line that says so, "" when there was nothing to put back.
func (f *follower) putBack(fr *followed, t time.Time) string {
	if !fr.attached || fr.want == nil {
		return ""
	}
	seq, err := f.c.h.Replace(fr.want)
	if err != nil {
		// Gone meanwhile (its notification follows), or the restore at
		// exit tries again.
		return fmt.Sprintf("; putting the route back as the other process has it failed: %v", collapseSpace(err))
	}
	fr.attached, fr.pending, fr.basisGen = false, seq, fr.wantGen
	f.openGap(fr, t)
	f.c.h.DeleteCopies(fr.ch)
	return "; the route is put back as the other process has it"
}

// giveUp stops following fr; when no route is left to capture, the capture ends.
func (f *follower) giveUp(fr *followed, t time.Time, text string) {
	fr.givenUp, fr.due = true, time.Time{}
	f.say(fr, t, text)
	for _, o := range f.routes {
		if !o.givenUp {
			return
		}
	}
	f.fail(&RouteLostError{NoneLeft: true})
}

// others says that the capture goes on with the other routes, if any.
func (f *follower) others(fr *followed) string {
	for _, o := range f.routes {
		if o != fr && !o.givenUp {
			return " (the other routes are still captured)"
		}
	}
	return ""
}

func (f *follower) pausedUntil(fr *followed) string {
	if f.stopped {
		return "not put back (the capture is ending)"
	}
	if f.noFollow {
		return "capture of it lost"
	}
	return "capture paused until a route to " + fr.key.Dst.String() + " comes back"
}

// onLink notes links going down: the kernel removes the IPv4 routes through
// such a link without a notification, so those captured are looked up.
func (f *follower) onLink(ev route.Event) {
	if ev.Up {
		delete(f.down, ev.Link)
		return
	}
	if f.down[ev.Link] {
		return
	}
	f.down[ev.Link] = true
	for _, fr := range f.routes {
		if !fr.attached || fr.pending != 0 || !fr.key.Dst.Addr().Is4() || !slices.Contains(devices(fr.ch), ev.Link) {
			continue
		}
		cur, err := f.c.h.Lookup(fr.ch.Installed)
		if err != nil || fr.ch.Owns(cur) {
			continue
		}
		name := fmt.Sprintf("the kernel (device %s went down)", f.c.h.LinkName(ev.Link))
		by := func() string { return name }
		if cur == nil {
			f.changed(fr, unix.RTM_DELROUTE, nil, by, ev.Time)
		} else {
			f.changed(fr, unix.RTM_NEWROUTE, cur, by, ev.Time)
		}
	}
}

// onNexthop notes a change of another process to a nexthop object that
// lwtdump's copies mirror: the route it captures on those copies must
// forward as that process now asks (see followNexthops).
func (f *follower) onNexthop(ev route.Event) {
	if ev.Own || ev.NhID == 0 {
		return
	}
	for _, fr := range f.routes {
		if fr.attached && slices.Contains(fr.ch.Copied(), ev.NhID) {
			fr.nexthopEvent, fr.nexthopBy = &ev, nil
		}
	}
}

// followNexthops looks at the nexthop objects that the copies of a route
// mirror, after another process changed one of them: when it changed (ip
// nexthop replace), the route is put on new copies of them, as when the
// route itself is replaced; when the route's own nexthop object was
// deleted, the route is deleted, as the kernel deletes the routes on a
// nexthop it deletes.
func (f *follower) followNexthops(fr *followed) {
	ev, named := fr.nexthopEvent, fr.nexthopBy
	fr.nexthopEvent, fr.nexthopBy = nil, nil
	if !fr.attached || fr.givenUp || fr.want == nil {
		return
	}
	state, err := f.c.h.CheckCopies(fr.ch)
	if err != nil || state == route.CopiesCurrent {
		return
	}
	by := once(func() string {
		if named != nil {
			return named()
		}
		return f.c.h.PortOwner(ev.Port)
	})
	top := fr.want.NexthopID()
	if state == route.NexthopGone {
		f.nexthopGone(fr, ev, top, by)
		return
	}
	old := f.describeCopies(fr.ch)
	var now string
	if n, err := f.c.h.GetNexthop(top); err == nil && n != nil {
		now = f.describeNexthop(n)
	}
	what := func() string {
		w := fmt.Sprintf("nexthop %d %s by %s: now %s, was %s", top, changedVerb(ev), by(), now, old)
		if ev.NhID != top {
			w = fmt.Sprintf("nexthop %d of its group %d %s by %s: the group is now %s, was %s", ev.NhID, top, changedVerb(ev), by(), now, old)
		}
		return w
	}
	switch {
	case f.noFollow && f.lost(fr, what(), ev.Time):
		return
	case f.stopped:
		return // the route is put back on that nexthop at once
	}
	before := fr.ch
	f.reattach(fr, ev.Time, func() string {
		if fr.ch == before {
			return what() // not followed: said with why
		}
		return what() + "; followed: the route is on new copies of lwtdump's (" + f.copyIDs(fr.ch) + ")"
	}, false)
}

// changedVerb says what a nexthop notification did: "changed", or
// "deleted" (a member deleted from a group).
func changedVerb(ev *route.Event) string {
	if ev.Type == unix.RTM_DELNEXTHOP {
		return "deleted"
	}
	return "changed"
}

// nexthopGone deletes the route, which is on lwtdump's copy of top, the
// nexthop object another process deleted: the kernel would have deleted
// the route with it. Only while the route is still on the copy: the
// deletion names the copy.
func (f *follower) nexthopGone(fr *followed, ev *route.Event, top uint32, by func() string) {
	seq, err := f.c.h.Remove(fr.ch.Installed)
	if route.Gone(err) {
		return // not on lwtdump's copy any more: its notification follows
	}
	what := fmt.Sprintf("removed: its nexthop %d was deleted by %s, and the kernel deletes the routes on a nexthop it deletes; lwtdump deleted the route, which was on its copy", top, by())
	if err != nil {
		f.giveUp(fr, ev.Time, fmt.Sprintf("its nexthop %d was deleted by %s, and the kernel deletes the routes on a nexthop it deletes; but lwtdump could not delete the route, which is on its copy: %v; no longer following it%s", top, by(), collapseSpace(err), f.others(fr)))
		return
	}
	fr.wantGen++
	fr.want, fr.attached, fr.due = nil, false, time.Time{}
	fr.pending, fr.basisGen = seq, fr.wantGen
	f.openGap(fr, ev.Time)
	f.setCause(fr, "route "+what)
	f.c.h.DeleteCopies(fr.ch)
	switch {
	case f.stopped:
		f.say(fr, ev.Time, what)
	case !f.lost(fr, what, ev.Time):
		f.say(fr, ev.Time, what+": "+f.pausedUntil(fr))
	}
}

// describeNexthop says what a nexthop object is in the words of `ip
// nexthop`: "via 2001:db8:2::1 dev r1_h2", or for a group, its members:
// "group 21/22 (via ... dev r1_h2, via ... dev r1_h2b)".
func (f *follower) describeNexthop(n *route.Nexthop) string {
	if !n.IsGroup() {
		return f.describeSingle(n)
	}
	var ids, members []string
	for _, m := range n.Group() {
		id := fmt.Sprint(m.Id)
		if m.Weight != 0 {
			id += fmt.Sprintf(",%d", int(m.Weight)+1)
		}
		ids = append(ids, id)
		if mn, err := f.c.h.GetNexthop(m.Id); err == nil && mn != nil {
			members = append(members, f.describeSingle(mn))
		}
	}
	return "group " + strings.Join(ids, "/") + " (" + strings.Join(members, ", ") + ")"
}

// describeCopies says what the nexthop objects that c's copies mirror were
// when the copies were made.
func (f *follower) describeCopies(c *route.Change) string {
	if len(c.Nexthops) == 0 {
		return "unknown"
	}
	last := c.Nexthops[len(c.Nexthops)-1]
	if !last.Nexthop.IsGroup() {
		return f.describeSingle(last.Nexthop)
	}
	var ids, members []string
	for i, m := range last.Nexthop.Group() {
		if i >= len(c.Nexthops)-1 {
			break
		}
		id := fmt.Sprint(c.Nexthops[i].Of)
		if m.Weight != 0 {
			id += fmt.Sprintf(",%d", int(m.Weight)+1)
		}
		ids = append(ids, id)
		members = append(members, f.describeSingle(c.Nexthops[i].Nexthop))
	}
	return "group " + strings.Join(ids, "/") + " (" + strings.Join(members, ", ") + ")"
}

// describeSingle says what a single nexthop is: "via 2001:db8:2::1 dev r1_h2".
func (f *follower) describeSingle(n *route.Nexthop) string {
	if n.Blackhole() {
		return "blackhole"
	}
	var parts []string
	if gw := n.Gateway(); gw.IsValid() {
		parts = append(parts, "via "+gw.String())
	}
	if o := n.OIF(); o != 0 {
		name := f.c.h.LinkName(o)
		if name == "" {
			name = fmt.Sprintf("ifindex %d", o)
		}
		parts = append(parts, "dev "+name)
	}
	if len(parts) == 0 {
		return "no gateway or device"
	}
	return strings.Join(parts, " ")
}

// copyIDs names lwtdump's nexthop copies of a change: "nexthop 3758096385",
// or for a group, "group 3758096387 of 3758096385/3758096386".
func (f *follower) copyIDs(c *route.Change) string {
	if len(c.Nexthops) == 0 {
		return "none"
	}
	last := c.Nexthops[len(c.Nexthops)-1].Nexthop
	if !last.IsGroup() {
		return fmt.Sprintf("nexthop %d", last.ID())
	}
	var ids []string
	for _, cp := range c.Nexthops[:len(c.Nexthops)-1] {
		ids = append(ids, fmt.Sprint(cp.Nexthop.ID()))
	}
	return fmt.Sprintf("group %d of %s", last.ID(), strings.Join(ids, "/"))
}

// devices returns the ifindexes of the devices a change's route goes
// through: its own, its paths', or those of its nexthop copies.
func devices(c *route.Change) []int {
	oifs := c.Installed.OIFs()
	for _, n := range c.Nexthops {
		if o := n.Nexthop.OIF(); o != 0 {
			oifs = append(oifs, o)
		}
	}
	return oifs
}

// resync looks every route up after notifications were lost.
func (f *follower) resync(why string) {
	now := time.Now()
	by := func() string { return "another process (" + why + ")" }
	for _, fr := range f.routes {
		cur, err := f.c.h.Lookup(fr.ch.Installed)
		if err != nil {
			continue
		}
		fr.pending = 0
		switch {
		case fr.ch.Owns(cur):
			fr.attached = true
			if len(fr.ch.Nexthops) > 0 && fr.want != nil {
				// Its nexthops may have changed too.
				fr.nexthopEvent = &route.Event{Type: unix.RTM_NEWNEXTHOP, Time: now, NhID: fr.want.NexthopID()}
				fr.nexthopBy = by
			}
		case cur == nil && (fr.attached || fr.want != nil):
			f.changed(fr, unix.RTM_DELROUTE, nil, by, now)
		case cur != nil && (fr.attached || fr.want == nil || !route.Equal(cur, fr.want)):
			f.changed(fr, unix.RTM_NEWROUTE, cur, by, now)
		}
	}
	f.followNexthopsDue()
}

// drain takes into account every notification already received.
func (f *follower) drain() {
	if ev := f.held; ev != nil {
		f.held = nil
		f.handle(*ev)
	}
	for {
		ev, err := f.w.Read(time.Now())
		switch {
		case err == nil:
			f.handle(ev)
		case errors.Is(err, route.ErrLost):
			f.resync("notifications were lost")
		default:
			return
		}
	}
}

// restoreTries bounds how often restore gives the route back to another
// process that changed it while lwtdump was putting it back.
const restoreTries = 5

// restore puts a route back at the end of the capture, unless another
// process changed it since. It looks the route up, puts back the version to
// restore, then reads the notifications that arrived meanwhile: if another
// process replaced the route between the look-up and the restore, the
// restore overwrote it, and that process's version is put back in its
// place. The restore is checked against the notification of the change
// itself, so that a change another process makes just after it is never
// taken for a faulty restore. lwtdump's nexthop copies, if the route had
// any, are deleted once the route has left them.
func (f *follower) restore(ch *route.Change) error {
	var fr *followed
	for _, o := range f.routes {
		if o.ch == ch {
			fr = o
		}
	}
	if fr == nil {
		return f.c.h.Undo(ch)
	}
	err := f.restoreRoute(fr, ch)
	if err != nil && !settled(err) {
		return err // the route may still be on the copies: they stay, and the state file with them
	}
	return errors.Join(err, f.releaseCopies(fr, ch))
}

// releaseCopies deletes the nexthop copies of ch once the route no longer
// uses them. A route still on them still carries the capture: that is an
// error, and the state file keeps the change for lwtdump cleanup.
func (f *follower) releaseCopies(fr *followed, ch *route.Change) error {
	if len(ch.Nexthops) == 0 {
		return nil
	}
	owned, err := f.c.h.Owned(ch)
	switch {
	case err != nil:
		return fmt.Errorf("restore route %s: %w", fr.key, err)
	case owned:
		return fmt.Errorf("restore route %s: it is still on lwtdump's nexthop copies (%s)", fr.key, f.copyIDs(ch))
	}
	return f.c.h.DeleteCopies(ch)
}

// restoreRoute is restore for the route alone.
func (f *follower) restoreRoute(fr *followed, ch *route.Change) error {
	f.drain()
	if !fr.attached && fr.pending == 0 {
		return nil // another process's route, or none: nothing of lwtdump's is left on it
	}
	owned, err := f.c.h.Owned(ch)
	if err != nil {
		return fmt.Errorf("restore route %s in table %d: %w", fr.key.Dst, fr.key.Table, err)
	}
	if !owned {
		f.drain() // its notification is in already
		return nil
	}
	testRestorePause()
	create := false
	for try := 0; ; try++ {
		target := fr.want
		var seq uint32
		switch {
		case target == nil:
			seq, err = f.c.h.Remove(ch.Installed)
		case create:
			seq, err = f.c.h.Put(target)
		default:
			seq, err = f.c.h.Replace(target)
		}
		if route.Gone(err) {
			f.drain()
			return nil
		}
		if err != nil && target != nil && target.NexthopID() != 0 && try < restoreTries {
			if n, nerr := f.c.h.GetNexthop(target.NexthopID()); nerr == nil && n == nil {
				// Its nexthop object was deleted meanwhile, which takes
				// the route with it: so goes lwtdump's version.
				fr.wantGen++
				fr.want = nil
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("restore route %s: %w", fr.key, err)
		}
		fr.pending, fr.basisGen = seq, fr.wantGen
		own, err := f.waitOwn(fr, seq)
		if err != nil {
			// Without the notification, check by a look-up.
			fr.pending, fr.attached = 0, false
			if target == nil {
				return nil
			}
			return f.verifyLookup(fr, target)
		}
		if fr.basisGen == fr.wantGen {
			fr.attached = false
			if target != nil && !route.Equal(own.Route, target) {
				return fmt.Errorf("restore route %s: %w: %s", fr.key, route.ErrRestoreDiffers, route.Diff(target, own.Route))
			}
			return nil
		}
		// Another process changed the route after the look-up, and
		// lwtdump's change overwrote it (or, deleting a route lwtdump
		// had added, deleted the other process's in its place).
		if fr.want == nil {
			fr.attached = false
			return nil
		}
		create = own.Type == unix.RTM_DELROUTE
		f.say(fr, time.Now(), fmt.Sprintf("changed by another process while lwtdump put it back, to %s: that version is put back in place of lwtdump's", f.describe(fr.want)))
		if try == restoreTries {
			return fmt.Errorf("restore route %s: another process changed it %d times while lwtdump put it back; it now holds lwtdump's restore, which may be older than that process's version", fr.key, restoreTries+1)
		}
	}
}

// waitOwn reads notifications until that of lwtdump's change seq.
func (f *follower) waitOwn(fr *followed, seq uint32) (route.Event, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		ev, err := f.w.Read(deadline)
		if errors.Is(err, route.ErrInterrupted) {
			continue
		}
		if err != nil {
			return ev, err
		}
		if ev.Route != nil && ev.Own && ev.Seq == seq && ev.Route.Key() == fr.key {
			fr.pending = 0
			return ev, nil
		}
		f.handle(ev)
	}
}

// verifyLookup checks by a look-up that the kernel holds target, when the
// notification of the restore could not be read. A route that another
// process changed after the restore is its own, not a faulty restore.
func (f *follower) verifyLookup(fr *followed, target *route.Route) error {
	gen := fr.wantGen
	cur, err := f.c.h.Lookup(target)
	switch {
	case err != nil:
		return fmt.Errorf("check restored route %s: %w", fr.key, err)
	case cur != nil && route.Equal(cur, target):
		return nil
	}
	if f.drain(); fr.wantGen != gen {
		return nil
	}
	what := "it is missing"
	if cur != nil {
		what = route.Diff(target, cur)
	}
	return fmt.Errorf("restore route %s: %w: %s", fr.key, route.ErrRestoreDiffers, what)
}

// openGap starts a gap on the route's interfaces at t.
func (f *follower) openGap(fr *followed, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fr.open {
		return
	}
	fr.gaps = append(fr.gaps, sample.Gap{Start: t.UnixNano()})
	fr.open, fr.gapNews = true, true
}

// setCause says what opened the current gap.
func (f *follower) setCause(fr *followed, cause string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fr.open {
		fr.gaps[len(fr.gaps)-1].Cause = cause
	}
}

// closeGap ends the open gap at t, and returns its length.
func (f *follower) closeGap(fr *followed, t time.Time, back string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !fr.open {
		return 0
	}
	g := &fr.gaps[len(fr.gaps)-1]
	g.End, g.Back = max(t.UnixNano(), g.Start), back
	fr.open, fr.gapNews = false, true
	return time.Duration(g.End - g.Start)
}

// gaps returns the gaps of an attachment's route.
func (f *follower) gaps(attachment uint32) []sample.Gap {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fr := range f.routes {
		for _, a := range fr.atts {
			if a == attachment {
				return append([]sample.Gap(nil), fr.gaps...)
			}
		}
	}
	return nil
}

// routeGaps returns the gaps of every route that had some.
func (f *follower) routeGaps() []RouteGaps {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []RouteGaps
	for _, fr := range f.routes {
		if len(fr.gaps) > 0 {
			out = append(out, RouteGaps{Route: fr.key.Dst.String(), Gaps: append([]sample.Gap(nil), fr.gaps...)})
		}
	}
	return out
}

// say tells of a route, with its gap when that opened or closed since
// the last notice.
func (f *follower) say(fr *followed, t time.Time, text string) {
	n := RouteNotice{Time: t, Route: fr.key.String(), Text: text,
		Prefix: fr.key.Dst.String(), Table: fr.key.Table, Metric: fr.key.Metric}
	f.mu.Lock()
	if fr.gapNews && len(fr.gaps) > 0 {
		g := fr.gaps[len(fr.gaps)-1]
		n.Gap, fr.gapNews = &g, false
	}
	f.mu.Unlock()
	f.notify(n)
}

// describe says what a route is in the words of `ip route`: "via
// 2001:db8:2::1 dev r1_h2 proto bgp".
func (f *follower) describe(r *route.Route) string {
	if r == nil {
		return "no route"
	}
	gw, oif := r.Gateway(), r.OIF()
	id := r.NexthopID()
	if id != 0 {
		// The route's dump shows its nexthop object as it was then; the
		// object itself says what it is now (for a group: its id alone).
		if n, err := f.c.h.GetNexthop(id); err == nil && n != nil {
			gw, oif = n.Gateway(), n.OIF()
		}
	}
	var parts []string
	if gw.IsValid() {
		parts = append(parts, "via "+gw.String())
	}
	if id != 0 {
		parts = append(parts, fmt.Sprintf("nhid %d", id))
	}
	if r.Multipath() {
		parts = append(parts, "multipath")
	}
	if o := oif; o != 0 {
		name := f.c.h.LinkName(o)
		if name == "" {
			name = fmt.Sprintf("ifindex %d", o)
		}
		parts = append(parts, "dev "+name)
	}
	if t := r.EncapType(); t != 0 && id == 0 {
		parts = append(parts, "encap "+route.EncapName(t))
	}
	parts = append(parts, "proto "+route.ProtocolName(r.Protocol()))
	return strings.Join(parts, " ")
}

// change says how r differs from old, the route before it.
func (f *follower) change(old, r *route.Route) string {
	switch {
	case old == nil:
		return f.describe(r)
	case route.Equal(old, r):
		return "an identical route (" + f.describe(r) + ")"
	case f.describe(old) == f.describe(r):
		return f.describe(r) + ", with other attributes changed: " + route.Diff(old, r)
	}
	return "now " + f.describe(r) + ", was " + f.describe(old)
}

// once returns a function that calls fn the first time only, and then
// returns its result again.
func once(fn func() string) func() string {
	var s string
	done := false
	return func() string {
		if !done {
			s, done = fn(), true
		}
		return s
	}
}

// shortSeconds writes a round duration in seconds: "0.25 s", "60 s".
func shortSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

func pruneBefore(ts []time.Time, t time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(t) {
		i++
	}
	return ts[i:]
}

// seconds writes a duration as the summary does: "3.2 s", or "0.004 s" below a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

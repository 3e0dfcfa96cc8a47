package bpf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Captured is a route that carries BPF programs: a bpf encap (lwt_in,
// lwt_out, lwt_xmit) or an SRv6 End.BPF action, lwtdump's or another's.
type Captured struct {
	Route    *route.Route
	Dev      string          // the route's device
	Programs []route.Program // the programs, with the names they were given
	Owner    int             // the pid of the lwtdump that attached them, 0 when not lwtdump's
	Added    bool            // lwtdump added the route for its capture
	Alive    bool            // the owner still runs
	State    string          // the state file that records the route's original, "" when none
	// Nexthops are lwtdump's copies of the route's nexthop objects that it
	// uses for the capture, as its state file records them.
	Nexthops []route.NexthopCopy
}

// Foreign reports whether the programs are not lwtdump's.
func (c Captured) Foreign() bool { return c.Owner == 0 }

// Stale reports whether the programs are those of an lwtdump that is gone.
func (c Captured) Stale() bool { return c.Owner != 0 && !c.Alive }

// List returns every route of the network namespace (both families, every
// table) that carries a BPF program, telling which are lwtdump's, whether
// their lwtdump still runs, and which state file in stateDir records them.
func List(netns, stateDir string) ([]Captured, error) {
	h, err := route.Open(netns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	states, err := route.LoadStates(stateDir)
	if err != nil {
		return nil, err
	}
	return list(h, states)
}

func list(h *route.Handle, states []*route.State) ([]Captured, error) {
	var found []Captured
	add := func(r *route.Route) {
		progs := r.Programs()
		c := Captured{Route: r, Dev: devNames(h, r.OIFs()), Programs: progs}
		for _, p := range progs {
			if l, ok := ParseProgramName(p.Name); ok {
				c.Owner, c.Added = l.Pid, l.Added
				break
			}
		}
		if c.Owner != 0 {
			c.Alive = route.ProcessAlive(c.Owner)
			if s := stateOf(states, c.Owner, h); s != nil {
				c.State = s.Path()
				c.Nexthops = nexthopsOf(s, r)
			}
		}
		found = append(found, c)
	}
	// Other programs' routes are only found by reading the tables: one
	// batch at a time, keeping the routes that carry a program.
	for _, family := range []int{unix.AF_INET6, unix.AF_INET} {
		err := h.Walk(family, 0, func(m route.RouteMsg) (bool, error) { return m.HasPrograms(), nil }, func(r *route.Route) error {
			if len(r.Programs()) > 0 {
				add(r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// A route on lwtdump's nexthop copies shows no encap in a dump when
	// the kernel leaves the nexthops out of it (nexthop_compat_mode 0): the
	// state files name such routes.
	for _, s := range states {
		if s.NetnsID != h.NetnsID() && !(s.NetnsID == "" && s.Netns == h.Netns()) {
			continue
		}
		for _, sc := range s.Changes {
			ch, err := sc.Change()
			if err != nil || len(ch.Nexthops) == 0 {
				continue
			}
			cur, err := h.Lookup(ch.Installed)
			if err != nil {
				return nil, err
			}
			if !ch.Owns(cur) || slices.ContainsFunc(found, func(c Captured) bool { return c.Route.Key() == cur.Key() }) {
				continue
			}
			c := Captured{Route: cur, Dev: devNames(h, cur.OIFs()), Programs: ch.Installed.Programs(), Owner: s.Pid, State: s.Path(), Nexthops: ch.Nexthops}
			for _, n := range ch.Nexthops {
				c.Programs = append(c.Programs, n.Nexthop.Programs()...)
			}
			c.Alive = route.ProcessAlive(c.Owner)
			found = append(found, c)
		}
	}
	return found, nil
}

// nexthopsOf returns the nexthop copies that s records for the route r uses.
func nexthopsOf(s *route.State, r *route.Route) []route.NexthopCopy {
	if r.NexthopID() == 0 {
		return nil
	}
	for _, sc := range s.Changes {
		for _, n := range sc.Nexthops {
			if n.ID == r.NexthopID() {
				ch, err := sc.Change()
				if err != nil {
					return nil
				}
				return ch.Nexthops
			}
		}
	}
	return nil
}

// devNames names a route's devices: "r1_h2", or "r1_h2,r1_h3" for several paths.
func devNames(h *route.Handle, oifs []int) string {
	var names []string
	for _, o := range oifs {
		if n := h.LinkName(o); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// stateOf returns the state file of pid for the namespace of h, nil when none.
func stateOf(states []*route.State, pid int, h *route.Handle) *route.State {
	for _, s := range states {
		if s.Pid == pid && (s.NetnsID == h.NetnsID() || s.NetnsID == "" && s.Netns == h.Netns()) {
			return s
		}
	}
	return nil
}

// CleanupOptions say what Cleanup restores.
type CleanupOptions struct {
	// Netns limits cleanup to the state files recorded for this network
	// namespace, and is where routes with a stale program but no state file
	// are looked for. When "", every state file is replayed in the
	// namespace it records, and the current namespace is searched.
	Netns    string
	StateDir string // default route.DefaultStateDir
	// Strip removes the programs of a gone lwtdump that no state file
	// records: such a route is replaced by the same route without the encap
	// (lwtdump only captures routes without one), or deleted when lwtdump
	// added it; an End.BPF action becomes End again.
	Strip bool
	// RecordedOnly replays the state files only, and does not look for
	// routes that none records: those may be another capture's, such as
	// another instance of the service, whose state is kept elsewhere.
	RecordedOnly bool
}

// Step is one thing Cleanup did, or could not do.
type Step struct {
	Netns  string // the network namespace, "" for the current one
	Route  string // "2001:db8:20::/48 table 254", or "" for a step about a state file
	Done   bool   // a route was restored, deleted or stripped
	Note   string // what was done, or why nothing was
	Remedy Remedy // what would do what was left undone
}

// Remedy is what would do what a Step left undone.
type Remedy int

// The remedies.
const (
	// NoRemedy: nothing was left undone, or nothing Cleanup can do would do it.
	NoRemedy Remedy = iota
	// RemedyNetns: a state file records changes made in another network
	// namespace, with no name to reach it by; Cleanup run inside that
	// namespace, or with CleanupOptions.Netns naming it, replays it.
	RemedyNetns
	// RemedyStripDelete: a gone lwtdump added the route, and no state
	// file records it; CleanupOptions.Strip deletes it.
	RemedyStripDelete
	// RemedyStrip: the route carries a gone lwtdump's programs, and no
	// state file records its original; lwtdump only captures routes
	// without an encap (and SIDs that are a bare End), so
	// CleanupOptions.Strip puts back the same route without them.
	RemedyStrip
)

func (s Step) String() string {
	where := ""
	if s.Route != "" {
		where = "route " + s.Route
	}
	if s.Netns != "" {
		if where != "" {
			where += " "
		}
		where += "in netns " + s.Netns
	}
	if where == "" {
		return s.Note
	}
	return where + ": " + s.Note
}

// ErrOtherNetns means a state file records changes made in another network
// namespace than the one cleanup runs in, with no name to reach it by.
var ErrOtherNetns = errors.New("its changes were made in another network namespace")

// Cleanup restores the routes of lwtdump processes that are gone (killed,
// crashed): from their state files, touching only routes that still carry
// that process's programs, and removing each state file once it has nothing
// left to restore. Then it looks for routes that still carry a gone
// lwtdump's programs without a state file, and strips them when
// opts.Strip is set. The steps say what was done; the error says what
// could not be.
func Cleanup(opts CleanupOptions) ([]Step, error) {
	if opts.StateDir == "" {
		opts.StateDir = route.DefaultStateDir
	}
	unlock, err := route.Lock(opts.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	states, err := route.LoadStates(opts.StateDir)
	if err != nil {
		return nil, err
	}
	hereID, targetID, err := netnsIDs(opts.Netns)
	if err != nil {
		return nil, err
	}

	var steps []Step
	var errs []error
	var pending []*route.State // state files still holding changes
	for _, s := range states {
		// A state file that cannot be read names no namespace: it is told of
		// wherever cleanup runs.
		named := s.Netns != "" || s.NetnsID != ""
		if opts.Netns != "" && named && s.Netns != opts.Netns && (targetID == "" || s.NetnsID != targetID) {
			continue
		}
		if err := s.Trusted(os.Getuid()); err != nil {
			steps = append(steps, Step{Netns: s.Netns, Note: err.Error()})
			errs = append(errs, fmt.Errorf("state file %s left: %w", s.Path(), route.ErrStateRefused))
			pending = append(pending, s)
			continue
		}
		if s.Alive() {
			steps = append(steps, Step{Netns: s.Netns, Note: fmt.Sprintf("lwtdump pid %d is still running: its routes are left to it", s.Pid)})
			pending = append(pending, s)
			continue
		}
		// Where the changes were made: the named namespace, or the one
		// lwtdump ran in, which must be this one or the one asked for.
		netns := s.Netns
		if netns == "" && s.NetnsID != "" && s.NetnsID != hereID {
			if opts.Netns == "" || targetID == "" || s.NetnsID != targetID {
				steps = append(steps, Step{Note: fmt.Sprintf("state file %s of lwtdump pid %d was written in another network namespace (%s)", s.Path(), s.Pid, s.NetnsID), Remedy: RemedyNetns})
				errs = append(errs, fmt.Errorf("state file %s left: %w", s.Path(), ErrOtherNetns))
				pending = append(pending, s)
				continue
			}
			netns = opts.Netns
		}
		st, err := replay(s, netns)
		steps = append(steps, st...)
		if errors.Is(err, route.ErrStateRefused) {
			err = fmt.Errorf("state file %s left: %w", s.Path(), route.ErrStateRefused)
		}
		if err != nil {
			errs = append(errs, err)
			pending = append(pending, s)
		}
	}

	if opts.RecordedOnly {
		return steps, errors.Join(errs...)
	}
	st, err := cleanupStale(opts, pending)
	steps = append(steps, st...)
	if err != nil {
		errs = append(errs, err)
	}
	return steps, errors.Join(errs...)
}

// netnsIDs identifies the current network namespace and the named one
// (the current one when name is "").
func netnsIDs(name string) (here, target string, err error) {
	h, err := route.Open("")
	if err != nil {
		return "", "", err
	}
	here = h.NetnsID()
	h.Close()
	if name == "" {
		return here, here, nil
	}
	if h, err = route.Open(name); errors.Is(err, route.ErrNoNetns) {
		return here, "", nil // its state files are replayed as nothing to restore
	} else if err != nil {
		return "", "", err
	}
	defer h.Close()
	return here, h.NetnsID(), nil
}

// replay undoes the changes a state file records, newest first, in the
// network namespace netns, and removes the file once nothing is left.
func replay(s *route.State, netns string) (steps []Step, err error) {
	h, err := route.Open(netns)
	if errors.Is(err, route.ErrNoNetns) {
		steps = append(steps, Step{Netns: netns, Note: fmt.Sprintf("the namespace is gone, and with it the routes of lwtdump pid %d: nothing to restore", s.Pid)})
		return steps, s.Remove()
	}
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if err := checkReplay(s, h); err != nil {
		var se *route.StateError
		if errors.As(err, &se) {
			steps = append(steps, Step{Netns: netns, Note: se.Error()})
		}
		return steps, err
	}
	if os.Getuid() == 0 {
		if err := s.Take(); err != nil {
			return append(steps, Step{Netns: netns, Note: err.Error()}), err
		}
	}
	var errs []error
	for i := len(s.Changes) - 1; i >= 0; i-- {
		ch, err := s.Changes[i].Change()
		if err != nil {
			errs = append(errs, fmt.Errorf("state file %s: %w", s.Path(), err))
			continue
		}
		step := Step{Netns: netns, Route: fmt.Sprintf("%s table %d", ch.Installed.Dst(), ch.Installed.Table())}
		owned, err := h.Owned(ch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = h.Undo(ch)
		switch {
		case err == nil && owned && ch.Kind == route.Added:
			step.Done, step.Note = true, fmt.Sprintf("deleted (lwtdump pid %d had added it)", s.Pid)
		case err == nil && owned:
			step.Done, step.Note = true, fmt.Sprintf("restored (lwtdump pid %d had replaced it)", s.Pid)
		case err == nil:
			step.Note = fmt.Sprintf("no longer carries the programs of lwtdump pid %d: nothing to restore", s.Pid)
		case settled(err):
			step.Note = collapseSpace(err)
		default:
			errs = append(errs, err)
			continue
		}
		steps = append(steps, step)
		if err := s.Drop(i); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return steps, errors.Join(errs...)
	}
	return steps, s.Remove()
}

// cleanupStale finds routes that carry the programs of a gone lwtdump with
// no state file left to restore them, and strips them when asked.
func cleanupStale(opts CleanupOptions, pending []*route.State) ([]Step, error) {
	h, err := route.Open(opts.Netns)
	if errors.Is(err, route.ErrNoNetns) {
		return nil, nil // no namespace, no routes
	}
	if err != nil {
		return nil, err
	}
	defer h.Close()
	found, err := list(h, pending)
	if err != nil {
		return nil, err
	}
	var steps []Step
	var stale []string
	for _, c := range found {
		if !c.Stale() {
			continue
		}
		step := Step{Netns: opts.Netns, Route: fmt.Sprintf("%s table %d", c.Route.Dst(), c.Route.Table())}
		switch {
		case c.State != "":
			step.Note = fmt.Sprintf("still carries the programs of lwtdump pid %d: its state file %s could not be replayed (see above)", c.Owner, c.State)
			stale = append(stale, step.Route)
		case !opts.Strip && c.Added:
			step.Note = fmt.Sprintf("was added by lwtdump pid %d, which is gone, and no state file records it", c.Owner)
			step.Remedy = RemedyStripDelete
			stale = append(stale, step.Route)
		case !opts.Strip:
			step.Note = fmt.Sprintf("carries the programs of lwtdump pid %d, which is gone, and no state file records the original", c.Owner)
			step.Remedy = RemedyStrip
			stale = append(stale, step.Route)
		case c.Added:
			if err := h.Delete(c.Route); err != nil {
				return steps, err
			}
			step.Done, step.Note = true, fmt.Sprintf("deleted (added by lwtdump pid %d, no state file)", c.Owner)
		default:
			if err := h.Strip(c.Route, nl.SEG6_LOCAL_ACTION_END); err != nil {
				return steps, err
			}
			step.Done, step.Note = true, fmt.Sprintf("removed the encap of lwtdump pid %d (no state file)", c.Owner)
			if c.Route.EncapType() == nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
				step.Note = fmt.Sprintf("End.BPF of lwtdump pid %d is End again (no state file)", c.Owner)
			}
		}
		steps = append(steps, step)
	}
	if len(stale) > 0 {
		return steps, fmt.Errorf("left as they are (see above): %s: %w", strings.Join(stale, ", "), ErrStale)
	}
	return steps, nil
}

// collapseSpace is the text of err with every run of white space, line
// breaks included, made one space.
func collapseSpace(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

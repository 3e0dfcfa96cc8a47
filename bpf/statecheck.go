package bpf

import (
	"fmt"

	"github.com/lwtdump/lwtdump/bpf/route"
)

// checkReplay checks every change a state file records before any is
// replayed in the namespace of h, so that either the whole file is
// replayed or none of it: each change must undo no more than a capture
// (route.CheckUndo), with the programs that lwtdump pid s.Pid puts on such a
// route, and a route that carries them now must be the route installed
// (route.CheckInstalled).
func checkReplay(s *route.State, h *route.Handle) error {
	refuse := func(err error) error {
		return &route.StateError{Path: s.Path(), Pid: s.Pid, Reason: err.Error()}
	}
	for _, sc := range s.Changes {
		ch, err := sc.Change()
		if err != nil {
			return refuse(err)
		}
		if err := route.CheckUndo(ch); err != nil {
			return refuse(err)
		}
		if err := ownPrograms(ch, s.Pid); err != nil {
			return refuse(err)
		}
		cur, err := h.Lookup(ch.Installed)
		if err != nil {
			return err
		}
		if err := route.CheckInstalled(ch, cur); err != nil {
			return refuse(err)
		}
	}
	return nil
}

// ownPrograms checks that the programs of the route c installed (or of
// lwtdump's copies of its nexthops, for a route on a nexthop object) are
// named as lwtdump pid names those it puts on a route it replaced or added.
func ownPrograms(c *route.Change, pid int) error {
	names := c.Installed.ProgramNames()
	for _, cp := range c.Nexthops {
		for _, p := range cp.Nexthop.Programs() {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("route %s: the route installed carries no program", c.Installed.Dst())
	}
	for _, n := range names {
		l, ok := ParseProgramName(n)
		if !ok || l.Pid != pid || l.Added != (c.Kind == route.Added) {
			return fmt.Errorf("route %s: program %q is not one that lwtdump pid %d puts on a route it %s", c.Installed.Dst(), n, pid, c.Kind)
		}
	}
	return nil
}

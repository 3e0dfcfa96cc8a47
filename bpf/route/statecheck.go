package route

// What a state file must be before it is replayed. The process that wrote
// it may have run for a user other than root (-Z USER, or a user holding
// capabilities), who can then rewrite it; replaying it changes routes with
// the privileges of whoever runs cleanup. So a state file is replayed only
// when it is where and whose it should be, and when each change it records
// can do no more than take a capture off a route: put back the route the
// kernel now holds without what lwtdump added to it, or delete a route
// lwtdump added.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ErrStateRefused means a state file is not replayed; StateError says why.
var ErrStateRefused = errors.New("not replayed")

// StateError is a state file that is not replayed, and why.
type StateError struct {
	Path   string
	Pid    int    // the pid it records, 0 when it could not be read
	Reason string // such as "it is writable by others (mode 0666)"
}

func (e *StateError) Error() string {
	who := ""
	if e.Pid != 0 {
		who = fmt.Sprintf(" of lwtdump pid %d", e.Pid)
	}
	return fmt.Sprintf("state file %s%s %v: %s", e.Path, who, ErrStateRefused, e.Reason)
}

func (e *StateError) Unwrap() error { return ErrStateRefused }

// stateFacts is how a state file and its directory were found when read.
type stateFacts struct {
	err              error // the file could not be read
	dirUID, fileUID  uint32
	dirMode          uint32 // st_mode
	fileMode         uint32
	dirDev, dirIno   uint64
	fileDev, fileIno uint64
}

// maxStateSize bounds what is read of a state file.
const maxStateSize = 1 << 20

// readState reads the state file at path without following a link at its
// last two components (the file and its per-process directory), and notes
// who owns them.
func readState(path string) (s *State) {
	s = &State{path: path}
	defer func() {
		if s.facts.err != nil && s.Pid == 0 {
			// For saying whose routes are left: the name of its directory.
			s.Pid, _ = strconv.Atoi(filepath.Base(filepath.Dir(path)))
		}
	}()
	d, err := os.OpenFile(filepath.Dir(path), os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		s.facts.err = err
		return s
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		s.facts.err = err
		return s
	}
	s.facts.dirUID, s.facts.dirMode, s.facts.dirDev, s.facts.dirIno = st.Uid, st.Mode, st.Dev, st.Ino
	fd, err := unix.Openat(int(d.Fd()), filepath.Base(path), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		s.facts.err = &fs.PathError{Op: "open", Path: path, Err: err}
		return s
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := unix.Fstat(fd, &st); err != nil {
		s.facts.err = err
		return s
	}
	s.facts.fileUID, s.facts.fileMode, s.facts.fileDev, s.facts.fileIno = st.Uid, st.Mode, st.Dev, st.Ino
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		s.facts.err = errors.New("it is not a regular file")
		return s
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	switch {
	case err != nil:
		s.facts.err = err
	case len(data) > maxStateSize:
		s.facts.err = fmt.Errorf("it is larger than %d bytes", maxStateSize)
	default:
		if err := json.Unmarshal(data, s); err != nil {
			s.facts.err = fmt.Errorf("it is not a state file: %w", err)
		}
	}
	return s
}

// Trusted checks that the state file may be replayed by a process of the
// real uid caller: it was read whole; it is a regular file, in the
// directory named after the pid it records; neither is writable by group
// or others; both are owned by root or by the user the file records (its
// -Z user). A caller other than root replays only its own state: the file
// must record the caller, and the caller own it. It checks where the file
// is and whose; CheckUndo and CheckInstalled check what it says.
func (s *State) Trusted(caller int) error {
	refuse := func(format string, args ...any) error {
		return &StateError{Path: s.path, Pid: s.Pid, Reason: fmt.Sprintf(format, args...)}
	}
	f := s.facts
	dir := filepath.Dir(s.path)
	switch {
	case f.err != nil:
		return refuse("it cannot be read: %v", f.err)
	case filepath.Base(dir) != strconv.Itoa(s.Pid):
		return refuse("it records pid %d but is in the directory of pid %s", s.Pid, filepath.Base(dir))
	case f.dirMode&0o022 != 0:
		return refuse("its directory %s is writable by others (mode %#o)", dir, f.dirMode&0o7777)
	case f.fileMode&0o022 != 0:
		return refuse("it is writable by others (mode %#o)", f.fileMode&0o7777)
	}
	if caller != 0 {
		if s.Uid != caller || int(f.fileUID) != caller || int(f.dirUID) != caller {
			return refuse("it is root's or another user's (file uid %d, directory uid %d, recorded uid %d), and this process runs for uid %d, which replays only its own state", f.fileUID, f.dirUID, s.Uid, caller)
		}
		return nil
	}
	for _, o := range []struct {
		what string
		uid  uint32
	}{{"it", f.fileUID}, {"its directory", f.dirUID}} {
		if o.uid != 0 && int(o.uid) != s.Uid {
			return refuse("%s is owned by uid %d, which is neither root nor the user the file records (uid %d)", o.what, o.uid, s.Uid)
		}
	}
	return nil
}

// Take makes root the owner of a state file and of its directory that its
// user owned (mode 0700 and 0600), before root replays it: from then on the
// user can neither change nor move them, and what root writes there stays
// there. It checks that they are still those Trusted saw.
func (s *State) Take() error {
	f := s.facts
	if f.dirUID == 0 && f.fileUID == 0 {
		return nil
	}
	refuse := func(format string, args ...any) error {
		return &StateError{Path: s.path, Pid: s.Pid, Reason: fmt.Sprintf(format, args...)}
	}
	dir := filepath.Dir(s.path)
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return refuse("it cannot be taken over: %v", err)
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil || st.Dev != f.dirDev || st.Ino != f.dirIno {
		return refuse("its directory changed while it was read")
	}
	if err := unix.Fchown(int(d.Fd()), 0, 0); err != nil {
		return refuse("it cannot be taken over: %v", err)
	}
	if err := unix.Fchmod(int(d.Fd()), 0o700); err != nil {
		return refuse("it cannot be taken over: %v", err)
	}
	fd, err := unix.Openat(int(d.Fd()), filepath.Base(s.path), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return refuse("it cannot be taken over: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil || st.Dev != f.fileDev || st.Ino != f.fileIno {
		return refuse("it changed while it was read")
	}
	if err := unix.Fchown(fd, 0, 0); err != nil {
		return refuse("it cannot be taken over: %v", err)
	}
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return refuse("it cannot be taken over: %v", err)
	}
	// Only now is the name sure to stay the directory taken: check that it
	// still is.
	if err := unix.Lstat(dir, &st); err != nil || st.Dev != f.dirDev || st.Ino != f.dirIno {
		return refuse("its directory was moved while it was taken over")
	}
	return nil
}

// CheckStateDir checks the directory that holds the state of every
// lwtdump: it must be root's, and writable by no one else unless it is
// sticky (where no one can move or remove what another made). A
// directory that someone else owns or can write could be made to hold, or
// to point to, what cleanup then trusts or writes.
func CheckStateDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("check state directory: %w", err)
	}
	switch {
	case st.Uid != 0:
		return fmt.Errorf("state directory %s is owned by uid %d: lwtdump keeps its state only in a directory that root owns (and made for it, such as %s)", dir, st.Uid, DefaultStateDir)
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		return fmt.Errorf("state directory %s is writable by others and not sticky (mode %#o): lwtdump keeps its state only where no one else can move what it writes", dir, st.Mode&0o7777)
	}
	return nil
}

// CheckUndo checks that undoing c does no more than take a capture off a
// route: a replaced route's original must be the route installed without
// what the capture added to it (see DiffExceptCapture), and have no encap
// of its own (or be a bare SRv6 End, which End.BPF replaced); a multipath
// route's capture is on every path; a route on a nexthop object was
// pointed at lwtdump's copies of its nexthop, which undoing deletes, so
// they must be copies as lwtdump makes them (see checkCopies). An added
// route must carry a bpf encap, since undoing it deletes it.
func CheckUndo(c *Change) error {
	inst := c.Installed
	switch c.Kind {
	case Added:
		if c.Original != nil {
			return fmt.Errorf("route %s: an added route has no original, and this one has one", inst.Dst())
		}
		if inst.EncapType() != nl.LWTUNNEL_ENCAP_BPF {
			return fmt.Errorf("route %s: the route it added carries no bpf encap", inst.Dst())
		}
		return nil
	case Replaced:
		if c.Original == nil {
			return fmt.Errorf("route %s: a replaced route without its original", inst.Dst())
		}
	default:
		return fmt.Errorf("route %s: unknown kind of change %q", inst.Dst(), c.Kind)
	}
	orig := c.Original
	if len(c.Nexthops) > 0 || inst.NexthopID() != 0 || orig.NexthopID() != 0 {
		if err := checkCopies(c); err != nil {
			return fmt.Errorf("route %s: %w", orig.Dst(), err)
		}
		if d := DiffExceptCapture(orig, inst.withNexthopID(orig.NexthopID())); d != "" {
			return fmt.Errorf("route %s table %d: the original differs from the route installed by more than the nexthop copy: %s", orig.Dst(), orig.Table(), d)
		}
		return nil
	}
	if paths := inst.Paths(); paths != nil {
		for i, p := range paths {
			if p.encapType() != nl.LWTUNNEL_ENCAP_BPF {
				return fmt.Errorf("route %s: path %d of the route installed carries no capture", inst.Dst(), i+1)
			}
		}
		for i, p := range orig.Paths() {
			if t := p.encapType(); t != 0 {
				return fmt.Errorf("route %s: path %d of the original has an encap (%s), which a capture never replaces", orig.Dst(), i+1, EncapName(t))
			}
		}
	} else {
		if err := checkEncapUndo(orig, inst); err != nil {
			return err
		}
	}
	if d := DiffExceptCapture(orig, inst); d != "" {
		return fmt.Errorf("route %s table %d: the original differs from the route installed by more than the capture: %s", orig.Dst(), orig.Table(), d)
	}
	return nil
}

// checkEncapUndo checks the encap of a route that is not multipath: the
// route installed carries a capture, the original no encap, or a bare End
// where End.BPF was installed.
func checkEncapUndo(orig, inst *Route) error {
	switch inst.EncapType() {
	case nl.LWTUNNEL_ENCAP_BPF:
		if orig.EncapType() != 0 {
			return fmt.Errorf("route %s: the original has an encap (%s), which a capture never replaces", orig.Dst(), EncapName(orig.EncapType()))
		}
	case nl.LWTUNNEL_ENCAP_SEG6_LOCAL:
		if inst.Seg6LocalAction() != nl.SEG6_LOCAL_ACTION_END_BPF {
			return fmt.Errorf("route %s: the route installed is not End.BPF", inst.Dst())
		}
		if err := CheckEndReplaceable(orig); err != nil {
			return fmt.Errorf("route %s: the original is not a bare End: %w", orig.Dst(), err)
		}
	default:
		return fmt.Errorf("route %s: the route installed carries no capture", inst.Dst())
	}
	return nil
}

// checkCopies checks the nexthop copies of a change to a route on a
// nexthop object, which undoing deletes: each has an id in lwtdump's
// range and lwtdump's protocol; a single nexthop's copy carries a bpf
// encap; only the last may be a group, of exactly the copies before it;
// the route installed uses the last copy, and the original the nexthop
// object it copies.
func checkCopies(c *Change) error {
	n := len(c.Nexthops)
	if n == 0 {
		return errors.New("a route on a nexthop object without lwtdump's copies of its nexthop")
	}
	var members []uint32
	for i, cp := range c.Nexthops {
		nh := cp.Nexthop
		if nh == nil {
			return fmt.Errorf("nexthop copy %d is empty", i+1)
		}
		id := nh.ID()
		switch {
		case id < NexthopIDMin || id > NexthopIDMax:
			return fmt.Errorf("nexthop %d is not in the range of lwtdump's copies (%#x-%#x)", id, NexthopIDMin, NexthopIDMax)
		case nh.Msg.Protocol != nexthopProtocol:
			return fmt.Errorf("nexthop %d has protocol %d, not that of lwtdump's copies", id, nh.Msg.Protocol)
		case cp.Of == 0:
			return fmt.Errorf("nexthop %d copies no nexthop", id)
		}
		if !nh.IsGroup() {
			if nh.EncapType() != nl.LWTUNNEL_ENCAP_BPF {
				return fmt.Errorf("nexthop %d carries no capture", id)
			}
			members = append(members, id)
			continue
		}
		if i != n-1 {
			return fmt.Errorf("nexthop group %d is not the last copy", id)
		}
		var ids []uint32
		for _, m := range nh.Group() {
			ids = append(ids, m.Id)
		}
		if !slices.Equal(ids, members) {
			return fmt.Errorf("nexthop group %d holds other nexthops than lwtdump's copies before it", id)
		}
	}
	if n > 1 && !c.Nexthops[n-1].Nexthop.IsGroup() {
		return errors.New("several nexthop copies without a group of them")
	}
	last := c.Nexthops[n-1]
	switch {
	case c.Installed.NexthopID() != last.Nexthop.ID():
		return fmt.Errorf("the route installed uses nexthop %d, not lwtdump's copy %d", c.Installed.NexthopID(), last.Nexthop.ID())
	case c.Original.NexthopID() != last.Of:
		return fmt.Errorf("the original uses nexthop %d, not %d, which the copy copies", c.Original.NexthopID(), last.Of)
	}
	return nil
}

// CheckInstalled checks, when cur (the route the kernel holds in c's place,
// nil for none) carries c's programs, so that undoing c will change it,
// that it is the route c installed, but for what the capture added. A
// replaced route was installed as the kernel dumped it, so the two are
// equal; an added route was installed from a request that left to the
// kernel what it fills in (the scope of an IPv6 route, its preference), so
// what the request gave must be in cur.
func CheckInstalled(c *Change, cur *Route) error {
	if !c.Owns(cur) {
		return nil // Undo leaves it as it is
	}
	d := DiffExceptCapture(c.Installed, cur)
	if c.Kind == Added {
		d = missingFrom(c.Installed.withoutCapture(), cur.withoutCapture())
	}
	if d != "" {
		return fmt.Errorf("route %s table %d: the route the kernel holds differs from the route installed: %s", cur.Dst(), cur.Table(), d)
	}
	return nil
}

// missingFrom names what of the request req the route r does not have (the
// rtmsg but for its scope, and each attribute), "" when it has it all.
func missingFrom(req, r *Route) string {
	a, b := req.Msg, r.Msg
	a.Scope, b.Scope = 0, 0
	a.Flags, b.Flags = 0, 0
	if a != b {
		return Diff(req, r)
	}
	var d []string
	for _, at := range req.Attrs {
		if t := at.Attr.Type & nlaTypeMask; !bytes.Equal(r.attr(t), at.Value) {
			d = append(d, attrName(t))
		}
	}
	return strings.Join(d, ", ")
}

// DiffExceptCapture names what differs between two routes other than what
// a capture puts on a route, "" when nothing does. A capture adds its
// encap, and nothing else; whatever else lwtdump comes to add to a route
// for a capture must be left out here too, so that a state file that
// records it can still be replayed.
func DiffExceptCapture(a, b *Route) string {
	return Diff(a.withoutCapture(), b.withoutCapture())
}

// withoutCapture is the route as a request without what a capture adds.
func (r *Route) withoutCapture() *Route {
	q := r.request().withoutEncap()
	if paths := q.Paths(); paths != nil {
		q = q.withPaths(pathsWithoutEncap(paths))
	}
	return q
}

// makeOwnDir makes the directory of this process's state, DIR/PID, in a
// state directory that CheckStateDir accepted. One that is there already
// was left by a gone process of the same pid: it is made anew when empty
// (or holding only an unfinished temporary file), and refused when it holds
// a state file, which is to be replayed first.
func makeOwnDir(own string) error {
	err := os.Mkdir(own, 0o700)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(own)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is there and is not a directory", own)
	}
	if _, err := os.Lstat(filepath.Join(own, stateFile)); err == nil {
		return fmt.Errorf("%s holds the state file of an earlier lwtdump with this pid, not yet replayed", own)
	}
	if err := os.Remove(filepath.Join(own, stateFile+".tmp")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(own); err != nil {
		return err
	}
	return os.Mkdir(own, 0o700)
}

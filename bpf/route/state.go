package route

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultStateDir is where lwtdump keeps what it needs to restore routes
// after it was killed (SIGKILL, a crash, power loss of the process).
const DefaultStateDir = "/run/lwtdump"

// State is the record of one lwtdump process's route changes, kept in a
// small JSON file that is written before each route is touched and removed
// once every route is restored. `lwtdump cleanup` replays the undo of a
// state whose process is gone.
//
// Each process keeps its file in a directory of its own, DIR/PID/state.json,
// so that after it drops its privileges (-Z USER) and the directory is given
// to that user, it can still rewrite the file atomically and remove it.
type State struct {
	path    string
	facts   stateFacts    // how the file was found on disk, for Trusted
	Pid     int           `json:"pid"`
	Uid     int           `json:"uid"`      // the user it belongs to: the real uid lwtdump ran for, or the -Z user once given to it
	Netns   string        `json:"netns"`    // the namespace's name, "" for the one lwtdump ran in
	NetnsID string        `json:"netns_id"` // the namespace itself, as in /proc/PID/ns/net: "net:[4026531840]"
	Started time.Time     `json:"started"`
	Changes []StateChange `json:"changes"`
}

// StateChange is a Change as the state file keeps it.
type StateChange struct {
	Seq       int    `json:"seq,omitempty"` // the change's number in the file
	Kind      Kind   `json:"kind"`
	Original  []byte `json:"original,omitempty"` // rtnetlink payload of the route before the change
	Installed []byte `json:"installed"`          // rtnetlink payload of the route lwtdump installed
	// Nexthops are the nexthop objects lwtdump creates for the route,
	// members before their group.
	Nexthops []StateNexthop `json:"nexthops,omitempty"`
}

// StateNexthop is a NexthopCopy as the state file keeps it.
type StateNexthop struct {
	ID      uint32 `json:"id"`
	Of      uint32 `json:"of"`      // the id of the nexthop it copies
	Nexthop []byte `json:"nexthop"` // rtnetlink payload of the copy as lwtdump creates it
}

// Change decodes the change.
func (c StateChange) Change() (*Change, error) {
	ch := &Change{Kind: c.Kind, seq: c.Seq}
	var err error
	if c.Original != nil {
		if ch.Original, err = ParseRoute(c.Original); err != nil {
			return nil, err
		}
	}
	if ch.Installed, err = ParseRoute(c.Installed); err != nil {
		return nil, err
	}
	for _, n := range c.Nexthops {
		nh, err := ParseNexthop(n.Nexthop)
		if err != nil {
			return nil, err
		}
		ch.Nexthops = append(ch.Nexthops, NexthopCopy{Of: n.Of, Nexthop: nh})
	}
	return ch, nil
}

// stateChange encodes c as the state file keeps it.
func stateChange(c *Change) StateChange {
	sc := StateChange{Seq: c.seq, Kind: c.Kind, Installed: c.Installed.Bytes()}
	if c.Original != nil {
		sc.Original = c.Original.Bytes()
	}
	for _, n := range c.Nexthops {
		sc.Nexthops = append(sc.Nexthops, StateNexthop{ID: n.Nexthop.ID(), Of: n.Of, Nexthop: n.Nexthop.Bytes()})
	}
	return sc
}

// stateFile is the name of a process's state file in its directory.
const stateFile = "state.json"

// NewState creates the state file of this process in DIR/PID (mode 0700),
// for changes made through h. DIR is made by Lock.
func NewState(dir string, h *Handle) (*State, error) {
	own := filepath.Join(dir, strconv.Itoa(os.Getpid()))
	if err := makeOwnDir(own); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	s := &State{
		path:    filepath.Join(own, stateFile),
		Pid:     os.Getpid(),
		Uid:     os.Getuid(),
		Netns:   h.Netns(),
		NetnsID: h.NetnsID(),
		Started: time.Now(),
	}
	return s, s.save()
}

// Done reports whether every recorded change has been undone.
func (s *State) Done() bool { return len(s.Changes) == 0 }

// Drop forgets the change at index i of Changes (newest last) and saves the state.
func (s *State) Drop(i int) error {
	s.Changes = slices.Delete(s.Changes, i, i+1)
	return s.save()
}

// Path is the state file's path.
func (s *State) Path() string { return s.path }

// Record adds a change to the state file, or rewrites it when it is
// recorded already (Apply chose other nexthop ids). Call it before applying
// the change.
func (s *State) Record(c *Change) error {
	if c.seq != 0 {
		for i := range s.Changes {
			if s.Changes[i].Seq == c.seq {
				s.Changes[i] = stateChange(c)
				return s.save()
			}
		}
	}
	for _, sc := range s.Changes {
		c.seq = max(c.seq, sc.Seq)
	}
	c.seq++
	s.Changes = append(s.Changes, stateChange(c))
	return s.save()
}

// Forget removes a recorded change: it was never applied, or it has been undone.
func (s *State) Forget(c *Change) error {
	installed := c.Installed.Bytes()
	for i := len(s.Changes) - 1; i >= 0; i-- {
		if c.seq != 0 && s.Changes[i].Seq == c.seq || c.seq == 0 && slices.Equal(s.Changes[i].Installed, installed) {
			s.Changes = slices.Delete(s.Changes, i, i+1)
			break
		}
	}
	return s.save()
}

// Remove deletes the state file and its directory. A process that dropped
// its privileges cannot remove the directory from root's state directory:
// the command line starts a reaper for it before dropping them, or else it
// is left empty for the next lwtdump to sweep (see LoadStates).
func (s *State) Remove() error {
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state file: %w", err)
	}
	err := os.Remove(filepath.Dir(s.path))
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("remove state directory: %w", err)
	}
	return nil
}

// Chown gives the state file and its directory to uid and gid, records
// that the state belongs to uid, and lets uid reach it through the state
// directory (which others may then enter, not list: execute permission for
// all is added to its mode), so that the process can keep its state after
// dropping to that user.
func (s *State) Chown(uid, gid int) error {
	s.Uid = uid
	if err := s.save(); err != nil {
		return err
	}
	own := filepath.Dir(s.path)
	for _, p := range []string{own, s.path} {
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("give state file to uid %d: %w", uid, err)
		}
	}
	dir := filepath.Dir(own)
	fi, err := os.Stat(dir)
	if err == nil {
		err = os.Chmod(dir, fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)|0o111)
	}
	if err != nil {
		return fmt.Errorf("give state file to uid %d: %w", uid, err)
	}
	return nil
}

// save writes the state atomically: a temporary file, fsync, rename.
func (s *State) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	// A name of lwtdump's own: whatever is there (a link planted by the
	// user the state was given to) goes, and a new file takes its place.
	tmp := s.path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write state file: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

// LoadStates reads every state file in dir, and removes the empty
// directories that processes which dropped their privileges left behind.
// Check each with Trusted before replaying it.
func LoadStates(dir string) ([]*State, error) {
	sweepEmpty(dir)
	paths, err := filepath.Glob(filepath.Join(dir, "*", stateFile))
	if err != nil {
		return nil, err
	}
	var states []*State
	for _, p := range paths {
		// A file that cannot be read is kept with the reason, which
		// Trusted reports: one bad file does not hide the others.
		states = append(states, readState(p))
	}
	return states, nil
}

// sweepEmpty removes the empty per-process directories of dir whose process
// is gone. It does what it can and reports nothing: a directory it cannot
// remove is harmless.
func sweepEmpty(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() || ProcessAlive(pid) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name())) // fails, as it should, unless empty
	}
}

// Alive reports whether the process that wrote the state still runs and is
// lwtdump (and not a later lwtdump that was given the same pid).
func (s *State) Alive() bool {
	if !ProcessAlive(s.Pid) {
		return false
	}
	start, ok := processStart(s.Pid)
	// The state is written after the process starts; the boot time that
	// start times count from is known to the second.
	return !ok || !start.After(s.Started.Add(2*time.Second))
}

// processStart returns when a process started, from /proc.
func processStart(pid int) (time.Time, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	// Field 22, starttime in clock ticks since boot, counted after the
	// command name, which may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	procStat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for line := range strings.SplitSeq(string(procStat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			const userHZ = 100 // USER_HZ, the unit of starttime on every Linux architecture Go runs on
			return time.Unix(btime, 0).Add(time.Duration(ticks) * time.Second / userHZ), true
		}
	}
	return time.Time{}, false
}

// ProcessAlive reports whether pid is a running lwtdump process.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return true // no /proc to tell: trust kill(0)
	}
	return strings.HasPrefix(strings.TrimSpace(string(comm)), "lwtdump")
}

// Lock takes the lock that serializes lwtdump processes while they check and
// change routes, so that two of them cannot take the same route at once.
//
// The state directory must be root's and writable by no one else, unless
// it is sticky (see CheckStateDir). The lock is a file in it that every
// lwtdump opens for reading (flock needs no more): mode 0640, so that a
// group of capturing users whose state directory is set-group-id shares it.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	if err := CheckStateDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("take lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

package main

// A capture tool must not be a way to change routes or overwrite files:
// what a user holding lwtdump's capabilities may do, how state files are
// checked before they are replayed, and files created without following a
// link planted for them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/route"
	"golang.org/x/sys/unix"
)

// capabilityCopy copies the lwtdump binary where file capabilities hold
// (they are ignored on a nosuid mount) and gives the copy CAP_BPF,
// CAP_PERFMON and CAP_NET_ADMIN, as README's Privileges does for a group
// of capturing users. The copy is removed when the test ends.
func capabilityCopy(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("setcap"); err != nil {
		t.Skip("setcap is not installed (libcap2-bin)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed (util-linux)")
	}
	src := lwtdumpBinary(t)
	for _, base := range []string{os.TempDir(), "/var/tmp"} {
		var st unix.Statfs_t
		if err := unix.Statfs(base, &st); err != nil || st.Flags&unix.ST_NOSUID != 0 {
			continue
		}
		dir, err := os.MkdirTemp(base, "lwtdump-caps-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "lwtdump")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("setcap", "cap_bpf,cap_perfmon,cap_net_admin+ep", bin).CombinedOutput(); err != nil {
			t.Fatalf("setcap: %v\n%s", err, out)
		}
		return bin
	}
	t.Skip("no temporary directory here honours file capabilities (nosuid)")
	return ""
}

// nobodyIDs returns the uid and gid of the user nobody.
func nobodyIDs(t *testing.T) (int, int) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// editState rewrites the state file at path (keeping its owner and mode)
// with edit applied to its JSON.
func editState(t *testing.T, path string, edit func(*route.State)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s route.State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if data, err = json.MarshalIndent(&s, "", "  "); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

// gateway returns a copy of the rtnetlink route b whose gateway is gw.
func gateway(t *testing.T, b []byte, gw string) []byte {
	t.Helper()
	r, err := route.ParseRoute(b)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr(gw)
	for i := range r.Attrs {
		if r.Attrs[i].Attr.Type == unix.RTA_GATEWAY {
			r.Attrs[i].Value = a.AsSlice()
		}
	}
	return r.Bytes()
}

// The hijack of a route through lwtdump's state, by a user holding
// lwtdump's capabilities, and what such a user may still do: capture an
// existing route, and restore it after a SIGKILL from its own state. Every
// refusal is one line, naming the reason and that root may do it, and
// leaves the routes as they were.
func TestCapabilityHolder(t *testing.T) {
	tb := newTestbed(t)
	bin := capabilityCopy(t)
	uid, gid := nobodyIDs(t)
	out := sharedDir(t, 0o777)
	shared := sharedDir(t, fs.ModeSticky|0o777) // root's and sticky: a state directory made for a group of capturing users
	own := sharedDir(t, 0o755)                  // nobody's own
	if err := os.Chown(own, uid, gid); err != nil {
		t.Fatal(err)
	}
	nobody := launch{ns: tb.r1, user: "nobody", binary: bin, stateDir: shared}
	before := tb.routes(tb.r1)

	// What capturing needs: an existing route, attached and put back.
	capture := filepath.Join(out, "cap.pcapng")
	p := startLwtdump(t, nobody, "-i", "2001:db8:20::/48", "--hook", "in,xmit", "-w", capture)
	if got := tb.ping(tb.h1, "2001:db8:20::1", 3); got != 3 {
		t.Errorf("%d of 3 pings answered while capturing", got)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("capture as nobody: exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if got := echoRequests(t, capture); got["lwt_xmit:2001:db8:20::/48@r1_h2 hook=lwt_xmit"] != 3 {
		t.Errorf("echo requests captured as nobody: %v", got)
	}

	const because = "lwtdump runs for uid 65534 (nobody) on capabilities, which are given for capturing only"
	for _, tc := range []struct {
		name string
		l    launch
		args []string
		want string
	}{
		{"a state directory of its own", launch{ns: tb.r1, user: "nobody", binary: bin, stateDir: own}, []string{"-i", "2001:db8:20::/48", "-w", filepath.Join(out, "x.pcapng")},
			"state directory " + own + " is owned by uid 65534: lwtdump keeps its state only in a directory that root owns (and made for it, such as /run/lwtdump)"},
		{"cleanup of a state directory of its own", launch{ns: tb.r1, user: "nobody", binary: bin, stateDir: own}, []string{"cleanup"},
			"state directory " + own + " is owned by uid 65534: lwtdump keeps its state only in a directory that root owns (and made for it, such as /run/lwtdump)"},
		{"a route to add", nobody, []string{"-i", "2001:db8:21::/64@r1_h2", "-w", filepath.Join(out, "x.pcapng")},
			"no route to 2001:db8:21::/64 in table 254, and this capture may only take existing routes, not add one through r1_h2: " + because + "; root may add a route for the capture"},
		{"-z", nobody, []string{"-i", "2001:db8:20::/48", "-w", filepath.Join(out, "x.pcapng"), "-C", "1", "-z", "/bin/true"},
			"-z /bin/true: only root may run a program on each finished file: " + because},
		{"-Z", nobody, []string{"-i", "2001:db8:20::/48", "-w", filepath.Join(out, "x.pcapng"), "-Z", "nobody"},
			"-Z nobody: only root may become another user: " + because},
		{"cleanup --strip", nobody, []string{"cleanup", "--strip"},
			"cleanup --strip: only root may strip the programs of routes that no state file records: " + because},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runLwtdump(t, tc.l, tc.args...)
			if want := "lwtdump: " + tc.want + "\n"; code != 1 || stderr != want {
				t.Errorf("exit code %d, stderr:\n%s\nwant 1 and:\n%s", code, stderr, want)
			}
			tb.requireRoutes(tb.r1, before)
		})
	}

	// The hijack: capture, SIGKILL, rewrite the route in its state file,
	// replay it.
	p = startLwtdump(t, nobody, "-i", "2001:db8:20::/48", "-w", capture)
	pid := p.cmd.Process.Pid
	p.stop(syscall.SIGKILL)
	stale := tb.routes(tb.r1)
	state := filepath.Join(shared, strconv.Itoa(pid), "state.json")
	pristine, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		l    launch
		edit func(*route.State)
		want string
	}{
		{"original rewritten", nobody, func(s *route.State) {
			s.Changes[0].Original = gateway(t, s.Changes[0].Original, "2001:db8:2::7")
		}, "the original differs from the route installed by more than the capture: RTA_GATEWAY"},
		{"original and installed rewritten", nobody, func(s *route.State) {
			s.Changes[0].Original = gateway(t, s.Changes[0].Original, "2001:db8:2::7")
			s.Changes[0].Installed = gateway(t, s.Changes[0].Installed, "2001:db8:2::7")
		}, "the route the kernel holds differs from the route installed: RTA_GATEWAY"},
		{"the same, replayed by root", launch{ns: tb.r1, stateDir: shared}, func(s *route.State) {
			s.Changes[0].Original = gateway(t, s.Changes[0].Original, "2001:db8:2::7")
			s.Changes[0].Installed = gateway(t, s.Changes[0].Installed, "2001:db8:2::7")
		}, "the route the kernel holds differs from the route installed: RTA_GATEWAY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(state, pristine, 0o600); err != nil {
				t.Fatal(err)
			}
			editState(t, state, tc.edit)
			code, stdout, stderr := runLwtdump(t, tc.l, "cleanup")
			want := fmt.Sprintf("state file %s of lwtdump pid %d not replayed: route 2001:db8:20::/48 table 254: %s", state, pid, tc.want)
			if code != 1 || !hasLine(stdout, want) || !strings.Contains(stderr, fmt.Sprintf("state file %s left: not replayed", state)) {
				t.Errorf("cleanup: exit code %d\nstdout: %s\nstderr: %s\nwant 1 and a line: %s", code, stdout, stderr, want)
			}
			tb.requireRoutes(tb.r1, stale)
		})
	}
	if err := os.WriteFile(state, pristine, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runLwtdump(t, nobody, "cleanup")
	if want := fmt.Sprintf("route 2001:db8:20::/48 table 254: restored (lwtdump pid %d had replaced it)\n", pid); code != 0 || stdout != want {
		t.Errorf("cleanup of its own state: exit code %d\nstdout: %q, want %q\nstderr: %s", code, stdout, want, stderr)
	}
	tb.requireRoutes(tb.r1, before)

	// Root's state is not for nobody to replay, nor its routes to strip.
	p = startLwtdump(t, launch{ns: tb.r1, stateDir: shared}, "-i", "203.0.113.0/24", "-w", filepath.Join(t.TempDir(), "root.pcapng"))
	pid = p.cmd.Process.Pid
	p.stop(syscall.SIGKILL)
	stale = tb.routes(tb.r1)
	code, stdout, _ = runLwtdump(t, nobody, "cleanup")
	if code != 1 || !hasLine(stdout, "route 203.0.113.0/24 table 254", fmt.Sprintf("lwtdump pid %d", pid), "`lwtdump cleanup` as root") {
		t.Errorf("nobody's cleanup of root's state: exit code %d\nstdout: %s", code, stdout)
	}
	tb.requireRoutes(tb.r1, stale)
	if code, stdout, stderr := runLwtdump(t, launch{ns: tb.r1, stateDir: shared}, "cleanup"); code != 0 {
		t.Errorf("root's cleanup: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	tb.requireRoutes(tb.r1, before)
}

// A state file is replayed, by root too, only when it is where and whose
// it should be and undoes no more than a capture; otherwise nothing of it
// is replayed and cleanup says why.
func TestCraftedState(t *testing.T) {
	tb := newTestbed(t)
	uid, gid := nobodyIDs(t)
	before := tb.routes(tb.r1)
	p := startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng"))
	pid := p.cmd.Process.Pid
	p.stop(syscall.SIGKILL)
	stale := tb.routes(tb.r1)
	state := filepath.Join(tb.stateDir, strconv.Itoa(pid), "state.json")
	pristine, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	pidText := strconv.Itoa(pid)
	otherPid := strings.Repeat("9", len(pidText))
	for _, tc := range []struct {
		name string
		edit func(t *testing.T)
		want string
	}{
		{"original rewritten", func(t *testing.T) {
			editState(t, state, func(s *route.State) { s.Changes[1].Original = gateway(t, s.Changes[1].Original, "2001:db8:2::7") })
		}, "route 2001:db8:20::/48 table 254: the original differs from the route installed by more than the capture: RTA_GATEWAY"},
		{"original and installed rewritten", func(t *testing.T) {
			editState(t, state, func(s *route.State) {
				s.Changes[0].Original = gateway(t, s.Changes[0].Original, "198.51.100.7")
				s.Changes[0].Installed = gateway(t, s.Changes[0].Installed, "198.51.100.7")
			})
		}, "route 203.0.113.0/24 table 254: the route the kernel holds differs from the route installed: RTA_GATEWAY"},
		{"another lwtdump's programs", func(t *testing.T) {
			editState(t, state, func(s *route.State) {
				s.Changes[1].Installed = bytes.ReplaceAll(s.Changes[1].Installed, []byte("lwtdump:"+pidText), []byte("lwtdump:"+otherPid))
			})
		}, fmt.Sprintf(`route 2001:db8:20::/48: program "lwtdump:%s:xmit`, otherPid)},
		{"an added route", func(t *testing.T) {
			editState(t, state, func(s *route.State) { s.Changes[1].Kind = route.Added; s.Changes[1].Original = nil })
		}, "route 2001:db8:20::/48: program"},
		{"writable by others", func(t *testing.T) {
			if err := os.Chmod(state, 0o666); err != nil {
				t.Fatal(err)
			}
		}, "it is writable by others (mode 0666)"},
		{"another user's", func(t *testing.T) {
			if err := os.Chown(state, uid, gid); err != nil {
				t.Fatal(err)
			}
		}, "it is owned by uid 65534, which is neither root nor the user the file records (uid 0)"},
		{"a link", func(t *testing.T) {
			elsewhere := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(elsewhere, pristine, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(state); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, state); err != nil {
				t.Fatal(err)
			}
		}, "it cannot be read: open " + state + ": too many levels of symbolic links"},
		{"not JSON", func(t *testing.T) {
			if err := os.WriteFile(state, []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "it cannot be read: it is not a state file: unexpected end of JSON input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(state)
			if err := os.WriteFile(state, pristine, 0o600); err != nil {
				t.Fatal(err)
			}
			tc.edit(t)
			code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup", "--netns", tb.r1)
			want := fmt.Sprintf("state file %s of lwtdump pid %d not replayed: %s", state, pid, tc.want)
			if code != 1 || !hasLine(stdout, want) || !strings.Contains(stderr, fmt.Sprintf("lwtdump: state file %s left: not replayed", state)) {
				t.Errorf("cleanup: exit code %d\nstdout: %s\nstderr: %s\nwant 1 and a line with: %s", code, stdout, stderr, want)
			}
			tb.requireRoutes(tb.r1, stale)
		})
	}
	os.Remove(state)
	if err := os.WriteFile(state, pristine, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup", "--netns", tb.r1); code != 0 || strings.Count(stdout, "restored") != 2 {
		t.Errorf("cleanup of the state as written: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	tb.requireRoutes(tb.r1, before)
}

// A -Z capture killed leaves its state to its user; root's cleanup takes
// it over (so that the user can no longer change or move it) and replays
// it. The reaper of its state directory, which waits for the capture to
// end, sees the state file and leaves it, and is gone.
func TestDropPrivilegesKillThenCleanup(t *testing.T) {
	tb := newTestbed(t)
	uid, _ := nobodyIDs(t)
	before := tb.routes(tb.r1)
	tb.stateDir = filepath.Join(sharedDir(t, 0o755), "state")
	p := startLwtdump(t, tb.launch(), "-Z", "nobody", "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(sharedDir(t, 0o777), "out.pcapng"))
	pid := p.cmd.Process.Pid
	waitForUID(t, pid, uid)
	p.stop(syscall.SIGKILL)
	state := filepath.Join(tb.stateDir, strconv.Itoa(pid), "state.json")
	fi, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if owner := fi.Sys().(*syscall.Stat_t).Uid; int(owner) != uid {
		t.Errorf("state file of the killed -Z capture owned by uid %d, want nobody", owner)
	}
	code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup")
	if want := fmt.Sprintf("route 2001:db8:20::/48 table 254 in netns %s: restored (lwtdump pid %d had replaced it)\n", tb.r1, pid); code != 0 || stdout != want {
		t.Errorf("cleanup: exit code %d\nstdout: %q, want %q\nstderr: %s", code, stdout, want, stderr)
	}
	tb.requireRoutes(tb.r1, before)
	if left, _ := filepath.Glob(filepath.Join(tb.stateDir, "[0-9]*")); len(left) != 0 {
		t.Errorf("state left: %v", left)
	}
	if reapers := processesWith(t, reapStateCommand+"\x00"+strconv.Itoa(pid)); len(reapers) != 0 {
		t.Errorf("state reapers still running: %v", reapers)
	}
}

// waitForUID waits until the process pid runs as uid.
func waitForUID(t *testing.T, pid, uid int) {
	t.Helper()
	for range 250 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if strings.Contains(string(b), fmt.Sprintf("\nUid:\t%d\t", uid)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d did not become uid %d", pid, uid)
}

// processesWith lists the pids whose command line holds s (arguments
// separated by NUL).
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, e.Name())
		}
	}
	return found
}

// Every route shape killed with SIGKILL is put back byte for byte by
// cleanup: the checks of a state file accept every state a capture writes.
func TestCleanupRouteShapes(t *testing.T) {
	for _, shape := range routeShapes {
		t.Run(shape.name, func(t *testing.T) {
			tb := newTestbed(t)
			for _, args := range shape.setup {
				tb.ip(append([]string{"-n", tb.r1}, args...)...)
			}
			before := tb.routes(tb.r1)
			args := []string{"-i", shape.route, "--hook", "in,out,xmit", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "out.pcapng")}
			if shape.table != "" {
				args = append(args, "--table", shape.table)
			}
			p := startLwtdump(t, tb.launch(), args...)
			pid := p.cmd.Process.Pid
			p.stop(syscall.SIGKILL)
			code, stdout, stderr := runLwtdump(t, tb.launch(), "cleanup")
			if code != 0 || !strings.Contains(stdout, fmt.Sprintf("restored (lwtdump pid %d had replaced it)", pid)) {
				t.Errorf("cleanup: exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			tb.requireRoutes(tb.r1, before)
		})
	}
}

// plant makes a symlink at link to target, owned by uid, as that user
// would plant it.
func plant(t *testing.T, target, link string, uid, gid int) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// protectedSymlinks sets fs.protected_symlinks to value for the test and
// puts back what it was.
func protectedSymlinks(t *testing.T, value string) {
	t.Helper()
	const path = "/proc/sys/fs/protected_symlinks"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("fs.protected_symlinks: %v", err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Skipf("set fs.protected_symlinks: %v", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Errorf("put back fs.protected_symlinks: %v", err)
		}
	})
}

// Links planted in a sticky directory that everyone can write, as /tmp,
// by another user for root's lwtdump to follow: not followed, whatever
// fs.protected_symlinks says, with a clear line; their targets are
// unchanged. Rotated names are made anew instead. The caller's own link
// is followed.
func TestPlantedLinks(t *testing.T) {
	tb := newTestbed(t)
	protectedSymlinks(t, "0")
	uid, gid := nobodyIDs(t)
	base := sharedDir(t, 0o755)
	sticky := filepath.Join(base, "tmp")
	if err := os.Mkdir(sticky, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(base, "target")
	const secret = "root's file\n"
	reset := func(t *testing.T) {
		t.Helper()
		entries, _ := os.ReadDir(sticky)
		for _, e := range entries {
			os.Remove(filepath.Join(sticky, e.Name()))
		}
		if err := os.WriteFile(target, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if b, _ := os.ReadFile(target); string(b) != secret {
			t.Errorf("target overwritten: %q", b)
		}
	}
	before := tb.routes(tb.r1)
	capture := []string{"-i", "2001:db8:20::/48", "--netns", tb.r1}
	notFollowed := func(link string) string {
		return fmt.Sprintf("%s is a symlink of uid %d in the sticky directory %s that everyone can write: not followed, as fs.protected_symlinks=1 does; remove it or write elsewhere", link, uid, sticky)
	}

	t.Run("capture file", func(t *testing.T) {
		reset(t)
		out := filepath.Join(sticky, "out.pcapng")
		plant(t, target, out, uid, gid)
		code, _, stderr := runLwtdump(t, tb.launch(), append(capture, "-w", out)...)
		if want := "lwtdump: -w " + out + ": " + notFollowed(out) + "\n"; code != 2 || stderr != want {
			t.Errorf("exit code %d, stderr:\n%s\nwant 2 and:\n%s", code, stderr, want)
		}
		unchanged(t)
		tb.requireRoutes(tb.r1, before)
	})

	t.Run("manifest", func(t *testing.T) {
		reset(t)
		out := filepath.Join(sticky, "out.pcapng")
		plant(t, target, filepath.Join(sticky, "lwtdump.manifest.jsonl"), uid, gid)
		p := startLwtdump(t, tb.launch(), append(capture, "-w", out)...)
		tb.ping(tb.h1, "2001:db8:20::1", 1)
		if code := p.stop(syscall.SIGINT); code != 0 {
			t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
		}
		want := fmt.Sprintf("lwtdump: warning: record out.pcapng in the manifest: %s/lwtdump.manifest.jsonl is a symlink: not followed", sticky)
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, p.stderr.String())
		}
		unchanged(t)
		capinfos(t, out)
		tb.requireRoutes(tb.r1, before)
	})

	t.Run("ring of files", func(t *testing.T) {
		reset(t)
		ring := filepath.Join(sticky, "ring.pcapng")
		for i := range 3 {
			plant(t, target, fmt.Sprintf("%s%d", ring, i), uid, gid)
		}
		p := startLwtdump(t, tb.launch(), append(capture, "-w", ring, "-C", "1k", "-W", "3", "-s", "1000")...)
		tb.startFlood(tb.h1, "2001:db8:20::1", 8, "0.05", 900).wait()
		if code := p.stop(syscall.SIGINT); code != 0 {
			t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
		}
		unchanged(t)
		for i := range 3 {
			name := fmt.Sprintf("%s%d", ring, i)
			if fi, err := os.Lstat(name); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s: %v, want a regular file made anew", name, fi.Mode())
			} else {
				capinfos(t, name)
			}
		}
		tb.requireRoutes(tb.r1, before)
	})

	t.Run("ready file", func(t *testing.T) {
		reset(t)
		ready := filepath.Join(sticky, "ready")
		plant(t, target, ready, uid, gid)
		code, _, stderr := runLwtdump(t, tb.launch(), append(capture, "-w", filepath.Join(t.TempDir(), "out.pcapng"), "--ready-file", ready)...)
		if want := "lwtdump: --ready-file " + ready + ": " + notFollowed(ready) + "\n"; code != 2 || stderr != want {
			t.Errorf("exit code %d, stderr:\n%s\nwant 2 and:\n%s", code, stderr, want)
		}
		unchanged(t)
		tb.requireRoutes(tb.r1, before)
	})

	t.Run("read and write", func(t *testing.T) {
		reset(t)
		in := filepath.Join(t.TempDir(), "in.pcapng")
		p := startLwtdump(t, tb.launch(), append(capture, "-w", in)...)
		tb.ping(tb.h1, "2001:db8:20::1", 1)
		p.stop(syscall.SIGINT)
		copyTo := filepath.Join(sticky, "copy.pcapng")
		plant(t, target, copyTo, uid, gid)
		code, _, stderr := runLwtdump(t, inProcess, "-r", in, "-w", copyTo)
		if want := "lwtdump: -w " + copyTo + ": " + notFollowed(copyTo) + "\n"; code != 2 || stderr != want {
			t.Errorf("exit code %d, stderr:\n%s\nwant 2 and:\n%s", code, stderr, want)
		}
		unchanged(t)
	})

	t.Run("the caller's own link", func(t *testing.T) {
		reset(t)
		mine := filepath.Join(t.TempDir(), "mine.pcapng")
		link := filepath.Join(sticky, "mine.pcapng")
		if err := os.Symlink(mine, link); err != nil {
			t.Fatal(err)
		}
		p := startLwtdump(t, tb.launch(), append(capture, "-w", link, "--no-manifest")...)
		tb.ping(tb.h1, "2001:db8:20::1", 1)
		if code := p.stop(syscall.SIGINT); code != 0 {
			t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
		}
		capinfos(t, mine)
		tb.requireRoutes(tb.r1, before)
	})
}

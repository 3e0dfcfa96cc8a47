package main

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sharedDir makes a directory that users other than root can reach (the
// test's own temporary directories are root's alone).
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lwtdump-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// -Z USER: lwtdump becomes USER once attached, keeps only CAP_NET_ADMIN,
// goes on rotating files (owned by USER) and still restores the routes and
// removes its state at the end.
func TestDropPrivileges(t *testing.T) {
	tb := newTestbed(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	before := tb.routes(tb.r1)
	out := sharedDir(t, 0o777)
	tb.stateDir = filepath.Join(sharedDir(t, 0o755), "state")

	p := startLwtdump(t, tb.launch(), "-Z", "nobody", "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(out, "cap-%s.pcapng"), "-G", "1", "-W", "3")
	// Wait for the end of the change, not its middle: between becoming
	// nobody and keeping CAP_NET_ADMIN, the process holds no capability.
	dropped := func(status string) bool {
		return strings.Contains(status, "Uid:\t"+nobody.Uid+"\t"+nobody.Uid+"\t"+nobody.Uid) && strings.Contains(status, "CapEff:\t0000000000001000")
	}
	deadline := time.Now().Add(5 * time.Second)
	var status string
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
		if status = string(b); dropped(status) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !dropped(status) {
		t.Errorf("lwtdump did not become nobody with CAP_NET_ADMIN alone:\n%s", grepLines(status, "Uid:", "Gid:", "CapEff:", "CapPrm:"))
	}
	tb.ping(tb.h1, "2001:db8:20::1", 20)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	files, _ := filepath.Glob(filepath.Join(out, "cap-*.pcapng"))
	if len(files) != 3 {
		t.Fatalf("%d files, want 3: %v", len(files), files)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if owner := fi.Sys().(*syscall.Stat_t).Uid; int(owner) != uid {
			t.Errorf("%s is owned by uid %d, want nobody (%d)", f, owner, uid)
		}
		capinfos(t, f)
	}
	if left := tb.stateFiles(); len(left) != 0 {
		t.Errorf("state files left: %v", left)
	}
	// Nor the directory of the state, which nobody cannot remove from
	// root's state directory: lwtdump's reaper, started before the drop,
	// removes it once the capture has exited.
	if left, _ := filepath.Glob(filepath.Join(tb.stateDir, "[0-9]*")); len(left) != 0 {
		t.Errorf("state directories left: %v", left)
	}
}

// An unprivileged user is told which capabilities are missing, and nothing is touched.
func TestUnprivilegedUser(t *testing.T) {
	tb := newTestbed(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed")
	}
	before := tb.routes(tb.r1)
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		lwtdumpBinary(t), "-i", "2001:db8:20::/48", "--netns", tb.r1, "--state-dir", sharedDir(t, 0o777))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1\n%s", err, out)
	}
	want := "lwtdump: permission denied: lwtdump needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (missing CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN (for --netns))"
	if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, want) || strings.Contains(got, "\n") {
		t.Fatalf("stderr:\n%s\nwant one line starting with:\n%s", got, want)
	}
	tb.requireRoutes(tb.r1, before)
}

func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

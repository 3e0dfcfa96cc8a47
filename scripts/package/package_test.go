package main

// The unit and the package, checked with the tools that judge them:
// systemd-analyze verify and security (systemd is not PID 1 here, so the
// unit cannot be started), and as root dpkg -i, -r and -P on this machine
// and lintian.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// buildLwtdump builds the lwtdump binary into dir.
func buildLwtdump(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "lwtdump")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lwtdump")
	cmd.Dir, cmd.Env = "../..", append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// instanceUnit writes lwtdump@.service as the unit of an instance, with
// the binary at bin, into a directory of its own, and returns its path.
func instanceUnit(t *testing.T, bin string) string {
	t.Helper()
	b, err := os.ReadFile("lwtdump@.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "lwtdump@core-uplink.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/bin/lwtdump", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	return unit
}

func requireSystemdAnalyze(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd)")
	}
}

// systemd-analyze verify finds nothing to say of the unit. Its
// Documentation= names the man page, which only the package installs: it is
// checked with the installed unit (TestDeb).
func TestUnitVerify(t *testing.T) {
	requireSystemdAnalyze(t)
	unit := instanceUnit(t, buildLwtdump(t, t.TempDir()))
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// exposure is the overall exposure level systemd-analyze security prints.
var exposure = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+) (\S+)`)

// systemd-analyze security rates the unit 4.0 or lower: "OK" or better.
func TestUnitSecurity(t *testing.T) {
	requireSystemdAnalyze(t)
	unit := instanceUnit(t, "/usr/bin/lwtdump")
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposure.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	if score > 4.0 {
		t.Errorf("overall exposure %.1f %s, want 4.0 or lower:\n%s", score, m[2], out)
	}
	t.Logf("overall exposure %.1f %s", score, m[2])
	if !strings.Contains(string(unitText(t)), fmt.Sprintf("rates\n# this unit %.1f", score)) {
		t.Errorf("the unit's comment does not give the score %.1f", score)
	}
}

func unitText(t *testing.T) []byte {
	b, err := os.ReadFile("lwtdump@.service")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs a command and fails the test if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// The packages built by make deb: lintian finds no error in either; the
// amd64 one installs here with its files where they belong, the version
// lwtdump prints, the system user, /var/lib/lwtdump (0750) and
// /run/lwtdump (0711, root's); the unit's ExecStartPre makes an instance's
// state directory that its user can use; dpkg -r leaves only the
// configuration, and dpkg -P nothing.
func TestDeb(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: dpkg -i installs the package on this machine, and removes it")
	}
	for _, tool := range []string{"dpkg", "lintian", "make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "lwtdump").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skipf("lwtdump is installed on this machine (%s): not touching it", out)
	}
	if _, err := exec.LookPath("lwtdump"); err == nil {
		t.Skip("an lwtdump is on PATH: not touching this machine's")
	}
	version := strings.TrimSpace(run(t, "./version.sh"))
	dist := t.TempDir()
	cmd := exec.Command("make", "deb", "DIST="+dist)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		debs[arch] = filepath.Join(dist, fmt.Sprintf("lwtdump_%s_%s.deb", version, arch))
		if !exists(debs[arch]) {
			t.Fatalf("make deb did not write %s", debs[arch])
		}
		if got := strings.TrimSpace(run(t, "dpkg-deb", "-f", debs[arch], "Architecture")); got != arch {
			t.Errorf("%s: Architecture %s", debs[arch], got)
		}
		out, _ := exec.Command("lintian", debs[arch]).CombinedOutput()
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			switch {
			case strings.HasPrefix(line, "E:"):
				t.Errorf("lintian %s: %s", arch, line)
			case strings.HasPrefix(line, "W:"):
				t.Logf("lintian %s: %s", arch, line)
			}
		}
	}

	purged := false
	t.Cleanup(func() {
		if !purged {
			exec.Command("dpkg", "-P", "lwtdump").Run()
		}
	})
	run(t, "dpkg", "-i", debs["amd64"])
	for path, mode := range map[string]os.FileMode{
		"/usr/bin/lwtdump":                               0o755,
		"/lib/systemd/system/lwtdump@.service":           0o644,
		"/etc/lwtdump/example.conf":                      0o644,
		"/usr/share/lwtdump/lwtdump.lua":                 0o644,
		"/usr/share/lwtdump/lwtdump-alerts.yml":          0o644,
		"/usr/share/doc/lwtdump/copyright":               0o644,
		"/usr/share/doc/lwtdump/changelog.gz":            0o644,
		"/usr/share/doc/lwtdump/README.md.gz":            0o644,
		"/usr/lib/tmpfiles.d/lwtdump.conf":               0o644,
		"/usr/share/man/man8/lwtdump.8.gz":               0o644,
		"/usr/share/bash-completion/completions/lwtdump": 0o644,
		"/usr/share/zsh/vendor-completions/_lwtdump":     0o644,
		"/var/lib/lwtdump":                               os.ModeDir | 0o750,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("installed: %v", err)
			continue
		}
		if fi.Mode()&(os.ModeDir|os.ModePerm) != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	if got := run(t, "/usr/bin/lwtdump", "--version"); got != "lwtdump version "+version+"\n" {
		t.Errorf("lwtdump --version: %q, want the package's version %s", got, version)
	}
	if got := run(t, "dpkg-query", "-W", "-f", "${Version}", "lwtdump"); got != version {
		t.Errorf("installed version %q, want %q", got, version)
	}
	pw := strings.Split(strings.TrimSpace(run(t, "getent", "passwd", "lwtdump")), ":")
	if uid, _ := strconv.Atoi(pw[2]); uid == 0 || uid >= 1000 || pw[6] != "/usr/sbin/nologin" {
		t.Errorf("user lwtdump: %q, want a system user without a shell", pw)
	}
	if fi, err := os.Stat("/var/lib/lwtdump"); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		if strconv.Itoa(int(st.Uid)) != pw[2] || strconv.Itoa(int(st.Gid)) != pw[3] {
			t.Errorf("/var/lib/lwtdump owned by %d:%d, want lwtdump's %s:%s", st.Uid, st.Gid, pw[2], pw[3])
		}
	}
	// The installed unit, as systemd would read it.
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		unit := filepath.Join(t.TempDir(), "lwtdump@example.service")
		os.WriteFile(unit, unitText(t), 0o644)
		if out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify of the installed unit: %v\n%s", err, out)
		}
	}
	switch _, err := exec.LookPath("systemd-tmpfiles"); {
	case err != nil:
		t.Log("systemd-tmpfiles is not installed: /run/lwtdump not checked")
	case exists("/etc/tmpfiles.d/lwtdump.conf"):
		t.Log("/etc/tmpfiles.d/lwtdump.conf replaces the package's: /run/lwtdump not checked")
	default:
		requireDir(t, "/run/lwtdump", 0, 0, os.ModeDir|0o711)
	}
	// What the unit runs before an instance starts: its state directory
	// made as root, then its cleanup as the user lwtdump with the unit's
	// capabilities (nothing to restore).
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Log("setpriv is not installed: the unit's ExecStartPre not run")
	} else {
		gid, _ := strconv.Atoi(pw[3])
		plus, pre := unitStartPre(t, "example")
		for _, cmd := range plus {
			run(t, cmd[0], cmd[1:]...)
		}
		requireDir(t, "/run/lwtdump/example", 0, gid, os.ModeDir|os.ModeSticky|os.ModeSetgid|0o770)
		caps := unitCaps(t)
		as := append([]string{"--reuid=lwtdump", "--regid=lwtdump", "--init-groups", "--inh-caps=-all," + caps, "--ambient-caps=-all," + caps, "--bounding-set=-all," + caps}, pre...)
		out, err := exec.Command("setpriv", as...).CombinedOutput()
		if err != nil {
			t.Errorf("ExecStartPre %s as lwtdump with %s: %v\n%s", strings.Join(pre, " "), caps, err, out)
		}
		t.Logf("ExecStartPre=+%s, then %s as lwtdump with %s: %q", plus, strings.Join(pre, " "), caps, out)
	}
	// The example config reads with the installed binary.
	if out, err := exec.Command("/usr/bin/lwtdump", "--config", "/etc/lwtdump/example.conf", "--help").CombinedOutput(); err != nil {
		t.Errorf("lwtdump --config example.conf --help: %v\n%s", err, out)
	}

	run(t, "dpkg", "-r", "lwtdump")
	for _, path := range []string{"/usr/bin/lwtdump", "/lib/systemd/system/lwtdump@.service", "/usr/lib/tmpfiles.d/lwtdump.conf", "/usr/share/lwtdump", "/usr/share/doc/lwtdump"} {
		if exists(path) {
			t.Errorf("after dpkg -r: %s is still there", path)
		}
	}
	if got := run(t, "dpkg-query", "-W", "-f", "${Status}", "lwtdump"); got != "deinstall ok config-files" {
		t.Errorf("after dpkg -r: status %q", got)
	}

	run(t, "dpkg", "-P", "lwtdump")
	purged = true
	for _, path := range []string{"/etc/lwtdump", "/var/lib/lwtdump", "/run/lwtdump", "/usr/share/lintian/overrides/lwtdump"} {
		if exists(path) {
			t.Errorf("after dpkg -P: %s is still there", path)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if exec.Command("getent", db, "lwtdump").Run() == nil {
			t.Errorf("after dpkg -P: %s lwtdump is still there", db)
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "lwtdump").CombinedOutput(); err == nil && strings.TrimSpace(string(out)) != "" && !strings.Contains(string(out), "not-installed") {
		t.Errorf("after dpkg -P: status %q", out)
	}
}

// requireDir checks the owner and mode of a directory.
func requireDir(t *testing.T, path string, uid, gid int, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode() != mode {
		t.Errorf("%s: %d:%d %v, want %d:%d %v", path, st.Uid, st.Gid, fi.Mode(), uid, gid, mode)
	}
}

// unitStartPre returns the ExecStartPre commands of the unit for instance:
// those that run as root ("+"), and the one that runs as its user.
func unitStartPre(t *testing.T, instance string) (plus [][]string, pre []string) {
	t.Helper()
	for _, line := range strings.Split(string(unitText(t)), "\n") {
		v, ok := strings.CutPrefix(line, "ExecStartPre=")
		if !ok {
			continue
		}
		v = strings.ReplaceAll(v, "%i", instance)
		if cmd, ok := strings.CutPrefix(v, "+"); ok {
			plus = append(plus, strings.Fields(cmd))
		} else {
			pre = strings.Fields(v)
		}
	}
	if len(plus) == 0 || pre == nil {
		t.Fatalf("the unit's ExecStartPre: %q as root, %q as its user", plus, pre)
	}
	return plus, pre
}

// unitCaps is the unit's AmbientCapabilities= as setpriv writes them:
// "+bpf,+perfmon,+net_admin".
func unitCaps(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(string(unitText(t)), "\n") {
		if v, ok := strings.CutPrefix(line, "AmbientCapabilities="); ok {
			var caps []string
			for _, c := range strings.Fields(v) {
				caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
			return strings.Join(caps, ",")
		}
	}
	t.Fatal("the unit has no AmbientCapabilities=")
	return ""
}

// The example alerting rules are valid Prometheus rules, and fire on the
// series they are written for (lwtdump-alerts.test.yml).
func TestAlertRules(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	t.Log(run(t, "promtool", "check", "rules", "lwtdump-alerts.yml"))
	t.Log(run(t, "promtool", "test", "rules", "lwtdump-alerts.test.yml"))
}

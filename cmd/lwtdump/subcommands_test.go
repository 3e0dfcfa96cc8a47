package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lwtdump/lwtdump/rotate"
)

// Every subcommand treats a bad command line as the main command does: one
// line on stderr that starts with "lwtdump: " and names the subcommand,
// nothing on stdout, exit code 2 (no help text, no "Incorrect Usage"); and a
// good call exits 0. Its help gives its exit codes.
func TestSubcommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	_, files := writeRun(t, rotate.Options{Path: filepath.Join(dir, "run.pcapng"), SizeLimit: 1})
	state := t.TempDir()
	home := wiresharkHome(t)
	// list and cleanup look at the routes of a namespace of the test's own,
	// where there is nothing of any other capture.
	ns := ""
	if os.Geteuid() == 0 {
		ns = fmt.Sprintf("lwtsub-%d", os.Getpid())
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
	}
	for _, tc := range []struct {
		name   string
		env    []string // nil: the test's
		args   []string
		code   int
		stderr string // in the one line of a bad command line
		root   bool   // needs the namespace
	}{
		{name: "stats/bogus flag", args: []string{"stats", "--bogus", files[0]}, code: 2, stderr: "stats: flag provided but not defined: -bogus"},
		{name: "stats/no operand", args: []string{"stats"}, code: 2, stderr: "stats: no capture given"},
		{name: "stats/good", args: []string{"stats", files[0]}},
		{name: "stats/good json", args: []string{"stats", "--json", files[0]}},
		{name: "verify/bogus flag", args: []string{"verify", "--bogus", dir}, code: 2, stderr: "verify: flag provided but not defined: -bogus"},
		{name: "verify/bogus short flag", args: []string{"verify", "-x", dir}, code: 2, stderr: "verify: flag provided but not defined: -x"},
		{name: "verify/no operand", args: []string{"verify"}, code: 2, stderr: "verify: no directory or file given"},
		{name: "verify/missing operand", args: []string{"verify", filepath.Join(dir, "nothing")}, code: 2, stderr: "verify: "},
		{name: "verify/good", args: []string{"verify", dir}},
		{name: "list/bogus flag", args: []string{"list", "--bogus"}, code: 2, stderr: "list: flag provided but not defined: -bogus"},
		{name: "list/flag without its value", args: []string{"list", "--netns"}, code: 2, stderr: "list: flag needs an argument: -netns"},
		{name: "list/unexpected operand", args: []string{"list", "extra"}, code: 2, stderr: `list: unexpected argument "extra"`},
		{name: "list/no such namespace", args: []string{"list", "--netns", "lwtsub-none", "--state-dir", state}, code: 2, stderr: "no such network namespace", root: true},
		{name: "list/good", args: []string{"list", "--netns", ns, "--state-dir", state}, root: true},
		{name: "cleanup/bogus flag", args: []string{"cleanup", "--bogus"}, code: 2, stderr: "cleanup: flag provided but not defined: -bogus"},
		{name: "cleanup/unexpected operand", args: []string{"cleanup", "extra"}, code: 2, stderr: `cleanup: unexpected argument "extra"`},
		{name: "cleanup/good", args: []string{"cleanup", "--netns", ns, "--state-dir", state}, root: true},
		{name: "wireshark/bogus flag", args: []string{"wireshark", "--bogus"}, code: 2, stderr: "wireshark: flag provided but not defined: -bogus"},
		{name: "wireshark/no operand", args: []string{"wireshark"}, code: 2, stderr: "wireshark: give install or uninstall"},
		{name: "wireshark/unknown operand", args: []string{"wireshark", "reinstall"}, code: 2, stderr: "wireshark: give install or uninstall"},
		{name: "wireshark install/bogus flag", env: home, args: []string{"wireshark", "install", "--bogus"}, code: 2, stderr: "wireshark install: flag provided but not defined: -bogus"},
		{name: "wireshark install/unexpected operand", env: home, args: []string{"wireshark", "install", "extra"}, code: 2, stderr: "wireshark install: takes no arguments"},
		{name: "wireshark install/good", env: home, args: []string{"wireshark", "install"}},
		{name: "wireshark uninstall/bogus flag", env: home, args: []string{"wireshark", "uninstall", "--bogus"}, code: 2, stderr: "wireshark uninstall: flag provided but not defined: -bogus"},
		{name: "wireshark uninstall/good", env: home, args: []string{"wireshark", "uninstall"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && ns == "" {
				t.Skip("needs root for a network namespace of the test's own")
			}
			code, stdout, stderr := runLwtdump(t, launch{env: tc.env}, tc.args...)
			if code != tc.code {
				t.Fatalf("lwtdump %s: exit code %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.code, stdout, stderr)
			}
			if tc.code == 0 {
				if stdout == "" {
					t.Errorf("nothing on stdout; stderr: %s", stderr)
				}
				return
			}
			if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "lwtdump: ") || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("want one line on stderr with %q and nothing on stdout\nstdout: %q\nstderr: %q", tc.stderr, stdout, stderr)
			}
		})
	}
}

// The help of every subcommand gives its exit codes.
func TestSubcommandHelpExitCodes(t *testing.T) {
	for _, args := range [][]string{
		{"stats", "--help"}, {"verify", "--help"}, {"list", "--help"}, {"cleanup", "--help"},
		{"wireshark", "--help"}, {"wireshark", "install", "--help"}, {"wireshark", "uninstall", "--help"},
	} {
		code, stdout, stderr := runLwtdump(t, inProcess, args...)
		if code != 0 || !strings.Contains(stdout, "Exit codes: 0 ") || !strings.Contains(stdout, "; 1 ") || !strings.Contains(stdout, "; 2 a bad command line") {
			t.Errorf("lwtdump %s: exit code %d, no exit codes in the help\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

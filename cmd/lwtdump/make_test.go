package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// make build, demo and test stop with one line naming the Go that lwtdump
// needs when the go command is too old to build it and cannot fetch it;
// scripts/check-go.sh decides, here with go commands that only say their
// version and GOTOOLCHAIN, as Debian 12's Go 1.19 does.
func TestCheckGo(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+\.\d+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatalf("go.mod has no go line of a release:\n%s", mod)
	}
	need := string(m[1])
	dir := t.TempDir()
	// fakeGo is a go command of version that answers go env GOTOOLCHAIN
	// with toolchain.
	fakeGo := func(version, toolchain string) string {
		bin := filepath.Join(dir, version+"-"+strings.ReplaceAll(toolchain, "+", "_"), "go")
		os.MkdirAll(filepath.Dir(bin), 0o755)
		script := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in\nversion) echo 'go version go%s linux/amd64' ;;\nenv) echo '%s' ;;\nesac\n", version, toolchain)
		if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return bin
	}
	for _, tc := range []struct {
		goCmd string
		says  string // "" for a go that builds lwtdump
	}{
		{fakeGo("1.19.8", ""), "go1.19.8, too old to fetch it"},
		{fakeGo("1.20.14", "auto"), "go1.20.14, too old to fetch it"},
		{fakeGo("1.22.12", "local"), "go1.22.12, and GOTOOLCHAIN=local keeps it from fetching Go " + need},
		{fakeGo("1.22.12", "path"), "GOTOOLCHAIN=path keeps it from fetching"},
		{fakeGo("1.22.12", "go1.24.0"), "GOTOOLCHAIN=go1.24.0 keeps it from fetching"},
		{fakeGo("1.22.12", "auto"), ""},
		{fakeGo("1.22.12", "local+auto"), ""},
		{fakeGo("1.22.12", "go1.24.0+auto"), ""},
		{fakeGo("1.22.12", "go"+need), ""},
		{fakeGo(need, "local"), ""},
		{fakeGo("1.30.1", "local"), ""},
		{"no-such-go-command", "there is no no-such-go-command on PATH"},
	} {
		cmd := exec.Command("../../scripts/check-go.sh")
		cmd.Env = append(os.Environ(), "GO="+tc.goCmd)
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		switch {
		case tc.says == "" && (err != nil || len(out) > 0):
			t.Errorf("%s: %v\n%s", tc.goCmd, err, out)
		case tc.says != "" && (err == nil || len(lines) != 1 ||
			!strings.HasPrefix(lines[0], "lwtdump needs Go "+need+" or later to build; ") || !strings.Contains(lines[0], tc.says)):
			t.Errorf("%s: %v; want one line naming Go %s, with %q:\n%s", tc.goCmd, err, need, tc.says, out)
		}
	}

	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	for _, target := range []string{"build", "demo", "test"} {
		// -n: what make would do, had the check passed.
		cmd := exec.Command("make", "-n", "--no-print-directory", target)
		cmd.Dir = "../.."
		cmd.Env = []string{"PATH=" + filepath.Dir(fakeGo("1.19.8", "")) + ":" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil || len(lines) != 1 || !strings.Contains(lines[0], "*** lwtdump needs Go "+need+" or later to build;") {
			t.Errorf("make %s: %v; want it to stop with one line:\n%s", target, err, out)
		}
	}
}

// make install puts the binary, the man page, the bash and zsh completion
// and the Wireshark dissector under DESTDIR and PREFIX, each where its
// readers look (man, bash-completion, zsh's site-functions); make
// uninstall removes them all.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lwtdump with make")
	}
	for _, tool := range []string{"make", "install", "man", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dest := t.TempDir()
	makeIn := func(target string) {
		t.Helper()
		cmd := exec.Command("make", "--no-print-directory", target, "DESTDIR="+dest, "PREFIX=/usr")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	makeIn("install")
	files := map[string]os.FileMode{
		"usr/bin/lwtdump":                               0o755,
		"usr/share/man/man8/lwtdump.8":                  0o644,
		"usr/share/bash-completion/completions/lwtdump": 0o644,
		"usr/share/zsh/site-functions/_lwtdump":         0o644,
		"usr/share/lwtdump/lwtdump.lua":                 0o644,
	}
	for name, mode := range files {
		fi, err := os.Stat(filepath.Join(dest, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", name, fi, err, mode)
		}
	}
	bin := filepath.Join(dest, "usr/bin/lwtdump")
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "lwtdump version ") {
		t.Errorf("lwtdump version: %q, %v", out, err)
	}
	page := exec.Command("man", "-l", filepath.Join(dest, "usr/share/man/man8/lwtdump.8"))
	page.Env = append(os.Environ(), "MANWIDTH=100")
	if out, err := page.Output(); err != nil || !strings.Contains(string(out), "/usr/share/lwtdump/lwtdump.lua") {
		t.Errorf("man -l: %v; want the page to name the installed dissector", err)
	}
	complete := exec.Command("bash", "--norc", "--noprofile", "-c", `source "$1" && complete -p lwtdump`, "bash", filepath.Join(dest, "usr/share/bash-completion/completions/lwtdump"))
	if out, err := complete.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "complete -F _lwtdump lwtdump" {
		t.Errorf("bash completion: %q, %v", out, err)
	}
	makeIn("uninstall")
	for name := range files {
		if _, err := os.Stat(filepath.Join(dest, name)); err == nil {
			t.Errorf("%s is left after make uninstall", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/share/lwtdump")); err == nil {
		t.Errorf("usr/share/lwtdump is left after make uninstall")
	}
}

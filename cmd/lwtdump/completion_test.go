package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// setUpApp is the app of lwtdump with its help flag and command, as run
// sets it up.
func setUpApp() *cli.App {
	app := newApp([]string{"lwtdump"}, io.Discard, io.Discard)
	app.Setup()
	return app
}

// wantFlagsAndCommands are every flag name a user can type, and every
// command.
func wantFlagsAndCommands(app *cli.App) (flags, commands []string) {
	for _, f := range visibleFlags(app.Flags) {
		flags = append(flags, flagNames(f)...)
	}
	for _, c := range app.VisibleCommands() {
		commands = append(commands, c.Name)
	}
	return flags, commands
}

// completionCases are command lines, the word being completed last, and
// what completing it must offer (at least).
func completionCases(t *testing.T, dir string) []struct {
	line []string
	want []string
} {
	app := setUpApp()
	flags, commands := wantFlagsAndCommands(app)
	if len(flags) < 40 || !slices.Contains(flags, "--stdout-timeout") || !slices.Contains(commands, "stats") {
		t.Fatalf("flags %q, commands %q", flags, commands)
	}
	capture := filepath.Join(dir, "capture.pcapng")
	if err := os.WriteFile(capture, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return []struct {
		line []string
		want []string
	}{
		{[]string{"lwtdump", "-"}, flags},
		{[]string{"lwtdump", ""}, commands},
		{[]string{"lwtdump", "-c", "5", "-"}, flags},
		{[]string{"lwtdump", "--hook", ""}, []string{"in", "out", "xmit"}},
		{[]string{"lwtdump", "-a", ""}, []string{"duration:", "packets:", "filesize:", "files:"}},
		{[]string{"lwtdump", "--transport", ""}, []string{"ringbuf", "perf"}},
		{[]string{"lwtdump", "-i", "2001:db8::/48", "-w", dir + "/"}, []string{capture}},
		{[]string{"lwtdump", "-r", capture, dir + "/"}, []string{capture}},
		{[]string{"lwtdump", "stats", "--"}, []string{"--json"}},
		{[]string{"lwtdump", "stats", dir + "/"}, []string{capture}},
		{[]string{"lwtdump", "wireshark", ""}, []string{"install", "uninstall"}},
		{[]string{"lwtdump", "cleanup", "--"}, []string{"--netns", "--state-dir", "--strip"}},
	}
}

// requireOffers fails unless got offers every word of want; a file is
// known by its name (bash offers the path, zsh the name in its folder).
func requireOffers(t *testing.T, line []string, got string, want []string) {
	t.Helper()
	var offered []string
	for _, o := range strings.Fields(got) {
		offered = append(offered, filepath.Base(o))
	}
	for _, w := range want {
		w = filepath.Base(w)
		if !slices.Contains(offered, w) {
			t.Errorf("%q: %q not offered; offered %q", strings.Join(line, " "), w, offered)
		}
	}
}

// bash's completion function, run by bash itself, offers every flag, every
// command, and the values and files each place takes.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "lwtdump.bash")
	var b bytes.Buffer
	if err := writeBashCompletion(&b, setUpApp()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const run = `source "$1" && shift && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && { _lwtdump; printf '%s\n' "${COMPREPLY[@]}"; }`
	for _, tc := range completionCases(t, dir) {
		out, err := exec.Command("bash", append([]string{"--norc", "--noprofile", "-c", run, "bash", script}, tc.line...)...).CombinedOutput()
		if err != nil {
			t.Errorf("%q: %v\n%s", tc.line, err, out)
			continue
		}
		requireOffers(t, tc.line, string(out), tc.want)
	}
}

// zsh's completion, loaded by compinit from a folder of $fpath and run in
// an interactive zsh on a pseudo-terminal, offers every flag, every
// command, and the values and files each place takes.
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh is not installed (make deps installs it)")
	}
	dir := t.TempDir()
	fpath := filepath.Join(dir, "functions")
	os.Mkdir(fpath, 0o755)
	var b bytes.Buffer
	if err := writeZshCompletion(&b, setUpApp()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fpath, "_lwtdump"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("zsh", "-n", filepath.Join(fpath, "_lwtdump")).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n _lwtdump: %v\n%s", err, out)
	}
	cases := completionCases(t, dir)
	args := []string{"-f", "testdata/zsh-complete.zsh", fpath}
	for _, tc := range cases {
		args = append(args, strings.Join(tc.line, " "))
	}
	cmd := exec.Command("zsh", args...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "TERM=xterm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	// "== LINE" and the candidates, for each line.
	offered := strings.Split(string(out), "== ")[1:]
	if len(offered) != len(cases) {
		t.Fatalf("zsh completed %d lines of %d:\n%s", len(offered), len(cases), out)
	}
	for i, tc := range cases {
		line, got, _ := strings.Cut(offered[i], "\n")
		if line != strings.Join(tc.line, " ") {
			t.Fatalf("zsh completed %q, want %q", line, tc.line)
		}
		want := tc.want
		if tc.line[1] == "-c" { // zsh offers no flag twice that takes one value
			want = slices.DeleteFunc(slices.Clone(want), func(f string) bool { return f == "-c" || f == "--count" })
		}
		requireOffers(t, tc.line, got, want)
	}
}

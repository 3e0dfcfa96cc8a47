package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// man renders lwtdump(8) without a warning, with every section a man page
// has, every flag, every command and every tcpdump flag lwtdump refuses.
func TestManPageRenders(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (man-db)")
	}
	// Run as commands first: urfave/cli then adds its help command to each
	// of them, the help command itself included.
	for _, args := range [][]string{{"help", "help"}, {"help", "wireshark"}, {"wireshark", "--help"}} {
		run(append([]string{"lwtdump"}, args...), io.Discard, io.Discard)
	}
	app := setUpApp()
	var page bytes.Buffer
	if err := writeManPage(&page, app, "/usr"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "lwtdump.8")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "LC_ALL=C.UTF-8", "MANWIDTH=100", "MAN_KEEP_FORMATTING=")
	// As lintian checks a man page: groff's warnings on stderr.
	check := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", file)
	check.Env = env
	var warnings bytes.Buffer
	check.Stderr = &warnings
	if err := check.Run(); err != nil || warnings.Len() > 0 {
		t.Fatalf("man --warnings: %v\n%s", err, warnings.String())
	}
	cmd := exec.Command("man", "-l", file)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	text := regexp.MustCompile(".\b").ReplaceAllString(string(out), "") // bold and underline
	flags, commands := wantFlagsAndCommands(app)
	var want []string
	for _, s := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "STOPPING", "EXAMPLES", "EXIT STATUS", "FILES", "SEE ALSO"} {
		want = append(want, "\n"+s+"\n")
	}
	for _, f := range flags {
		want = append(want, " "+f+" ", " "+f+",", " "+f+"\n")
	}
	for _, c := range commands {
		want = append(want, "lwtdump "+c)
	}
	for _, r := range refusals {
		if !regexp.MustCompile(`\s-` + r.letter + `[\s,]`).MatchString(text) {
			t.Errorf("the page does not name the refused flag -%s", r.letter)
		}
	}
	want = append(want, "lwtdump - capture packets", "/usr/share/lwtdump/lwtdump.lua", "/run/lwtdump", "tcpdump(8)")
	for i := 0; i < len(want); i++ {
		w := want[i]
		if strings.HasPrefix(w, " -") { // a flag: any of its three forms
			if !strings.Contains(text, w) && !strings.Contains(text, want[i+1]) && !strings.Contains(text, want[i+2]) {
				t.Errorf("the page does not name the flag %s", strings.TrimSpace(w))
			}
			i += 2
			continue
		}
		if !strings.Contains(text, w) {
			t.Errorf("the page has no %q", w)
		}
	}
	if t.Failed() {
		t.Logf("the page as man shows it:\n%s", text)
	}
}

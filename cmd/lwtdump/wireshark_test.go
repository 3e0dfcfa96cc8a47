package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// lwtdump wireshark install, for a user of the test's own: the dissector
// and the two extcap links are where it says, tshark -D lists lwtdump and
// tshark knows the dissector's fields; uninstall removes them, and tshark
// knows neither any more.
func TestWiresharkInstall(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	env := wiresharkHome(t)
	home := strings.TrimPrefix(env[0], "HOME=")
	bin := lwtdumpBinary(t)
	lwtdump := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runLwtdump(t, launch{env: env}, args...)
		if code != 0 {
			t.Fatalf("lwtdump %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout + stderr
	}
	tshark := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("tshark", args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	lua := filepath.Join(home, ".local/lib/wireshark/plugins/lwtdump.lua")
	links := []string{filepath.Join(home, ".config/wireshark/extcap/lwtdump"), filepath.Join(home, ".local/lib/wireshark/extcap/lwtdump")}

	out := lwtdump("wireshark", "install")
	want := "dissector " + lua + " (Wireshark 4.0 and later)\n" +
		"extcap " + links[0] + " -> " + bin + " (Wireshark 4.0 and 4.1)\n" +
		"extcap " + links[1] + " -> " + bin + " (Wireshark 4.2 and later)\n"
	if out != want {
		t.Errorf("install said\n%s\nwant\n%s", out, want)
	}
	src, _ := os.ReadFile("../internal/wireshark/lwtdump.lua")
	if b, err := os.ReadFile(lua); err != nil || string(b) != string(src) {
		t.Errorf("%s: %v (or not the dissector)", lua, err)
	}
	for _, l := range links {
		if target, err := os.Readlink(l); err != nil || target != bin {
			t.Errorf("%s: link to %q, %v", l, target, err)
		}
	}
	listed := regexp.MustCompile(`(?m)^\d+\. lwtdump \(LWT-route-capture\)$`)
	if d := tshark("-D"); !listed.MatchString(d) {
		t.Errorf("tshark -D does not list lwtdump:\n%s", d)
	}
	fields := regexp.MustCompile(`(?m)^F\tHook\tlwtdump\.hook\tFT_STRING\tlwtdump\t`)
	if f := tshark("-G", "fields"); !fields.MatchString(f) || !strings.Contains(f, "\tlwtdump.cookie\tFT_UINT64\t") {
		t.Errorf("tshark -G fields knows no lwtdump.hook and lwtdump.cookie")
	}

	out = lwtdump("wireshark", "uninstall")
	if want := "removed dissector " + lua + "\nremoved extcap " + links[0] + "\nremoved extcap " + links[1] + "\n"; out != want {
		t.Errorf("uninstall said\n%s\nwant\n%s", out, want)
	}
	for _, p := range append(links, lua) {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after uninstall: %v", p, err)
		}
	}
	if listed.MatchString(tshark("-D")) {
		t.Error("tshark -D still lists lwtdump")
	}
	if strings.Contains(tshark("-G", "fields"), "\tlwtdump.hook\t") {
		t.Error("tshark still knows lwtdump.hook")
	}
}

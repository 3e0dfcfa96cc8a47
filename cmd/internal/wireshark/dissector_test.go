package wireshark

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lwtdump/lwtdump/writer/writertest"
)

// tshark runs tshark with the dissector installed for a user of the
// test's own, and returns its output.
func tshark(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	home := t.TempDir()
	d := Dirs{Home: home, ConfigHome: filepath.Join(home, ".config")}
	if err := os.MkdirAll(d.Plugins().Path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Plugins().Path, DissectorName), Dissector, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tshark", args...)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + d.ConfigHome, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Every field has a description, which Wireshark's status bar shows (4.0
// drops ProtoField.string's); the route's device and the packet's interface
// are named for what they are.
func TestDissectorFieldDescriptions(t *testing.T) {
	fields := map[string]string{}
	for _, line := range strings.Split(tshark(t, "-G", "fields"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) >= 8 && f[0] == "F" && strings.HasPrefix(f[2], "lwtdump.") {
			fields[f[2]] = f[1] + "|" + f[7]
		}
	}
	want := map[string]string{
		"lwtdump.hook": "Hook", "lwtdump.cookie": "Cookie", "lwtdump.route": "Route", "lwtdump.dev": "Route device",
		"lwtdump.ifindex": "Packet interface index", "lwtdump.cpu": "CPU", "lwtdump.mark": "Mark",
	}
	if len(fields) != len(want) {
		t.Errorf("fields %v, want %d", fields, len(want))
	}
	for abbr, name := range want {
		got, desc, _ := strings.Cut(fields[abbr], "|")
		if got != name || len(desc) < 10 {
			t.Errorf("%s: name %q, description %q; want %q and a description", abbr, got, desc, name)
		}
	}
}

// The tree shows each packet's metadata as its comment says it, the hex
// values too (Cookie: 0x2, not 0x0000000000000002).
func TestDissectorTree(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.pcapng")
	if err := os.WriteFile(file, writertest.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tshark(t, "-r", file, "-V")
	packets := regexp.MustCompile(`(?m)^Frame \d+: `).Split(out, -1)[1:]
	if n := len(writertest.Samples()); len(packets) != n {
		t.Fatalf("%d packets, want %d", len(packets), n)
	}
	comment := regexp.MustCompile(`(?m)^lwtdump: (hook=.*)$`)
	for i, p := range packets {
		m := comment.FindStringSubmatch(p)
		if m == nil {
			t.Errorf("packet %d: no lwtdump tree", i+1)
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		for _, line := range []string{
			"Hook: " + kv["hook"], "Cookie: " + kv["cookie"], "Route: " + kv["route"], "Route device: " + kv["dev"],
			"Packet interface index: " + kv["ifindex"], "CPU: " + kv["cpu"], "Mark: " + kv["mark"],
		} {
			if !strings.Contains(p, "\n    "+line+"\n") {
				t.Errorf("packet %d: no line %q in its tree:\n%s", i+1, line, p)
			}
		}
	}
	if strings.Contains(out, "0x000000000000beef") || strings.Contains(out, "Lua: Error") {
		t.Errorf("tree with a zero-padded cookie or a Lua error:\n%s", out)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2/altsrc"
)

// Every capture flag can come from a config file: the definitions pass
// through configurable, which knows each flag type they use.
func TestEveryCaptureFlagConfigurable(t *testing.T) {
	for _, f := range captureFlags() {
		if _, ok := f.(altsrc.FlagInputSourceExtension); !ok {
			t.Errorf("--%s (%T) cannot be set from a config file", f.Names()[0], f)
		}
	}
}

// A config file that cannot be right is refused in one line naming the
// file, the line and the key, with exit code 2, before anything is
// touched; so is --config with -r. Its values reach the flags (a snaplen
// of 0 from the file is refused as -s 0 is), and the command line wins.
func TestConfigFileRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, conf string
		args       []string
		want       string
	}{
		{"unknown key", "interfaces: 2001:db8:20::/48\n", nil, "line 1: interfaces: no such capture flag (the keys are the long flag names: interface, hook, write, file-size, ...)"},
		{"short name", "interface: 2001:db8:20::/48\nC: 100\n", nil, "line 2: C: write the flag's long name, file-size"},
		{"twice", "interface: 2001:db8:20::/48\nhook: in\nhook: xmit\n", nil, "line 3: hook: given twice"},
		{"not a number", "interface: 2001:db8:20::/48\nsnaplen: big\n", nil, `line 2: snaplen: "big" is not a whole number`},
		{"no value", "interface: 2001:db8:20::/48\nwrite:\n", nil, "line 2: write: no value (write the value after the colon, or leave the key out)"},
		{"a list for one value", "interface: 2001:db8:20::/48\nhook: [in, xmit]\n", nil, "line 2: hook: want a single value here"},
		{"not a bool", "interface: 2001:db8:20::/48\nquiet: sometimes\n", nil, `line 2: quiet: "sometimes": want true or false`},
		{"not a mapping", "- interface\n", nil, "line 1: want flag: value lines"},
		{"bad yaml", "interface: [2001:db8:20::/48\n", nil, "config "},
		{"value reaches the flag", "interface: 2001:db8:20::/48\nsnaplen: -1\n", nil, "-s -1: snaplen must be 1 to 262144"},
		{"command line wins", "interface: 2001:db8:20::/48\nsnaplen: 100\nhook: bogus\n", []string{"--hook", "tap"}, `--hook: unknown hook "tap"`},
		{"with -r", "interface: 2001:db8:20::/48\n", []string{"-r", "x.pcapng"}, "--config holds the flags of a capture: it cannot be given with -r"},
		{"bad metrics address", "interface: 2001:db8:20::/48\nmetrics: '[::1'\n", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".conf")
			if err := os.WriteFile(conf, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--config", conf}, tc.args...)
			code, _, stderr := runLwtdump(t, inProcess, args...)
			if tc.want == "" {
				return // only that it does not panic
			}
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, stderr %q; want 2 and one line with %q", code, stderr, tc.want)
			}
		})
	}
	code, _, stderr := runLwtdump(t, inProcess, "--config", filepath.Join(dir, "missing.conf"))
	if code != 2 || !strings.Contains(stderr, "missing.conf: no such file or directory") {
		t.Errorf("missing file: exit code %d, stderr %q", code, stderr)
	}
}

// The example shipped in the package reads, and sets what it says.
func TestExampleConfig(t *testing.T) {
	values, args, err := readConfigFile("../../scripts/package/example.conf", captureFlags(), func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if len(values) == 0 || len(args) == 0 {
		t.Fatalf("example.conf sets nothing: %v", values)
	}
	t.Logf("example.conf: %s", strings.Join(args, " "))
}

package main

import (
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/urfave/cli/v2"
)

// parseArgs parses a capture command line without running it.
func parseArgs(args ...string) (*captureConfig, error) {
	args = append([]string{"lwtdump"}, args...)
	app := newApp(args, io.Discard, io.Discard)
	var cfg *captureConfig
	app.Action = func(c *cli.Context) error {
		var err error
		cfg, err = parseCapture(c, args)
		return err
	}
	err := app.Run(args)
	return cfg, err
}

func TestParseRoutesHooksSIDs(t *testing.T) {
	cfg, err := parseArgs("-i", "2001:db8:20::/48@r1_h2,cookie=0xbeef", "-i", "203.0.113.0/24",
		"--hook", "in,out,xmit", "--srv6-sid", "2001:db8:f1::1", "--srv6-sid", "2001:db8:f1::2", "--cookie", "7", "--table", "100")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	wantTargets := []bpf.Target{
		{Prefix: netip.MustParsePrefix("2001:db8:20::/48"), Dev: "r1_h2", Cookie: 0xbeef, HasCookie: true},
		{Prefix: netip.MustParsePrefix("203.0.113.0/24")},
	}
	if !slices.Equal(o.Targets, wantTargets) {
		t.Errorf("targets %+v", o.Targets)
	}
	if !slices.Equal(o.Hooks, []sample.Hook{sample.HookIn, sample.HookOut, sample.HookXmit}) {
		t.Errorf("hooks %v", o.Hooks)
	}
	if !slices.Equal(o.SIDs, []netip.Addr{netip.MustParseAddr("2001:db8:f1::1"), netip.MustParseAddr("2001:db8:f1::2")}) {
		t.Errorf("SIDs %v", o.SIDs)
	}
	if o.Cookie != 7 || !o.HasCookie || o.Table != 100 {
		t.Errorf("cookie %d %v, table %d", o.Cookie, o.HasCookie, o.Table)
	}

	cfg, err = parseArgs("--srv6-sid", "2001:db8:f1::1")
	if err != nil || len(cfg.opts.Targets) != 0 || len(cfg.opts.SIDs) != 1 {
		t.Errorf("a SID alone: %+v, %v", cfg, err)
	}
}

func TestParseUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no route to capture: give one with -i PREFIX[@DEV]"},
		{[]string{"--srv6-sid", "192.0.2.1"}, `--srv6-sid "192.0.2.1" is not an IPv6 address`},
		{[]string{"--srv6-sid", "2001:db8:f1::1", "--srv6-sid", "2001:db8:f1::1"}, "--srv6-sid 2001:db8:f1::1 given twice"},
		{[]string{"-i", "2001:db8::/48", "--hook", "in,in"}, "--hook: lwt_in given twice"},
		{[]string{"-i", "2001:db8::/48", "--hook", "seg6local"}, `--hook: unknown hook "seg6local"`},
		{[]string{"-i", "2001:db8::/48,cookie=x"}, `cookie "x" is not a number`},
		{[]string{"-i", "2001:db8::/48", "--table", "0"}, "--table 0"},
		{[]string{"-i", "2001:db8::/48", "-s", "-1"}, "-s -1: snaplen must be 1 to 262144 (or 0: the whole packet)"},
		{[]string{"-i", "2001:db8::/48", "--stdout-timeout", "-1"}, "--stdout-timeout -1: give the seconds"},
		{[]string{"-i", "2001:db8::/48", "-a", "duration"}, "-a duration: give a condition as NAME:VALUE"},
		{[]string{"-i", "2001:db8::/48", "-a", "time:5"}, `-a time:5: unknown condition "time"`},
		{[]string{"-i", "2001:db8::/48", "-a", "duration:0"}, "-a duration:0: give the seconds"},
		{[]string{"-i", "2001:db8::/48", "-a", "duration:x"}, "-a duration:x: give the seconds"},
		{[]string{"-i", "2001:db8::/48", "-a", "packets:0"}, "-a packets:0: give a number of packets"},
		{[]string{"-i", "2001:db8::/48", "-a", "filesize:-3", "-w", "-"}, "-a filesize:-3: give a size in kB"},
		{[]string{"-i", "2001:db8::/48", "-a", "filesize:10"}, "-a filesize:10 needs -w"},
		{[]string{"-i", "2001:db8::/48", "-a", "files:3", "-w", "-"}, "-a files:3 needs -w FILE with -C or -G"},
		{[]string{"-i", "2001:db8::/48", "-a", "files:3", "-w", "/tmp/x.pcapng"}, "-a files:3 needs -w FILE with -C or -G"},
		{[]string{"-i", "2001:db8::/48", "-a", "packets:3", "-a", "packets:4"}, "packets given twice"},
	} {
		_, err := parseArgs(tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
}

// -s 0 is the whole packet, as in tcpdump; -a conditions and -c, and
// --stdout-timeout, are read into the capture's configuration.
func TestParseTcpdumpHabits(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		check func(*captureConfig) bool
	}{
		{[]string{"-s", "0"}, func(c *captureConfig) bool { return c.opts.Snaplen == bpf.MaxSnaplen }},
		{[]string{"-s", "96"}, func(c *captureConfig) bool { return c.opts.Snaplen == 96 }},
		{nil, func(c *captureConfig) bool {
			return c.stdoutTimeout == time.Minute && c.autostop.duration == 0 && c.count == 0
		}},
		{[]string{"--stdout-timeout", "0"}, func(c *captureConfig) bool { return c.stdoutTimeout == 0 }},
		{[]string{"-a", "duration:1.5"}, func(c *captureConfig) bool { return c.autostop.duration == 1500*time.Millisecond }},
		{[]string{"-a", "packets:7"}, func(c *captureConfig) bool { return c.count == 7 }},
		{[]string{"-a", "packets:7", "-c", "5"}, func(c *captureConfig) bool { return c.count == 5 }},
		{[]string{"-a", "packets:7", "-c", "9"}, func(c *captureConfig) bool { return c.count == 7 }},
		{[]string{"-w", "-", "-a", "filesize:3"}, func(c *captureConfig) bool { return c.autostop.fileSize == 3000 }},
		{[]string{"-w", dir + "/x.pcapng", "-C", "1", "-a", "files:4", "-a", "filesize:20"}, func(c *captureConfig) bool {
			return c.autostop.files == 4 && c.autostop.fileSize == 20000 && c.autostop.String("files") == "files:4"
		}},
		{[]string{"-A", "-l"}, func(c *captureConfig) bool { return c.print.ASCII && c.print.Unbuffered && !c.unbuffered }},
	} {
		cfg, err := parseArgs(append([]string{"-i", "2001:db8::/48"}, tc.args...)...)
		if err != nil || !tc.check(cfg) {
			t.Errorf("%q: %+v, %v", tc.args, cfg, err)
		}
	}
}

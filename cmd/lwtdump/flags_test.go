package main

import (
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

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
	} {
		_, err := parseArgs(tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
}

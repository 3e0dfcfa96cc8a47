package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/urfave/cli/v2"
)

// The filter expression comes from the arguments after the flags, joined
// by single spaces, or from -F FILE without its comments; it is compiled
// while the command line is read, and a mistake is a usage error.
func TestFilterFlags(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dns := file("dns", "# DNS only\nudp port 53   # queries and answers\n  and not host 2001:db8::53\n")
	empty := file("empty", "# nothing\n\n")
	for _, tc := range []struct {
		args    []string
		want    string // the expression, when the line is valid
		wantErr string
	}{
		{args: nil, want: ""},
		{args: []string{"udp"}, want: "udp"},
		{args: []string{"tcp", "port", "443", "or", "icmp6"}, want: "tcp port 443 or icmp6"},
		{args: []string{" tcp port\t443 ", "or\nicmp6"}, want: "tcp port 443 or icmp6"},
		{args: []string{"-q", "--", "ip6[6]", "=", "17"}, want: "ip6[6] = 17"},
		{args: []string{"-F", dns}, want: "udp port 53 and not host 2001:db8::53"},
		{args: []string{"-F", dns, "udp"}, wantErr: "lwtdump: -F " + dns + " and an expression on the command line: give the expression one way\n"},
		{args: []string{"-F", empty}, wantErr: "lwtdump: -F " + empty + ": the file holds no filter expression\n"},
		{args: []string{"-F", filepath.Join(dir, "missing")}, wantErr: "lwtdump: -F " + filepath.Join(dir, "missing") + ": no such file or directory\n"},
		{args: []string{"udp", "-c", "5"}, wantErr: "lwtdump: -c after the filter expression: write the flags first, the expression last\n"},
		{args: []string{"udp", "--snaplen=64"}, wantErr: "lwtdump: --snaplen=64 after the filter expression: write the flags first, the expression last\n"},
		{args: []string{"tcp", "prot", "80"}, wantErr: "lwtdump: filter expression \"tcp prot 80\": can't parse filter expression: syntax error\n"},
		{args: []string{"port 70000"}, wantErr: "lwtdump: filter expression \"port 70000\": illegal port number 70000 > 65535\n"},
		{args: []string{"ether host 2:0:0:0:0:1"}, wantErr: "lwtdump: filter expression \"ether host 2:0:0:0:0:1\": ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel\n"},
		{args: []string{"vlan 10"}, wantErr: "lwtdump: filter expression \"vlan 10\": no VLAN support for Raw IP\n"},
		{args: []string{"ip and ip6"}, wantErr: "lwtdump: filter expression \"ip and ip6\": expression rejects all packets\n"},
	} {
		var stdout, stderr bytes.Buffer
		var got *captureConfig
		args := append([]string{"lwtdump", "-i", "2001:db8:20::/48"}, tc.args...)
		app := newApp(args, &stdout, &stderr)
		app.Action = func(c *cli.Context) error {
			cfg, err := parseCapture(c, args)
			got = cfg
			return err
		}
		// As run does, with the app whose action stops after parsing.
		code := exitOK
		if err := app.Run(args); err != nil {
			stderr.WriteString("lwtdump: " + oneLine(err) + "\n")
			code = exitFailure
			var ue usageError
			if errors.As(err, &ue) {
				code = exitUsage
			}
		}
		if tc.wantErr != "" {
			if code != exitUsage || stderr.String() != tc.wantErr {
				t.Errorf("%q: exit %d, stderr %q; want %d, %q", tc.args, code, stderr.String(), exitUsage, tc.wantErr)
			}
			continue
		}
		if code != exitOK || got == nil {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, stderr.String())
			continue
		}
		if got.opts.Filter != tc.want || (tc.want != "") != (got.opts.FilterProgram != nil) {
			t.Errorf("%q: filter %q (program of %d instructions), want %q", tc.args, got.opts.Filter, len(got.opts.FilterProgram), tc.want)
		}
	}
}

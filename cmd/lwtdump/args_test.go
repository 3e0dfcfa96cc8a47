package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// tcpdumpArgs splits clusters of one-letter flags and cuts glued values
// off, and touches nothing else: not the filter expression, the files
// after -r, a subcommand's arguments, --long=value, -name=value, or the
// value that follows a flag taking one.
func TestTcpdumpArgs(t *testing.T) {
	flags := setUpApp().Flags
	for _, tc := range []struct {
		in, want string // space-separated, after "lwtdump"
	}{
		{"-s0", "-s 0"},
		{"-c1", "-c 1"},
		{"-w-", "-w -"},
		{"-w- -U", "-w - -U"},
		{"-ttt", "-t -t -t"},
		{"-vv", "-v -v"},
		{"-nn", "-n -n"},
		{"-nnvc5", "-n -n -v -c 5"},
		{"-nnc 5", "-n -n -c 5"},
		{"-nX", "-n -X"},
		{"-nA -l", "-n -A -l"},
		{"-S", "-S"},
		{"-Uw out.pcapng", "-U -w out.pcapng"},
		{"-c5n", "-c 5n"}, // the value is the rest of the cluster, as in tcpdump
		{"-i2001:db8:20::/48@r1_h2", "-i 2001:db8:20::/48@r1_h2"},
		{"-rcap.pcapng -ttttt", "-r cap.pcapng -t -t -t -t -t"},
		{"-Z nobody -zgzip", "-Z nobody -z gzip"},
		{"-a duration:5 -a packets:3", "-a duration:5 -a packets:3"},
		{"-aduration:5", "-a duration:5"},
		// Whole names, one dash or two, and values after = are left alone.
		{"-snaplen 0 --count=5 -count=7 --write - -hook=in", "-snaplen 0 --count=5 -count=7 --write - -hook=in"},
		{"--stdout-timeout 0", "--stdout-timeout 0"},
		// The value of a flag that takes one is never split, even when it
		// looks like flags.
		{"-w -nn -c5", "-w -nn -c 5"},
		{"-i -c5", "-i -c5"},
		{"--write -c5", "--write -c5"},
		{"-c -1", "-c -1"},
		{"-F -nn", "-F -nn"},
		// The filter expression, files and subcommands are left alone.
		{"-i 2001:db8::/48 -nn icmp6 and -ttt", "-i 2001:db8::/48 -n -n icmp6 and -ttt"},
		{"-r a.pcapng b.pcapng -nn", "-r a.pcapng b.pcapng -nn"},
		{"-- -nn", "-- -nn"},
		{"stats -nn x", "stats -nn x"},
		{"-v stats --json", "-v stats --json"},
		{"- -c5", "- -c5"},
		// A letter that is no flag, alone, is left to urfave/cli, which names it.
		{"-g", "-g"},
		{"--colour", "--colour"},
		{"-h", "-h"},
		{"--help", "--help"},
		{"--version", "--version"},
		{"", ""},
	} {
		args := append([]string{"lwtdump"}, strings.Fields(tc.in)...)
		got, err := tcpdumpArgs(args, flags)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if want := append([]string{"lwtdump"}, strings.Fields(tc.want)...); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", tc.in, got[1:], want[1:])
		}
	}
}

// tcpdump's flags that mean nothing for a route capture are refused with
// the reason, as one-letter flags, in a cluster, and by tcpdump's long
// names: a usage error, which names the flag as it was typed. So is a
// letter in a cluster that is no flag.
func TestTcpdumpArgsRefused(t *testing.T) {
	flags := setUpApp().Flags
	for _, tc := range []struct {
		in, says string
	}{
		{"-D", "-D: lwtdump captures routes, not interfaces: `ip route` and `ip -6 route` list the routes"},
		{"--list-interfaces", "--list-interfaces: lwtdump captures routes, not interfaces"},
		{"-e", "-e: packets at a route's hooks have no link-level header"},
		{"-nne", "-e: packets at a route's hooks have no link-level header"},
		{"-p", "-p: a route capture has no promiscuous mode"},
		{"--no-promiscuous-mode", "--no-promiscuous-mode: a route capture has no promiscuous mode"},
		{"-I", "-I: monitor mode is for Wi-Fi interfaces"},
		{"-y EN10MB", "-y: packets at a route's hooks begin with the IP header"},
		{"-yRAW", "-y: packets at a route's hooks begin with the IP header"},
		{"--linktype=RAW", "--linktype: packets at a route's hooks begin with the IP header"},
		{"-L", "-L: packets at a route's hooks begin with the IP header"},
		{"-j adapter", "-j: time stamps come from the kernel's clock at the hook"},
		{"-J", "-J: time stamps come from the kernel's clock"},
		{"-Q in", "-Q: a route capture picks the direction by hook: --hook in"},
		{"--direction=out", "--direction: a route capture picks the direction by hook"},
		{"-H", "-H: 802.11s mesh headers are link-level headers"},
		{"-i 2001:db8::/48 -c5 -p", "-p: a route capture has no promiscuous mode"},
		{"-r x.pcapng -e", "-e: packets at a route's hooks have no link-level header"},
		// A letter that is no flag in a cluster is named.
		{"-nk", "flag provided but not defined: -k (in -nk)"},
		{"-nxx", "flag provided but not defined: -x (in -nxx)"},
	} {
		args := append([]string{"lwtdump"}, strings.Fields(tc.in)...)
		_, err := tcpdumpArgs(args, flags)
		var ue usageError
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tc.says) {
			t.Errorf("%q: error %v, want a usage error starting %q", tc.in, err, tc.says)
		}
	}
	// Not where they are no flag: in the expression, after the files, as a value.
	for _, in := range []string{"-i 2001:db8::/48 ip6 and -e", "-r x.pcapng y.pcapng -p", "-w -p", "-F -D"} {
		if _, err := tcpdumpArgs(append([]string{"lwtdump"}, strings.Fields(in)...), flags); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// lwtdump help and lwtdump version are commands, not filter expressions.
func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "lwtdump -i PREFIX[@DEV][,cookie=N]"},
		{[]string{"help", "stats"}, "lwtdump stats"},
		{[]string{"-h"}, "GLOBAL OPTIONS"},
		{[]string{"version"}, "lwtdump version " + version + "\n"},
		{[]string{"--version"}, "lwtdump version " + version + "\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"lwtdump"}, tc.args...), &stdout, &stderr)
		if code != 0 || stderr.Len() > 0 || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q, stdout (want %q):\n%s", tc.args, code, stderr.String(), tc.want, stdout.String())
		}
	}
}

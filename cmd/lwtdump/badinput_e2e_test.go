package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Every bad command line gets exit code 2 (or 1 for a refusal at run time),
// exactly one line on stderr naming the problem, and leaves the route table
// as it was.
func TestBadCommandLines(t *testing.T) {
	tb := newTestbed(t)
	// Routes lwtdump must refuse to change.
	tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:30::/48", "encap", "seg6", "mode", "encap", "segs", "2001:db8:2::1", "dev", "r1_h2")
	tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:31::/48", "nexthop", "encap", "seg6", "mode", "encap", "segs", "2001:db8:f1::1", "via", "2001:db8:2::1", "dev", "r1_h2", "nexthop", "via", "2001:db8:1::1", "dev", "r1_h1")
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o755)
	if err := syscall.Mount("tmpfs", readOnly, "tmpfs", syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Fatalf("mount read-only tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(readOnly, 0) })
	notADir := filepath.Join(dir, "file")
	os.WriteFile(notADir, []byte("x"), 0o600)
	garbage := filepath.Join(dir, "garbage.pcapng")
	os.WriteFile(garbage, []byte("this is not a capture, but it is long enough to be read as one"), 0o600)
	noCaptures := filepath.Join(dir, "notes") // -r of a directory reads its captures: here there are none
	os.Mkdir(noCaptures, 0o700)
	os.WriteFile(filepath.Join(noCaptures, "notes.txt"), []byte("not a capture\n"), 0o600)
	out := filepath.Join(dir, "out.pcapng")
	ns := []string{"--netns", tb.r1}
	route := []string{"-i", "2001:db8:20::/48"}
	before := tb.routes(tb.r1)

	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no route given", []string{"-w", out}, 2, "no route to capture"},
		{"not a prefix", []string{"-i", "foo"}, 2, `"foo" is not an IPv4 or IPv6 prefix`},
		{"bad IPv6 prefix", []string{"-i", "2001:db8::/129"}, 2, "not an IPv4 or IPv6 prefix"},
		{"bad IPv4 prefix", []string{"-i", "192.0.2.0/33"}, 2, "not an IPv4 or IPv6 prefix"},
		{"host bits set", []string{"-i", "2001:db8:20::1/48"}, 2, "host bits set"},
		{"empty device", []string{"-i", "2001:db8:20::/48@"}, 2, "empty device"},
		{"unknown option in route", []string{"-i", "2001:db8:20::/48,colour=red"}, 2, `unknown option "colour"`},
		{"bad cookie in route", []string{"-i", "2001:db8:20::/48,cookie=zz"}, 2, `cookie "zz" is not a number`},
		{"route twice", []string{"-i", "2001:db8:20::/48", "-i", "2001:db8:20::/48"}, 2, "given twice"},
		{"unknown hook", append(route, "--hook", "sideways"), 2, `unknown hook "sideways"`},
		{"hook twice", append(route, "--hook", "xmit,xmit"), 2, "given twice"},
		{"snaplen negative", append(route, "-s", "-1"), 2, "snaplen must be 1 to 262144"},
		{"snaplen too big", append(route, "-s", "262145"), 2, "snaplen must be 1 to 262144"},
		{"bad cookie", append(route, "--cookie", "beef"), 2, `--cookie "beef" is not a number`},
		{"table 0", append(route, "--table", "0"), 2, "--table 0"},
		{"buffer too small", append(route, "-B", "0"), 2, "-B 0"},
		{"negative count", append(route, "-c", "-1"), 2, `invalid value "-1" for flag -c`},
		{"unknown flag", append(route, "--colour"), 2, "flag provided but not defined: -colour"},
		{"unknown short flag", append(route, "-g"), 2, "flag provided but not defined: -g"},
		{"glued count not a number", append(route, "-c5x"), 2, `invalid value "5x" for flag -c`},
		{"unknown letter in a cluster", append(route, "-nk"), 2, "flag provided but not defined: -k (in -nk)"},
		{"link-level header", append(route, "-e"), 2, "-e: packets at a route's hooks have no link-level header"},
		{"link-level header in a cluster", append(route, "-nne"), 2, "-e: packets at a route's hooks have no link-level header"},
		{"promiscuous mode", append(route, "-p"), 2, "-p: a route capture has no promiscuous mode"},
		{"list interfaces", []string{"-D"}, 2, "-D: lwtdump captures routes, not interfaces: `ip route` and `ip -6 route` list the routes"},
		{"list interfaces, long", []string{"--list-interfaces"}, 2, "--list-interfaces: lwtdump captures routes, not interfaces"},
		{"monitor mode", append(route, "-I"), 2, "-I: monitor mode is for Wi-Fi interfaces"},
		{"link type", append(route, "-y", "EN10MB"), 2, "-y: packets at a route's hooks begin with the IP header"},
		{"list link types", append(route, "-L"), 2, "-L: packets at a route's hooks begin with the IP header"},
		{"time stamp type", append(route, "-j", "adapter"), 2, "-j: time stamps come from the kernel's clock at the hook"},
		{"direction", append(route, "-Q", "in"), 2, "-Q: a route capture picks the direction by hook: --hook in"},
		{"unknown autostop condition", append(route, "-a", "time:5"), 2, `-a time:5: unknown condition "time"`},
		{"autostop files on stdout", append(route, "-w", "-", "-a", "files:2"), 2, "-a files:2 needs -w FILE with -C or -G"},
		{"autostop filesize of printed lines", append(route, "-a", "filesize:10"), 2, "-a filesize:10 needs -w"},
		{"negative stdout timeout", append(route, "--stdout-timeout", "-1"), 2, "--stdout-timeout -1: give the seconds"},
		{"argument to version", []string{"version", "now"}, 2, `version: unexpected argument "now"`},
		{"flag without value", []string{"-i"}, 2, "flag needs an argument: -i"},
		{"size 0", append(route, "-w", out, "-C", "0"), 2, "-C 0"},
		{"negative time", append(route, "-w", out, "-G", "-5"), 2, "-G"},
		{"count without size or time", append(route, "-w", out, "-W", "3"), 2, "-W"},
		{"rotation of stdout", append(route, "-w", "-", "-C", "1"), 2, "-C"},
		{"bad file mode", append(route, "-w", out, "--file-mode", "999"), 2, "--file-mode 999"},
		{"post-rotate program missing", append(route, "-w", out, "-C", "1", "-z", "/no/such/program"), 2, "-z /no/such/program"},
		{"output directory missing", append(route, "-w", filepath.Join(dir, "missing", "out.pcapng")), 2, "does not exist"},
		{"output is a directory", append(route, "-w", dir), 2, "is a directory"},
		{"output under a file", append(route, "-w", filepath.Join(notADir, "out.pcapng")), 2, "is not a directory"},
		{"output directory read-only", append(route, "-w", filepath.Join(readOnly, "out.pcapng")), 2, "is not writable"},
		{"unknown netns", []string{"--netns", "lwtdump-no-such-netns", "-i", "2001:db8:20::/48"}, 2, `netns "lwtdump-no-such-netns": no such network namespace`},
		{"unknown device", append(ns, "-i", "2001:db8:40::/48@nodev0"), 2, `no such device "nodev0"`},
		{"no route and no device", append(ns, "-i", "2001:db8:40::/48"), 2, "no route to 2001:db8:40::/48 in table 254"},
		{"route through another device", append(ns, "-i", "2001:db8:20::/48@r1_h1"), 2, "goes through r1_h2, not r1_h1"},
		{"route with a seg6 encap", append(ns, "-i", "2001:db8:30::/48"), 2, "already has an encap (seg6)"},
		{"multipath route with an encap", append(ns, "-i", "2001:db8:31::/48"), 2, "already has an encap (seg6) on path 1"},
		{"garbage capture file", []string{"-r", garbage}, 1, "not a pcap or pcapng capture"},
		{"directory without captures", []string{"-r", noCaptures}, 2, "the directory holds no capture"},
		{"missing capture file", []string{"-r", filepath.Join(dir, "missing.pcapng")}, 1, "no such file or directory"},
		{"read and capture at once", []string{"-r", garbage, "-i", "2001:db8:20::/48"}, 2, "-r and -i are mutually exclusive"},
		{"unknown user", append(route, "-Z", "no-such-user-lwtdump"), 2, "-Z no-such-user-lwtdump: no such user"},
		{"unknown transport", append(route, "--transport", "pigeon"), 2, `unknown transport "pigeon"`},
		{"no route in another table", append(ns, "-i", "2001:db8:20::/48", "--table", "100"), 2, "no route to 2001:db8:20::/48 in table 100"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !slices.Contains(args, "-r") { // -r refuses capture-only flags
				args = append([]string{"--state-dir", tb.stateDir}, args...)
			}
			code, stdout, stderr := runLwtdump(t, launch{}, args...)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if code != tc.code || len(lines) != 1 || !strings.HasPrefix(lines[0], "lwtdump: ") || !strings.Contains(lines[0], tc.says) {
				t.Errorf("lwtdump %s\nexit %d, want %d; stderr (want one line with %q):\n%s", strings.Join(tc.args, " "), code, tc.code, tc.says, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
			tb.requireRoutes(tb.r1, before)
		})
	}
}

// A route already captured by a running lwtdump is refused by a second one,
// which names the first one's pid and leaves the route to it.
func TestSecondCaptureRefused(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	first := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "first.pcapng"))
	during := tb.routes(tb.r1)
	code, _, stderr := runLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(t.TempDir(), "second.pcapng"))
	if want := "is being captured by lwtdump pid " + strconv.Itoa(first.cmd.Process.Pid); code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("second lwtdump: exit %d, stderr %q; want exit 1 and one line with %q", code, stderr, want)
	}
	tb.requireRoutes(tb.r1, during) // the first one's program is still there
	if got := tb.ping(tb.h1, "2001:db8:20::1", 2); got != 2 {
		t.Fatalf("%d of 2 pings answered", got)
	}
	if code := first.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("first lwtdump: exit %d\nstderr: %s", code, first.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
}

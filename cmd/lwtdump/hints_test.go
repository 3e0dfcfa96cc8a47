package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/lwtdump/lwtdump/bpf"
)

// The errors of package bpf reach the user with the command line's advice,
// in the words lwtdump has always used, wherever they sit in the error.
func TestErrorHints(t *testing.T) {
	route := netip.MustParsePrefix("2001:db8:40::/48")
	sid := netip.MustParsePrefix("2001:db8:f1::1/128")
	busy := &bpf.TargetError{Kind: bpf.ErrBusy, Prefix: netip.MustParsePrefix("203.0.113.0/24"), Table: 254, Pid: 4242}
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{{
		"no such device", usageError{errors.Join(&bpf.TargetError{Kind: bpf.ErrNoDevice, Prefix: route, Table: 254, Netns: "r1", Dev: "nodev0"}, nil)}, 2,
		`route 2001:db8:40::/48: no such device "nodev0" of netns r1 (ip link lists the devices)`,
	}, {
		"no route", usageError{&bpf.TargetError{Kind: bpf.ErrNoRoute, Prefix: route, Table: 254}}, 2,
		"no route to 2001:db8:40::/48 in table 254: capture an existing route, or add one for the capture with -i 2001:db8:40::/48@DEV",
	}, {
		"no route for a SID", usageError{&bpf.TargetError{Kind: bpf.ErrNoRoute, Prefix: sid, SID: true, Table: 100, Netns: "r1"}}, 2,
		"no route: no seg6local route for SID 2001:db8:f1::1 in table 100 of netns r1: add one with `ip -6 route add 2001:db8:f1::1 encap seg6local action End dev DEV`",
	}, {
		"a route to add, for a capability holder", &bpf.TargetError{Kind: bpf.ErrExistingOnly, Prefix: route, Table: 254, Dev: "r1_h2"}, 1,
		"no route to 2001:db8:40::/48 in table 254, and this capture may only take existing routes, not add one through r1_h2: " + forCapturingOnly() + "; root may add a route for the capture",
	}, {
		"another device", usageError{&bpf.TargetError{Kind: bpf.ErrOtherDevice, Prefix: netip.MustParsePrefix("2001:db8:20::/48"), Table: 254, Dev: "r1_h1", RouteDev: "r1_h2"}}, 2,
		"route 2001:db8:20::/48 in table 254 goes through r1_h2, not r1_h1: drop @r1_h1 to capture it as it is",
	}, {
		"busy", errors.Join(busy, nil), 1,
		"route 203.0.113.0/24 is being captured by lwtdump pid 4242: stop that capture first",
	}, {
		"stale", &bpf.TargetError{Kind: bpf.ErrStale, Prefix: netip.MustParsePrefix("203.0.113.0/24"), Table: 254, Pid: 4242}, 1,
		"route 203.0.113.0/24 still carries the programs of lwtdump pid 4242, which is gone: run `lwtdump cleanup` first",
	}, {
		"missing capabilities", &bpf.PrivilegeError{Missing: []string{"CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}}, 1,
		"permission denied: lwtdump needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (missing CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN (for --netns)): " +
			"root can grant them to the group of users who capture: `chown root:GROUP lwtdump; chmod 0750 lwtdump; setcap cap_bpf,cap_perfmon,cap_net_admin,cap_sys_admin+ep lwtdump`",
	}, {
		"missing one capability", &bpf.PrivilegeError{Missing: []string{"CAP_NET_ADMIN"}}, 1,
		"permission denied: lwtdump needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (missing CAP_NET_ADMIN): " +
			"root can grant them to the group of users who capture: `chown root:GROUP lwtdump; chmod 0750 lwtdump; setcap cap_bpf,cap_perfmon,cap_net_admin+ep lwtdump`",
	}, {
		"refused by the kernel", fmt.Errorf("create ring buffer reader: %w", fmt.Errorf("%w (%v)", bpf.ErrPermission, syscall.EPERM)), 1,
		"create ring buffer reader: permission denied: lwtdump needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (operation not permitted)",
	}, {
		"nothing to capture", bpf.ErrNothingToCapture, 1,
		"nothing to capture: give a route with -i PREFIX[@DEV] or a SID with --srv6-sid",
	}, {
		"joined with another error", errors.Join(errors.New("restore route 2001:db8:20::/48: boom"), busy), 1,
		"restore route 2001:db8:20::/48: boom; route 203.0.113.0/24 is being captured by lwtdump pid 4242: stop that capture first",
	}, {
		"no advice", errors.New("route 2001:db8:20::/48 is multipath: route cannot be restored exactly"), 1,
		"route 2001:db8:20::/48 is multipath: route cannot be restored exactly",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			code := exitCode(tc.err, &stderr)
			if want := "lwtdump: " + tc.want + "\n"; code != tc.code || stderr.String() != want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", code, stderr.String(), tc.code, want)
			}
			if hinted := withHints(tc.err); !errors.Is(hinted, tc.err) {
				t.Errorf("errors.Is does not find the error behind its hints")
			}
		})
	}
}

// lwtdump cleanup prints each step with what would do what it left undone.
func TestStepLines(t *testing.T) {
	for _, tc := range []struct {
		step bpf.Step
		root bool // lwtdump runs for root
		want string
	}{{
		bpf.Step{Note: "state file /run/lwtdump/4242.json of lwtdump pid 4242 was written in another network namespace (net:[4026532001])", Remedy: bpf.RemedyNetns},
		true, "state file /run/lwtdump/4242.json of lwtdump pid 4242 was written in another network namespace (net:[4026532001]): run lwtdump cleanup inside it, or with --netns NAME",
	}, {
		bpf.Step{Netns: "r1", Route: "192.0.2.128/25 table 254", Note: "was added by lwtdump pid 4242, which is gone, and no state file records it", Remedy: bpf.RemedyStripDelete},
		true, "route 192.0.2.128/25 table 254 in netns r1: was added by lwtdump pid 4242, which is gone, and no state file records it: run `lwtdump cleanup --strip` to delete it",
	}, {
		bpf.Step{Netns: "r1", Route: "192.0.2.128/25 table 254", Note: "was added by lwtdump pid 4242, which is gone, and no state file records it", Remedy: bpf.RemedyStripDelete},
		false, "route 192.0.2.128/25 table 254 in netns r1: was added by lwtdump pid 4242, which is gone, and no state file records it: " +
			"`lwtdump cleanup` as root replays its state file, if another user's lwtdump wrote one, or strips it with --strip",
	}, {
		bpf.Step{Route: "2001:db8:20::/48 table 254", Note: "carries the programs of lwtdump pid 4242, which is gone, and no state file records the original", Remedy: bpf.RemedyStrip},
		true, "route 2001:db8:20::/48 table 254: carries the programs of lwtdump pid 4242, which is gone, and no state file records the original: " +
			"lwtdump only captures routes without an encap (and SIDs that are a bare End), so `lwtdump cleanup --strip` puts back the same route without it",
	}, {
		bpf.Step{Route: "2001:db8:20::/48 table 254", Done: true, Note: "restored (lwtdump pid 4242 had replaced it)"},
		true, "route 2001:db8:20::/48 table 254: restored (lwtdump pid 4242 had replaced it)",
	}, {
		bpf.Step{Route: "2001:db8:20::/48 table 254", Done: true, Note: "restored (lwtdump pid 4242 had replaced it)"},
		false, "route 2001:db8:20::/48 table 254: restored (lwtdump pid 4242 had replaced it)",
	}} {
		if got := stepLine(tc.step, tc.root); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// An extcap capture words its advice for Wireshark's options dialog, whose
// Routes field takes PREFIX@DEV, not for the command line; and the command
// line's advice is not worked in again on top.
func TestErrorHintsExtcap(t *testing.T) {
	route := netip.MustParsePrefix("2001:db8:21::/64")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{usageError{&bpf.TargetError{Kind: bpf.ErrNoRoute, Prefix: route, Table: 254, Netns: "r1"}},
			"no route to 2001:db8:21::/64 in table 254 of netns r1: capture an existing route, or add one for the capture: give 2001:db8:21::/64@DEV in Routes"},
		{errors.Join(bpf.ErrNothingToCapture, nil), "nothing to capture: give a route in Routes, such as 2001:db8:20::/48"},
	} {
		var stderr strings.Builder
		err := withHintsFor(tc.err, extcapDialog)
		exitCode(err, &stderr)
		if got := stderr.String(); got != "lwtdump: "+tc.want+"\n" || strings.Contains(got, "-i ") {
			t.Errorf("got  %swant lwtdump: %s", got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("errors.Is does not find the error behind its hints")
		}
	}
}

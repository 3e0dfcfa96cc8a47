package bpf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// cliWords are the command line's: the errors of this package say what
// is wrong, and leave the advice to their caller.
var cliWords = []string{" -i ", "@DEV", "--", "lwtdump cleanup", "setcap", "ip link", "ip -6", "root"}

func checkLibraryTerms(t *testing.T, text string) {
	t.Helper()
	for _, w := range cliWords {
		if strings.Contains(text, w) {
			t.Errorf("%q speaks of %q", text, w)
		}
	}
}

// A TargetError says what it found, and errors.Is and BadTarget tell its kind.
func TestTargetError(t *testing.T) {
	route := netip.MustParsePrefix("2001:db8:40::/48")
	for _, tc := range []struct {
		err  *TargetError
		want string
		bad  bool // BadTarget: the targets need changing
	}{
		{&TargetError{Kind: ErrNoDevice, Prefix: route, Table: 254, Netns: "r1", Dev: "nodev0"}, `route 2001:db8:40::/48: no such device "nodev0" of netns r1`, true},
		{&TargetError{Kind: ErrNoRoute, Prefix: route, Table: 100}, "no route to 2001:db8:40::/48 in table 100", true},
		{&TargetError{Kind: ErrNoRoute, Prefix: netip.MustParsePrefix("2001:db8:f1::1/128"), SID: true, Table: 254, Netns: "r1"}, "no route: no seg6local route for SID 2001:db8:f1::1 in table 254 of netns r1", true},
		{&TargetError{Kind: ErrOtherDevice, Prefix: route, Table: 254, Dev: "r1_h1", RouteDev: "r1_h2"}, "route 2001:db8:40::/48 in table 254 goes through r1_h2, not r1_h1", true},
		{&TargetError{Kind: ErrExistingOnly, Prefix: route, Table: 254, Netns: "r1", Dev: "r1_h2"}, "no route to 2001:db8:40::/48 in table 254 of netns r1, and this capture may only take existing routes, not add one through r1_h2", false},
		{&TargetError{Kind: ErrBusy, Prefix: route, Table: 254, Pid: 4242}, "route 2001:db8:40::/48 is being captured by lwtdump pid 4242", false},
		{&TargetError{Kind: ErrStale, Prefix: route, Table: 254, Pid: 4242}, "route 2001:db8:40::/48 still carries the programs of lwtdump pid 4242, which is gone", false},
	} {
		err := errors.Join(tc.err, nil) // as Start returns it
		if got := err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
		checkLibraryTerms(t, err.Error())
		if !errors.Is(err, tc.err.Kind) {
			t.Errorf("%q: errors.Is does not find %v", err, tc.err.Kind)
		}
		var te *TargetError
		if !errors.As(err, &te) || te != tc.err {
			t.Errorf("%q: errors.As does not find the TargetError", err)
		}
		if BadTarget(err) != tc.bad {
			t.Errorf("%q: BadTarget %v, want %v", err, !tc.bad, tc.bad)
		}
	}
}

func TestPrivilegeError(t *testing.T) {
	err := &PrivilegeError{Missing: []string{"CAP_BPF", "CAP_SYS_ADMIN"}}
	want := "permission denied: needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (missing CAP_BPF, CAP_SYS_ADMIN (to enter a named network namespace))"
	if err.Error() != want {
		t.Errorf("%q, want %q", err, want)
	}
	checkLibraryTerms(t, err.Error())
	checkLibraryTerms(t, ErrNothingToCapture.Error())
	if !errors.Is(err, ErrPermission) {
		t.Errorf("errors.Is does not find ErrPermission")
	}
	if err.Missing[1] != "CAP_SYS_ADMIN" {
		t.Errorf("Error changed Missing: %v", err.Missing)
	}
}

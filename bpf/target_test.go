package bpf

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		err  string
	}{
		{in: "2001:db8:20::/48", want: Target{Prefix: netip.MustParsePrefix("2001:db8:20::/48")}},
		{in: "2001:db8:20::/48@r1_h2", want: Target{Prefix: netip.MustParsePrefix("2001:db8:20::/48"), Dev: "r1_h2"}},
		{in: "2001:db8:20::/48@r1_h2,cookie=0xbeef", want: Target{Prefix: netip.MustParsePrefix("2001:db8:20::/48"), Dev: "r1_h2", Cookie: 0xbeef, HasCookie: true}},
		{in: "203.0.113.0/24,cookie=42", want: Target{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Cookie: 42, HasCookie: true}},
		{in: "192.0.2.1", want: Target{Prefix: netip.MustParsePrefix("192.0.2.1/32")}},
		{in: "203.0.113.1/24", err: "has host bits set (did you mean 203.0.113.0/24?)"},
		{in: "2001:db8::/48@", err: "empty device after @"},
		{in: "2001:db8::/48,cookie=x", err: `cookie "x" is not a number`},
		{in: "2001:db8::/48,mark=1", err: `unknown option "mark"`},
		{in: "cookie=0xbeef", err: "is not an IPv4 or IPv6 prefix"},
	} {
		got, err := ParseTarget(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTarget(%q): error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseTarget(%q): %v", tc.in, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("ParseTarget(%q) = %+v, want %+v", tc.in, got, tc.want)
		case tc.err == "":
			if back, err := ParseTarget(got.String()); err != nil || back != got {
				t.Errorf("ParseTarget(%q).String() = %q, which parses back to %+v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

package main

import (
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

func TestGapSummary(t *testing.T) {
	const s = int64(1_795_600_000_000_000_000)
	now := time.Unix(0, s+10e9)
	for _, tc := range []struct {
		routes []bpf.RouteGaps
		want   string
	}{
		{nil, ""},
		{[]bpf.RouteGaps{{Route: "2001:db8:20::/48", Gaps: []sample.Gap{{Start: s, End: s + 1_200_000_000}, {Start: s + 2e9, End: s + 4e9}}}},
			", 2 gaps at 2001:db8:20::/48 (3.2 s)"},
		{[]bpf.RouteGaps{
			{Route: "2001:db8:20::/48", Gaps: []sample.Gap{{Start: s, End: s + 4_000_000}}},
			{Route: "203.0.113.0/24", Gaps: []sample.Gap{{Start: s + 9_600_000_000}}},
		}, ", 1 gap at 2001:db8:20::/48 (0.004 s), 1 gap at 203.0.113.0/24 (0.400 s, not back at exit)"},
	} {
		if got := gapSummary(tc.routes, now); got != tc.want {
			t.Errorf("gapSummary = %q, want %q", got, tc.want)
		}
	}
}

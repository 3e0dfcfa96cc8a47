package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
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

// A route change is one key=value line with the route, table and metric
// apart, and the gap it opened or closed another; in human form, the
// notice's own line.
func TestLogRouteNotice(t *testing.T) {
	const s = int64(1_795_600_000_123_456_789)
	at := time.Unix(0, s).UTC()
	notice := func(text string, gap *sample.Gap) bpf.RouteNotice {
		return bpf.RouteNotice{Time: at, Route: "2001:db8:20::/48 (table 254, metric 1024)", Text: text,
			Prefix: "2001:db8:20::/48", Table: 254, Metric: 1024, Gap: gap}
	}
	const line = "level=warning event=route_changed route=2001:db8:20::/48 table=254 metric=1024 at=2026-11-25T09:46:40.123Z msg="
	for _, tc := range []struct {
		name   string
		format eventlog.Format
		n      bpf.RouteNotice
		want   string
	}{
		{"removed", eventlog.KeyValue, notice("removed by ip (pid 7): capture paused until a route to 2001:db8:20::/48 comes back",
			&sample.Gap{Start: s, Cause: "route removed by ip (pid 7)"}),
			line + `"removed by ip (pid 7): capture paused until a route to 2001:db8:20::/48 comes back"` + "\n" +
				`level=warning event=gap route=2001:db8:20::/48 table=254 metric=1024 state=open from=2026-11-25T09:46:40.123456789Z cause="route removed by ip (pid 7)"` + "\n"},
		{"back", eventlog.KeyValue, notice("back, added by ip (pid 8): via 2001:db8:2::1 dev r1_h2; captured again after a gap of 1.2 s",
			&sample.Gap{Start: s, End: s + 1_200_000_000, Cause: "route removed by ip (pid 7)", Back: "via 2001:db8:2::1 dev r1_h2"}),
			line + `"back, added by ip (pid 8): via 2001:db8:2::1 dev r1_h2; captured again after a gap of 1.2 s"` + "\n" +
				`level=info event=gap route=2001:db8:20::/48 table=254 metric=1024 state=closed from=2026-11-25T09:46:40.123456789Z to=2026-11-25T09:46:41.323456789Z seconds=1.200 cause="route removed by ip (pid 7)" back="via 2001:db8:2::1 dev r1_h2"` + "\n"},
		{"no gap", eventlog.KeyValue, notice("replaced again by ip (pid 9): metric 1024", nil),
			line + `"replaced again by ip (pid 9): metric 1024"` + "\n"},
		{"human", eventlog.Human, notice("removed by ip (pid 7): capture paused", &sample.Gap{Start: s}),
			"lwtdump: 09:46:40.123 route 2001:db8:20::/48 (table 254, metric 1024) removed by ip (pid 7): capture paused\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			log := eventlog.New(&b, tc.format)
			logRouteNotice(log, tc.n)
			got := regexp.MustCompile(`(?m)^time=\S+ `).ReplaceAllString(b.String(), "") // the time the line was written
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

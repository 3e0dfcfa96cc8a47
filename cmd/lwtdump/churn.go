package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
)

// logRouteNotice says each change another process makes to a captured
// route, as one line, as it happens (the Logger keeps lines whole).
func logRouteNotice(log *eventlog.Logger, n bpf.RouteNotice) {
	log.Event(eventlog.Warning, "route_changed", n.String(),
		slog.String("route", n.Route), slog.Time("time", n.Time), slog.String("msg", n.Text))
}

// gapCount is the number of gaps of every route.
func gapCount(routes []bpf.RouteGaps) int {
	n := 0
	for _, r := range routes {
		n += len(r.Gaps)
	}
	return n
}

// gapSummary is what the summary line says of the routes' gaps, such as
// ", 2 gaps at 2001:db8:20::/48 (3.2 s)", or "" when there were none. A gap
// still open at the end counts up to now.
func gapSummary(routes []bpf.RouteGaps, now time.Time) string {
	var b strings.Builder
	for _, r := range routes {
		var total time.Duration
		open := false
		for _, g := range r.Gaps {
			end := g.End
			if end == 0 {
				end, open = now.UnixNano(), true
			}
			total += time.Duration(max(end-g.Start, 0))
		}
		noun := "gaps"
		if len(r.Gaps) == 1 {
			noun = "gap"
		}
		fmt.Fprintf(&b, ", %d %s at %s (%s", len(r.Gaps), noun, r.Route, seconds(total))
		if open {
			b.WriteString(", not back at exit")
		}
		b.WriteString(")")
	}
	return b.String()
}

// seconds writes a duration as "3.2 s", or "0.004 s" below a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

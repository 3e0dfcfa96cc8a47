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
// route, as one line, as it happens (the Logger keeps lines whole): in
// key=value form the event route_changed, then the event gap when the
// notice tells that a gap opened or closed. In human form the notice's
// line says both.
func logRouteNotice(log *eventlog.Logger, n bpf.RouteNotice) {
	where := []slog.Attr{slog.String("route", n.Prefix), slog.Uint64("table", uint64(n.Table)), slog.Uint64("metric", uint64(n.Metric))}
	log.Event(eventlog.Warning, "route_changed", n.String(),
		append(where, slog.Time("at", n.Time), slog.String("msg", n.Text))...)
	g := n.Gap
	if g == nil {
		return
	}
	if g.End == 0 {
		log.Event(eventlog.Warning, "gap", "", append(where, slog.String("state", "open"),
			slog.String("from", gapTime(g.Start)), slog.String("cause", g.Cause))...)
		return
	}
	log.Event(eventlog.Info, "gap", "", append(where, slog.String("state", "closed"),
		slog.String("from", gapTime(g.Start)), slog.String("to", gapTime(g.End)),
		slog.String("seconds", fmt.Sprintf("%.3f", float64(g.End-g.Start)/1e9)),
		slog.String("cause", g.Cause), slog.String("back", g.Back))...)
}

// gapTime writes a time of a gap as the gap comments of the statistics
// blocks do (writer.GapComment): UTC, to the nanosecond.
func gapTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
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

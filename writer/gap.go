package writer

import (
	"fmt"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
)

// gapTime is how a gap comment writes times: UTC, to the nanosecond.
const gapTime = "2006-01-02T15:04:05.000000000Z07:00"

// GapComment is the comment lwtdump writes in an interface's statistics
// block for each gap in its capture (a time its route was gone), so that
// the file itself tells it:
//
//	gap from=2026-12-01T12:00:01.234567890Z to=2026-12-01T12:00:04.456789012Z seconds=3.222: route removed by zebra (pid 4242); captured again (route via fe80::1 dev r1_h2 proto bgp)
//	gap from=2026-12-01T12:00:01.234567890Z to=open seconds=9.102: route removed by ip (pid 77); not back when this file ended
//
// The keys and their order are fixed; the text after the colon is for
// people. end is the time the block is written: an open gap is counted up
// to it.
func GapComment(g sample.Gap, end int64) string {
	from := time.Unix(0, g.Start).UTC().Format(gapTime)
	if g.End == 0 {
		return fmt.Sprintf("gap from=%s to=open seconds=%.3f: %s; not back when this file ended", from, float64(max(end-g.Start, 0))/1e9, g.Cause)
	}
	to := time.Unix(0, g.End).UTC().Format(gapTime)
	return fmt.Sprintf("gap from=%s to=%s seconds=%.3f: %s; captured again (route %s)", from, to, float64(g.End-g.Start)/1e9, g.Cause, g.Back)
}

// ParseGap reads back the times of a comment that GapComment wrote; end is
// 0 for a gap still open when its file ended. It reports false for any other
// comment.
func ParseGap(comment string) (start, end int64, ok bool) {
	rest, ok := strings.CutPrefix(comment, "gap from=")
	if !ok {
		return 0, 0, false
	}
	from, rest, ok := strings.Cut(rest, " to=")
	if !ok {
		return 0, 0, false
	}
	to, _, ok := strings.Cut(rest, " ")
	if !ok {
		return 0, 0, false
	}
	s, err := time.Parse(gapTime, from)
	if err != nil {
		return 0, 0, false
	}
	if to == "open" {
		return s.UnixNano(), 0, true
	}
	e, err := time.Parse(gapTime, to)
	if err != nil {
		return 0, 0, false
	}
	return s.UnixNano(), e.UnixNano(), true
}

// sectionGaps are the comments for the gaps of an interface that overlap
// the section from start to end.
func sectionGaps(gaps []sample.Gap, start, end int64) []string {
	var out []string
	for _, g := range gaps {
		if g.Start <= end && (g.End == 0 || g.End >= start) {
			out = append(out, GapComment(g, end))
		}
	}
	return out
}

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// announce says on stderr where the capture is attached, and warns of -G
// files that would replace each other.
func announce(stderr io.Writer, cfg *captureConfig, capture *bpf.Capture) {
	for _, a := range capture.Attachments() {
		fmt.Fprintf(stderr, "lwtdump: capturing at %s (cookie %#x), snaplen %d bytes\n", a.Name(), a.Cookie, a.Snaplen)
	}
	if cfg.rotate.Interval > 0 && !cfg.rotate.TimeInName() {
		fmt.Fprintf(stderr, "lwtdump: warning: -w %s has no strftime conversion, so each -G file replaces the last (add one, such as %%Y%%m%%d-%%H%%M%%S)\n", cfg.write)
	}
}

// printSummary prints the tcpdump-style summary line on stderr: the
// packets written ("captured") and dropped by the kernel's buffer, then,
// when there are any, those the filter expression rejected (always said
// with one), those lost to a failed write, those seen after the end (end
// says which: "-c 100", "the last file") and the gaps of the routes. With what the hooks saw, these add up: see
// sample.Counters. verbose adds them for each attachment, and the losses of
// each CPU's perf buffer.
func printSummary(stderr io.Writer, capture *bpf.Capture, end string, verbose bool) {
	var total sample.Counters
	hasFilter := false
	r := capture.Reader()
	for i, a := range capture.Attachments() {
		hasFilter = hasFilter || a.Filter != ""
		c, err := capture.Tally(uint32(i))
		if err != nil {
			fmt.Fprintf(stderr, "lwtdump: %v\n", err)
			continue
		}
		total.Seen += c.Seen
		total.Written += c.Written
		total.Dropped += c.Dropped
		total.Filtered += c.Filtered
		total.Unwritten += c.Unwritten
		total.AfterEnd += c.AfterEnd
		if verbose {
			fmt.Fprintf(stderr, "lwtdump: %s: %d seen: %d written, %d dropped, %d filtered, %d lost to a failed write, %d seen after the end\n",
				a.Name(), c.Seen, c.Written, c.Dropped, c.Filtered, c.Unwritten, c.AfterEnd)
		}
	}
	if verbose {
		if lost := r.LostPerCPU(); len(lost) > 0 {
			fmt.Fprintf(stderr, "lwtdump: perf buffer losses per CPU: %v\n", lost)
		}
		fmt.Fprintf(stderr, "lwtdump: malformed samples: %d\n", r.Malformed())
	}
	line := fmt.Sprintf("%d packets captured, %d dropped", total.Written, total.Dropped)
	if hasFilter {
		line += fmt.Sprintf(", %d filtered", total.Filtered)
	}
	if total.Unwritten > 0 {
		line += fmt.Sprintf(", %d lost to a failed write", total.Unwritten)
	}
	if total.AfterEnd > 0 {
		line += fmt.Sprintf(", %d seen after %s", total.AfterEnd, end)
	}
	if m := r.Malformed(); m > 0 {
		line += fmt.Sprintf(", %d malformed", m)
	}
	line += gapSummary(capture.RouteGaps(), time.Now())
	fmt.Fprintln(stderr, line)
}

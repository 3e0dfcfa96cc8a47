package main

import (
	"fmt"
	"io"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/writer"
)

// announce says on stderr where the capture is attached, and warns of -G
// files that would replace each other.
func announce(stderr io.Writer, cfg *captureConfig, capture *bpf.Capture) {
	for _, a := range capture.Attachments() {
		fmt.Fprintf(stderr, "lwtdump: capturing at %s (cookie %#x), snaplen %d bytes\n", a.Name(), a.Cookie, a.Snaplen)
	}
	if o := (writer.Options{Attachments: capture.Attachments(), OneInterface: cfg.oneIface}); cfg.write != "" && !o.LibpcapReads() {
		fmt.Fprintf(stderr, "lwtdump: IPv4 and IPv6 routes in one file: Wireshark reads it, tcpdump cannot (one link type per file); --one-interface writes a file both read\n")
	}
	if cfg.rotate.Interval > 0 && !cfg.rotate.TimeInName() {
		fmt.Fprintf(stderr, "lwtdump: warning: -w %s has no strftime conversion, so each -G file replaces the last (add one, such as %%Y%%m%%d-%%H%%M%%S)\n", cfg.write)
	}
}

// printSummary prints the tcpdump-style summary line on stderr, which with
// a filter expression also says how many packets the expression rejected;
// verbose adds the counters of each attachment and the losses of each
// CPU's buffer.
func printSummary(stderr io.Writer, capture *bpf.Capture, verbose bool) {
	var dropped, filtered uint64
	hasFilter := false
	r := capture.Reader()
	for i, a := range capture.Attachments() {
		hasFilter = hasFilter || a.Filter != ""
		c, err := capture.Counters(uint32(i))
		if err != nil {
			fmt.Fprintf(stderr, "lwtdump: %v\n", err)
			continue
		}
		dropped += c.Dropped
		filtered += c.Filtered
		if verbose {
			fmt.Fprintf(stderr, "lwtdump: %s: %d seen, %d dropped, %d filtered\n", a.Name(), c.Seen, c.Dropped, c.Filtered)
		}
	}
	if verbose {
		if lost := r.LostPerCPU(); len(lost) > 0 {
			fmt.Fprintf(stderr, "lwtdump: perf buffer losses per CPU: %v\n", lost)
		}
		fmt.Fprintf(stderr, "lwtdump: malformed samples: %d\n", r.Malformed())
	}
	line := fmt.Sprintf("%d packets captured, %d dropped", r.Written(), dropped)
	if hasFilter {
		line += fmt.Sprintf(", %d filtered", filtered)
	}
	line += gapSummary(capture.RouteGaps(), time.Now())
	fmt.Fprintln(stderr, line)
}

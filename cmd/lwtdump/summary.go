package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
	"github.com/lwtdump/lwtdump/writer"
)

// announce says where the capture is attached, and warns of -G files that
// would replace each other.
func announce(log *eventlog.Logger, cfg *captureConfig, capture *bpf.Capture) {
	for _, a := range capture.Attachments() {
		netns := a.Netns
		if netns == "" {
			netns = "-"
		}
		log.Event(eventlog.Info, "attach", fmt.Sprintf("capturing at %s (cookie %#x), snaplen %d bytes", a.Name(), a.Cookie, a.Snaplen),
			slog.String("interface", a.Name()), slog.String("route", a.Route), slog.String("hook", a.Hook.String()),
			slog.String("dev", a.Dev), slog.Uint64("table", uint64(a.Table)), slog.String("netns", netns),
			slog.String("cookie", fmt.Sprintf("%#x", a.Cookie)), slog.Uint64("snaplen", uint64(a.Snaplen)))
	}
	if o := (writer.Options{Attachments: capture.Attachments(), OneInterface: cfg.oneIface}); cfg.write != "" && !o.LibpcapReads() {
		log.Event(eventlog.Info, "mixed_families", "IPv4 and IPv6 routes in one file: Wireshark reads it, tcpdump cannot (one link type per file); --one-interface writes a file both read")
	}
	if cfg.rotate.Interval > 0 && !cfg.rotate.TimeInName() {
		msg := fmt.Sprintf("-w %s has no strftime conversion, so each -G file replaces the last (add one, such as %%Y%%m%%d-%%H%%M%%S)", cfg.write)
		log.Event(eventlog.Warning, "warning", "warning: "+msg, slog.String("msg", msg))
	}
}

// detached says, once the routes are restored, what each attachment saw
// (key=value only: a person reads the summary).
func detached(log *eventlog.Logger, capture *bpf.Capture, written func(uint32) (uint64, bool)) {
	for i, a := range capture.Attachments() {
		attrs := []slog.Attr{slog.String("interface", a.Name()), slog.String("route", a.Route), slog.String("hook", a.Hook.String())}
		if c, err := capture.Counters(uint32(i)); err == nil {
			attrs = append(attrs, slog.Uint64("seen", c.Seen), slog.Uint64("dropped", c.Dropped), slog.Uint64("filtered", c.Filtered))
		}
		if w, ok := written(uint32(i)); ok {
			attrs = append(attrs, slog.Uint64("written", w))
		}
		log.Event(eventlog.Info, "detach", "", attrs...)
	}
}

// printSummary says the tcpdump-style summary line: the packets written
// ("captured") and dropped by the kernel's buffer, then, when there are
// any, those the filter expression rejected (always said with one), those
// lost to a failed write, those seen after the end (end says which: "-c
// 100", "the last file") and the gaps of the routes. With what the hooks
// saw, these add up: see sample.Counters. verbose adds them for each
// attachment, and the losses of each CPU's perf buffer.
func printSummary(log *eventlog.Logger, capture *bpf.Capture, end string, verbose bool) {
	var total sample.Counters
	hasFilter := false
	r := capture.Reader()
	for i, a := range capture.Attachments() {
		hasFilter = hasFilter || a.Filter != ""
		c, err := capture.Tally(uint32(i))
		if err != nil {
			log.Event(eventlog.Error, "error", err.Error(), slog.String("msg", err.Error()))
			continue
		}
		total.Seen += c.Seen
		total.Written += c.Written
		total.Dropped += c.Dropped
		total.Filtered += c.Filtered
		total.Unwritten += c.Unwritten
		total.AfterEnd += c.AfterEnd
		if verbose {
			log.Event(eventlog.Info, "counters", fmt.Sprintf("%s: %d seen: %d written, %d dropped, %d filtered, %d lost to a failed write, %d seen after the end",
				a.Name(), c.Seen, c.Written, c.Dropped, c.Filtered, c.Unwritten, c.AfterEnd),
				slog.String("interface", a.Name()), slog.Uint64("seen", c.Seen), slog.Uint64("written", c.Written), slog.Uint64("dropped", c.Dropped),
				slog.Uint64("filtered", c.Filtered), slog.Uint64("unwritten", c.Unwritten), slog.Uint64("after_end", c.AfterEnd))
		}
	}
	if verbose {
		if lost := r.LostPerCPU(); len(lost) > 0 {
			log.Event(eventlog.Info, "perf_losses", fmt.Sprintf("perf buffer losses per CPU: %v", lost), slog.String("per_cpu", fmt.Sprint(lost)))
		}
		log.Event(eventlog.Info, "malformed", fmt.Sprintf("malformed samples: %d", r.Malformed()), slog.Uint64("samples", r.Malformed()))
	}
	line := fmt.Sprintf("%d packets captured, %d dropped", total.Written, total.Dropped)
	attrs := []slog.Attr{slog.Uint64("packets", total.Written), slog.Uint64("dropped", total.Dropped)}
	if hasFilter {
		line += fmt.Sprintf(", %d filtered", total.Filtered)
		attrs = append(attrs, slog.Uint64("filtered", total.Filtered))
	}
	if total.Unwritten > 0 {
		line += fmt.Sprintf(", %d lost to a failed write", total.Unwritten)
		attrs = append(attrs, slog.Uint64("unwritten", total.Unwritten))
	}
	if total.AfterEnd > 0 {
		line += fmt.Sprintf(", %d seen after %s", total.AfterEnd, end)
		attrs = append(attrs, slog.Uint64("after_end", total.AfterEnd))
	}
	if m := r.Malformed(); m > 0 {
		line += fmt.Sprintf(", %d malformed", m)
		attrs = append(attrs, slog.Uint64("malformed", m))
	}
	line += gapSummary(capture.RouteGaps(), time.Now())
	if n := gapCount(capture.RouteGaps()); n > 0 {
		attrs = append(attrs, slog.Int("gaps", n))
	}
	log.Line(eventlog.Info, "summary", line, attrs...)
}

package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
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

// printSummary says the tcpdump-style summary line, which with a filter
// expression also says how many packets the expression rejected; verbose
// adds the counters of each attachment and the losses of each CPU's
// buffer.
func printSummary(log *eventlog.Logger, capture *bpf.Capture, verbose bool) {
	var dropped, filtered uint64
	hasFilter := false
	r := capture.Reader()
	for i, a := range capture.Attachments() {
		hasFilter = hasFilter || a.Filter != ""
		c, err := capture.Counters(uint32(i))
		if err != nil {
			log.Event(eventlog.Error, "error", err.Error(), slog.String("msg", err.Error()))
			continue
		}
		dropped += c.Dropped
		filtered += c.Filtered
		if verbose {
			log.Event(eventlog.Info, "counters", fmt.Sprintf("%s: %d seen, %d dropped, %d filtered", a.Name(), c.Seen, c.Dropped, c.Filtered),
				slog.String("interface", a.Name()), slog.Uint64("seen", c.Seen), slog.Uint64("dropped", c.Dropped), slog.Uint64("filtered", c.Filtered))
		}
	}
	if verbose {
		if lost := r.LostPerCPU(); len(lost) > 0 {
			log.Event(eventlog.Info, "perf_losses", fmt.Sprintf("perf buffer losses per CPU: %v", lost), slog.String("per_cpu", fmt.Sprint(lost)))
		}
		log.Event(eventlog.Info, "malformed", fmt.Sprintf("malformed samples: %d", r.Malformed()), slog.Uint64("samples", r.Malformed()))
	}
	line := fmt.Sprintf("%d packets captured, %d dropped", r.Written(), dropped)
	attrs := []slog.Attr{slog.Uint64("packets", r.Written()), slog.Uint64("dropped", dropped)}
	if hasFilter {
		line += fmt.Sprintf(", %d filtered", filtered)
		attrs = append(attrs, slog.Uint64("filtered", filtered))
	}
	line += gapSummary(capture.RouteGaps(), time.Now())
	if n := gapCount(capture.RouteGaps()); n > 0 {
		attrs = append(attrs, slog.Int("gaps", n))
	}
	log.Line(eventlog.Info, "summary", line, attrs...)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
	"github.com/lwtdump/lwtdump/cmd/internal/metrics"
	"github.com/lwtdump/lwtdump/cmd/internal/service"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/writer"
)

// What a capture adds when it runs as a service (lwtdump@.service): it
// tells the service manager when it captures and how it does (READY=1,
// STATUS=, WATCHDOG=1, STOPPING=1), serves metrics (--metrics), and says
// every minute how many packets were dropped while drops grow. None of it
// runs on the packet path: the numbers are published at the capture's
// regular flush (every 100 ms, packets or not), and read by others.

// appliance is a capture's service side. Its zero parts do nothing.
type appliance struct {
	log      *eventlog.Logger
	notify   *service.Notifier
	listener net.Listener // --metrics, opened before any route is touched
	server   *metrics.Server
	snap     *metrics.Snapshot
	progress atomic.Int64  // unix nanoseconds of the capture loop's last flush
	written  atomic.Uint64 // packets written, as of the last flush
	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// openAppliance reads the service manager's environment and opens the
// metrics address: a wrong address fails before any route is touched.
func openAppliance(cfg *captureConfig, log *eventlog.Logger) (*appliance, error) {
	n, err := service.FromEnvironment()
	if err != nil {
		return nil, err
	}
	a := &appliance{log: log, notify: n}
	if cfg.metrics != "" {
		if a.listener, err = metrics.Listen(cfg.metrics); err != nil {
			n.Close()
			return nil, usageError{fmt.Errorf("--metrics %s: %w", cfg.metrics, err)}
		}
		a.snap = &metrics.Snapshot{}
	}
	return a, nil
}

// observes reports whether the capture's flushes must be watched.
func (a *appliance) observes() bool { return a.snap != nil || a.notify.Enabled() }

// observe wraps the capture's sink so that each flush is noted, and the
// numbers published, when something reads them.
func (a *appliance) observe(sink bpf.Sink, out output, capture *bpf.Capture) bpf.Sink {
	if !a.observes() {
		return sink
	}
	a.progress.Store(time.Now().UnixNano())
	return &observedSink{Sink: sink, a: a, out: out, capture: capture}
}

// observedSink is a sink whose Flush also publishes the numbers; every
// sample goes straight through to the sink it wraps.
type observedSink struct {
	bpf.Sink
	a       *appliance
	out     output
	capture *bpf.Capture
}

func (s *observedSink) Flush(now time.Time) error {
	err := s.Sink.Flush(now)
	s.a.progress.Store(now.UnixNano())
	s.a.written.Store(s.capture.Reader().Written())
	if s.a.snap != nil {
		s.a.snap.Update(s.publish)
	}
	return err
}

// publish copies what user space counts into the metrics' numbers. It runs
// on the capture's goroutine, which owns the writer and the files.
func (s *observedSink) publish(n *metrics.Numbers) {
	atts := s.capture.Attachments()
	n.Written, n.Bytes = n.Written[:0], n.Bytes[:0]
	r := s.capture.Reader()
	n.Malformed = r.Malformed()
	if w, ok := s.out.sink.(*writer.Writer); ok {
		for i := range atts {
			n.Written = append(n.Written, w.Delivered(uint32(i)))
			n.Bytes = append(n.Bytes, w.DeliveredBytes(uint32(i)))
		}
		n.FileSeq = w.Sections()
		n.Malformed += w.Malformed()
	}
	if f := s.out.files; f != nil {
		n.File, n.FileSize, n.FilesFinished = f.Name(), f.Size(), uint64(f.Finished())
	}
	if rec := s.out.rec; rec != nil {
		n.ManifestRecords, n.ManifestFailures = rec.records, rec.failures
	}
}

// start runs the service side once every route is attached and the first
// file is open: the metrics server, READY=1 and the watchdog, and the
// minute's drop counts.
func (a *appliance) start(ctx context.Context, cfg *captureConfig, capture *bpf.Capture, out output, start time.Time, run string) {
	ctx, a.cancel = context.WithCancel(ctx)
	if a.listener != nil {
		col := metrics.NewCollector(metrics.Capture{
			Attachments: capture.Attachments(),
			Counters:    capture.Counters,
			Gaps:        captureGaps(capture),
			BufferFill:  capture.Reader().BufferFill,
			Snapshot:    a.snap,
			Version:     version,
			Start:       start,
			Run:         run,
			Transport:   cfg.opts.Reader.Transport.String(),
			Manifest:    out.rec != nil,
		})
		a.server = metrics.Serve(a.listener, metrics.Registry(col, false))
		a.log.Event(eventlog.Info, "metrics", "", slog.String("address", "http://"+a.listener.Addr().String()+"/metrics"))
	}
	status := func() string { return a.status(capture) }
	a.notify.Ready(status())
	a.log.Event(eventlog.Info, "ready", "", slog.Int("attachments", len(capture.Attachments())), slog.String("file", fileName(out)))
	a.wg.Go(func() {
		a.notify.Run(ctx, service.Health{
			Progress: func() time.Time { return time.Unix(0, a.progress.Load()) },
			Status:   status,
		})
	})
	a.wg.Go(func() {
		<-ctx.Done()
		a.stopping(capture)
	})
	a.wg.Go(func() { watchDrops(ctx, a.log, capture, dropLogEvery()) })
}

// stopping tells the service manager, once, that the capture is ending.
func (a *appliance) stopping(capture *bpf.Capture) {
	a.stopOnce.Do(func() {
		a.notify.Stopping("stopping: restoring the routes, finishing the file; " + a.status(capture))
	})
}

// status is the line systemctl status shows.
func (a *appliance) status(capture *bpf.Capture) string {
	var dropped uint64
	for i := range capture.Attachments() {
		if c, err := capture.Counters(uint32(i)); err == nil {
			dropped += c.Dropped
		}
	}
	return fmt.Sprintf("capturing at %d attachments: %d packets written, %d dropped", len(capture.Attachments()), a.written.Load(), dropped)
}

// stop ends the service side: the capture loop has returned. It must run
// before the capture's buffers and maps are released, which the metrics
// read.
func (a *appliance) stop(capture *bpf.Capture) error {
	var err error
	if a.cancel != nil {
		a.stopping(capture)
		a.cancel()
		a.wg.Wait()
	}
	if a.server != nil {
		err = a.server.Close()
		a.server = nil
	} else if a.listener != nil {
		err = a.listener.Close()
	}
	a.listener = nil
	return errors.Join(err, a.notify.Close())
}

// fileName is the file being written, "" for stdout or text.
func fileName(out output) string {
	if out.files == nil {
		return ""
	}
	return out.files.Name()
}

// captureGaps counts the gaps of an attachment: the times its route was
// removed or replaced by another process, an open one included, as the
// capture records them for the statistics blocks and the summary.
func captureGaps(capture *bpf.Capture) func(uint32) uint64 {
	return func(attachment uint32) uint64 { return uint64(len(capture.Gaps(attachment))) }
}

// watchDrops says every interval, for each attachment whose drops grew,
// how many packets were dropped since the last time and in all, until ctx
// ends.
func watchDrops(ctx context.Context, log *eventlog.Logger, capture *bpf.Capture, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := make([]uint64, len(capture.Attachments()))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i, att := range capture.Attachments() {
			c, err := capture.Counters(uint32(i))
			if err != nil || c.Dropped <= last[i] {
				continue
			}
			grew := c.Dropped - last[i]
			last[i] = c.Dropped
			log.Event(eventlog.Warning, "drops",
				fmt.Sprintf("%s: %d packets dropped in the last %s (%d of %d in all): the kernel buffer was full (raise -B, or capture less with -s or a filter)", att.Name(), grew, every, c.Dropped, c.Seen),
				slog.String("interface", att.Name()), slog.String("route", att.Route), slog.String("hook", att.Hook.String()),
				slog.Uint64("dropped", grew), slog.Duration("period", every), slog.Uint64("dropped_total", c.Dropped), slog.Uint64("seen_total", c.Seen))
		}
	}
}

// dropLogDefault is how often drop counts are said while drops grow.
const dropLogDefault = time.Minute

// fileEvents says each file of -w FILE as it is finished.
type fileEvents struct {
	log   *eventlog.Logger
	files *rotate.Rotator
	w     *writer.Writer // set once the writer exists
}

// finished says that the file name is finished, with size bytes.
func (e *fileEvents) finished(name string, size int64) {
	if e == nil {
		return
	}
	attrs := []slog.Attr{slog.String("file", name), slog.Int64("bytes", size)}
	if e.w != nil {
		st := e.w.SectionStats()
		attrs = append(attrs, slog.Int("seq", st.Seq), slog.Uint64("packets", st.Packets))
	}
	e.log.Event(eventlog.Info, "file_finished", "", attrs...)
}

// close finishes the last file, and says so.
func (e *fileEvents) close() error {
	name, size := e.files.Name(), e.files.Size()
	err := e.files.Close()
	if err == nil && name != "" {
		e.finished(name, size)
	}
	return err
}

// reportExit says a capture's error as an event in key=value form, with
// the exit code it means, and returns it as reported; in human form it
// returns err for run to print as always.
func reportExit(log *eventlog.Logger, err error) error {
	if err == nil || log.Format() != eventlog.KeyValue || errors.Is(err, errReported) {
		return err
	}
	var ue usageError
	usage := errors.As(err, &ue)
	code := exitFailure
	if usage {
		code = exitUsage
	}
	log.Event(eventlog.Error, "exit", "", slog.String("error", oneLine(withHints(err))), slog.Int("code", code))
	if usage {
		return usageError{errReported}
	}
	return errReported
}

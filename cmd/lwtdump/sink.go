package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
	"github.com/lwtdump/lwtdump/cmd/internal/text"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/lwtdump/lwtdump/writer"
	"golang.org/x/sys/unix"
)

// output is where a capture's samples go.
type output struct {
	sink   bpf.Sink
	finish func() error             // writes the last blocks and closes the output
	chown  func(uid, gid int) error // gives the current output file to a user (-Z)
	files  *rotate.Rotator          // the files of -w FILE; nil for stdout or text
	rec    *manifestRecording       // their manifest; nil without
	run    string                   // the run id of pcapng output
}

// written is the number of packets written for an attachment, when the
// output counts them (pcapng does; text lines do not).
func (o output) written(attachment uint32) (uint64, bool) {
	if w, ok := o.sink.(*writer.Writer); ok {
		return w.Delivered(attachment), true
	}
	return 0, false
}

// openSink opens the output: pcapng to stdout or to files rotated as -C, -G
// and -W say, or text lines.
func openSink(cfg *captureConfig, capture *bpf.Capture, start time.Time, stdout io.Writer, log *eventlog.Logger) (output, error) {
	noChown := func(int, int) error { return nil }
	if cfg.write == "" {
		p := text.NewPrinterWithOptions(stdout, capture.Attachments(), cfg.print)
		return output{sink: p, finish: func() error { return p.Flush(time.Now()) }, chown: noChown}, nil
	}
	out := writer.Stream(stdout)
	closeOut := func() error { return nil }
	chown := noChown
	run := newRunID()
	var rec *manifestRecording
	var files *rotate.Rotator
	var said *fileEvents
	if cfg.write != "-" {
		r, m, err := openFiles(cfg, run, log)
		if err != nil {
			return output{}, err
		}
		said = &fileEvents{log: log, files: r}
		out, closeOut, chown, rec, files = rotation{r, said}, said.close, r.Chown, m, r
		if rec != nil {
			// -Z: the user goes on appending to the manifest.
			chown = func(uid, gid int) error {
				if err := r.Chown(uid, gid); err != nil {
					return err
				}
				return rec.rec.Chown(filepath.Dir(r.Name()), uid, gid)
			}
		}
	}
	out = cfg.autostop.output(out, cfg.rotate.SizeLimit > 0 || cfg.rotate.Interval > 0)
	w, err := writer.New(out, writerOptions(cfg, capture, start, run))
	if err != nil {
		closeOut()
		return output{}, err
	}
	if rec != nil {
		rec.w = w
	}
	if said != nil {
		said.w = w
	}
	return output{sink: w, finish: func() error { return errors.Join(w.Close(), closeOut()) }, chown: chown, files: files, rec: rec, run: run}, nil
}

// writerOptions are the options of the pcapng writer of a capture.
func writerOptions(cfg *captureConfig, capture *bpf.Capture, start time.Time, run string) writer.Options {
	return writer.Options{
		Section:      section(cfg, start),
		Attachments:  capture.Attachments(),
		Counters:     capture.Tally,
		Gaps:         capture.Gaps,
		Start:        start,
		Unbuffered:   cfg.unbuffered,
		Run:          run,
		OneInterface: cfg.oneIface,
	}
}

// openFiles opens the files of -w FILE, rotated as -C, -G and -W say, and
// unless --no-manifest (or for a device or a fifo) the recording of each
// finished file in the manifest of its directory, for the run.
func openFiles(cfg *captureConfig, run string, log *eventlog.Logger) (*rotate.Rotator, *manifestRecording, error) {
	o := cfg.rotate
	o.Warn = func(err error) {
		log.Event(eventlog.Warning, "warning", oneLine(err), slog.String("msg", oneLine(err)))
	}
	mode := o.FileMode
	if mode == 0 {
		mode = rotate.DefaultFileMode
	}
	var rec *manifestRecording
	if !cfg.noManifest {
		rec = &manifestRecording{rec: manifest.NewRecorder(run, mode), warn: o.Warn}
		o.Finished = rec.finished
	}
	r, err := rotate.New(o)
	if err != nil {
		return nil, nil, err
	}
	if !r.Regular() {
		return r, nil, nil // never reported as finished
	}
	if rec != nil && !cfg.quiet {
		m := manifest.Path(filepath.Dir(r.Name()))
		log.Event(eventlog.Info, "manifest", fmt.Sprintf("run %s: every finished file is recorded in %s", run, m),
			slog.String("run", run), slog.String("manifest", m))
	}
	return r, rec, nil
}

// checkOutputWritable refuses, once lwtdump has become the -Z user, an
// output directory that user cannot write rotated files into.
func checkOutputWritable(cfg *captureConfig) error {
	if cfg.write == "" || cfg.write == "-" || (cfg.rotate.SizeLimit == 0 && cfg.rotate.Interval == 0) {
		return nil
	}
	dir := filepath.Dir(cfg.write)
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("-Z %s: the user cannot write to %s, where the next files go: give it the directory", cfg.user.name, dir)
	}
	return nil
}

// rotation is a Rotator as the writer's Output: the last file of -G with -W
// ends the capture as writer.ErrDone, a normal end. Each file finished is
// said as an event.
type rotation struct {
	*rotate.Rotator
	said *fileEvents
}

func (r rotation) Rollover() error {
	name, size := r.Name(), r.Size()
	err := r.Rotator.Rollover()
	if err == nil || errors.Is(err, rotate.ErrDone) {
		r.said.finished(name, size)
	}
	if !errors.Is(err, rotate.ErrDone) {
		return err
	}
	return writer.ErrDone
}

// writeReadyFile creates --ready-file, holding the state file's path, as
// output files are created: without following a link planted for it.
func writeReadyFile(path, statePath string) error {
	f, err := rotate.CreateFile(path, 0o600)
	if err == nil {
		_, err = f.WriteString(statePath + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}

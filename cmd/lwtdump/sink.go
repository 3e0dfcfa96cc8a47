package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
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
}

// openSink opens the output: pcapng to stdout or to files rotated as -C, -G
// and -W say, or text lines.
func openSink(cfg *captureConfig, capture *bpf.Capture, start time.Time, stdout, stderr io.Writer) (output, error) {
	noChown := func(int, int) error { return nil }
	if cfg.write == "" {
		p := text.NewPrinterWithOptions(stdout, capture.Attachments(), cfg.print)
		return output{p, func() error { return p.Flush(time.Now()) }, noChown}, nil
	}
	out := writer.Stream(stdout)
	closeOut := func() error { return nil }
	chown := noChown
	run := newRunID()
	var rec *manifestRecording
	if cfg.write != "-" {
		r, m, err := openFiles(cfg, run, stderr)
		if err != nil {
			return output{}, err
		}
		out, closeOut, chown, rec = rotation{r}, r.Close, r.Chown, m
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
	w, err := writer.New(out, writer.Options{
		Section:     section(cfg, start),
		Attachments: capture.Attachments(),
		Counters:    capture.Tally,
		Gaps:        capture.Gaps,
		Start:       start,
		Unbuffered:  cfg.unbuffered,
		Run:         run,
	})
	if err != nil {
		closeOut()
		return output{}, err
	}
	if rec != nil {
		rec.w = w
	}
	return output{w, func() error { return errors.Join(w.Close(), closeOut()) }, chown}, nil
}

// openFiles opens the files of -w FILE, rotated as -C, -G and -W say, and
// unless --no-manifest (or for a device or a fifo) the recording of each
// finished file in the manifest of its directory, for the run.
func openFiles(cfg *captureConfig, run string, stderr io.Writer) (*rotate.Rotator, *manifestRecording, error) {
	o := cfg.rotate
	o.Warn = func(err error) { fmt.Fprintf(stderr, "lwtdump: %s\n", oneLine(err)) }
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
		fmt.Fprintf(stderr, "lwtdump: run %s: every finished file is recorded in %s\n", run, manifest.Path(filepath.Dir(r.Name())))
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
// ends the capture as writer.ErrDone, a normal end.
type rotation struct{ *rotate.Rotator }

func (r rotation) Rollover() error {
	if err := r.Rotator.Rollover(); !errors.Is(err, rotate.ErrDone) {
		return err
	}
	return writer.ErrDone
}

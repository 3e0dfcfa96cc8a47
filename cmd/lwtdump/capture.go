package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/urfave/cli/v2"
)

// captureAction captures as the command line args says, with the flags
// of a config file (--config) recorded after it.
func captureAction(c *cli.Context, args []string) error {
	format, err := eventlog.ParseFormat(c.String("log-format"), c.App.ErrWriter)
	if err != nil {
		return usageError{err}
	}
	log := eventlog.New(c.App.ErrWriter, format)
	cfg, err := parseCapture(c, append(slices.Clip(args), configArgs(c)...))
	if err == nil {
		cfg.log = log
		err = runCapture(c.Context, cfg, c.App.Writer, c.App.ErrWriter)
	}
	return reportExit(log, err)
}

// runCapture attaches, captures until a signal or the count, restores the
// routes and prints the summary.
func runCapture(parent context.Context, cfg *captureConfig, stdout, stderr io.Writer) (err error) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A closed pipe must come back as EPIPE from write, not kill the process
	// before the routes are restored.
	signal.Ignore(syscall.SIGPIPE)

	if err := bpf.CheckPrivileges(cfg.opts.Netns != ""); err != nil {
		return err
	}
	if !bpf.Root() {
		if err := checkCapabilityHolder(cfg); err != nil {
			return err
		}
		cfg.opts.ExistingOnly = true
	}
	// Runs after capture.Close, which removes the state file: with -Z, the
	// reaper then removes its directory.
	reapState := func() {}
	defer func() { reapState() }()
	log := cfg.log
	if log == nil {
		log = eventlog.New(stderr, eventlog.Human)
	}
	if !cfg.quiet {
		cfg.opts.Reader.Notify = func(n bpf.Notice) { logNotice(log, stderr, n, cfg.verbose) }
	}
	svc, err := openAppliance(cfg, log)
	if err != nil {
		return err
	}
	start := time.Now()
	if !cfg.noSummary { // extcap: Wireshark takes any line on stderr for an error
		cfg.opts.Notify = func(n bpf.RouteNotice) { logRouteNotice(log, n) }
	}
	capture, err := bpf.Start(cfg.opts)
	err = withVerifierLog(err, stderr, cfg.verbose)
	if bpf.BadTarget(err) {
		return usageError{err}
	}
	if err != nil {
		return errors.Join(err, svc.stop(nil))
	}
	defer func() { err = errors.Join(err, capture.Close()) }()
	// Before the capture's maps and buffers go: the metrics read them.
	defer func() { err = errors.Join(err, svc.stop(capture)) }()

	// Writes to a pipe or a socket give up on a reader that takes nothing.
	guarded, guard := guardStdout(stdout, cfg.stdoutTimeout)
	defer guard.close()
	out, err := openSink(cfg, capture, start, guarded, log)
	if err != nil {
		return captureError(err) // the reader may be gone before the section header
	}
	if cfg.write == "-" {
		// End soon after the reader goes away, even when no packet comes.
		var stopWatch func()
		ctx, stopWatch = watchReader(ctx, stdout)
		defer stopWatch()
	}
	sink, finish := svc.observe(testSink(out.sink), out, capture), sync.OnceValue(out.finish)
	summarized := cfg.noSummary
	end := fmt.Sprintf("-c %d", cfg.count) // what ended the capture, if not a signal or a failure
	summary := func() error {
		if !summarized {
			summarized = true
			printSummary(log, capture, end, cfg.verbose)
		}
		return nil
	}
	// A panic (a bug) while capturing still ends the capture as a signal
	// would: routes restored, the file finished with its statistics, the
	// summary printed, each step's error said; then the panic goes on, with
	// its stack, and exit code 2.
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		for _, step := range []func() error{capture.Detach, finish, summary} {
			if err := try(step); err != nil {
				fmt.Fprintf(stderr, "lwtdump: %s\n", oneLine(err))
			}
		}
		panic(r)
	}()
	if !cfg.quiet {
		announce(log, cfg, capture)
	}
	if cfg.readyFile != "" {
		if err := writeReadyFile(cfg.readyFile, capture.StatePath()); err != nil {
			return err
		}
	}
	if cfg.user != nil {
		// Without the reaper, the empty state directory is left for the
		// next lwtdump to sweep: worth a warning, not the capture.
		if reap, err := startStateReaper(capture.StatePath()); err != nil {
			fmt.Fprintf(stderr, "lwtdump: warning: %s\n", oneLine(err))
		} else {
			reapState = reap
		}
		if err := dropPrivileges(cfg.user, capture.ChownState, out.chown); err != nil {
			return errors.Join(err, finish())
		}
		if err := checkOutputWritable(cfg); err != nil {
			return errors.Join(err, finish())
		}
	}
	ctx, cancel := cfg.autostop.withDuration(ctx)
	defer cancel()
	defer context.AfterFunc(ctx, guard.stop)()
	testHook("capturing")
	svc.start(ctx, cfg, capture, out, start, out.run)
	runErr := capture.Run(ctx, sink, cfg.count)
	svc.stopping(capture)
	finishErr := finish()
	if errors.Is(runErr, writer.ErrDone) {
		end = fmt.Sprintf("the last file (-W %d)", cfg.rotate.Count)
	}
	if msg := endMessage(ctx, cfg, runErr); msg != "" && !cfg.quiet {
		log.Event(eventlog.Info, "stop", msg, slog.String("msg", msg))
	}
	detached(log, capture, out.written)
	summary()
	return captureError(runErr, finishErr)
}

// try runs step, and turns a panic in it into an error, so that the steps
// after a panic all run.
func try(step func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return step()
}

// captureError is what the end of a capture means for the exit code. The
// reader of -w - going away (EPIPE) and the last file of -G with -W
// (writer.ErrDone) are normal ends. Each problem is told once, and known by
// what it says: the writer keeps its first error and Close returns it
// again, the same value; but alike failures, such as the state file failing
// to save the same way for each route restored, are distinct values that
// read the same, and would be told twice if known by value.
func captureError(errs ...error) error {
	var out []error
	said := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if err == nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, writer.ErrDone) || said[err.Error()] {
			return
		}
		said[err.Error()] = true
		out = append(out, err)
	}
	for _, err := range errs {
		walk(err)
	}
	return errors.Join(out...)
}

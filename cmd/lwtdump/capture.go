package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/sample"
	"github.com/lwtdump/lwtdump/writer/text"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func captureFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "route", Aliases: []string{"i"}, Usage: "capture `PREFIX[@DEV][,cookie=N]`; repeat for several routes"},
		&cli.StringFlag{Name: "hook", Value: "xmit", Usage: "hooks to capture at, comma separated: in, out, xmit"},
		&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "write pcapng to `FILE` (- for stdout) instead of printing packets"},
		&cli.Uint64Flag{Name: "count", Aliases: []string{"c"}, Usage: "exit after `COUNT` packets"},
		&cli.IntFlag{Name: "snaplen", Aliases: []string{"s"}, Value: bpf.MaxSnaplen, Usage: "copy at most `SNAPLEN` bytes of each packet (1 to 262144)"},
		&cli.StringFlag{Name: "cookie", Usage: "cookie `N` of every attachment (default: the attachment number)"},
		&cli.StringFlag{Name: "netns", Usage: "capture in the network namespace `NAME`"},
		&cli.UintFlag{Name: "table", Value: bpf.MainTable, Usage: "routing `TABLE` of the routes"},
		&cli.IntFlag{Name: "buffer-size", Aliases: []string{"B"}, Value: bpf.DefaultPerCPUBuffer >> 10, Usage: "perf buffer of each CPU, in `KiB` (rounded up to a power of two pages)"},
		&cli.BoolFlag{Name: "packet-buffered", Aliases: []string{"U"}, Usage: "write each packet out as soon as it is captured"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each packet's metadata"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "say nothing on stderr but errors and the summary"},
		&cli.StringFlag{Name: "ready-file", Usage: "create `FILE` once every route is attached and the output is open"},
		&cli.StringFlag{Name: "state-dir", Value: route.DefaultStateDir, Usage: "keep what is needed to restore routes after a crash in `DIR`"},
	}
}

// captureConfig is a validated capture command line.
type captureConfig struct {
	opts       bpf.Options
	write      string
	count      uint64
	unbuffered bool
	verbose    bool
	quiet      bool
	readyFile  string
	args       []string
}

func parseCapture(c *cli.Context) (*captureConfig, error) {
	cfg := &captureConfig{
		write:      c.String("write"),
		count:      c.Uint64("count"),
		unbuffered: c.Bool("packet-buffered"),
		verbose:    c.Bool("verbose"),
		quiet:      c.Bool("quiet"),
		readyFile:  c.String("ready-file"),
		args:       os.Args,
	}
	if c.NArg() > 0 {
		return nil, usagef("unexpected argument %q (filter expressions are not supported yet)", c.Args().First())
	}
	o := &cfg.opts
	for _, s := range c.StringSlice("route") {
		t, err := bpf.ParseTarget(s)
		if err != nil {
			return nil, usageError{err}
		}
		for _, have := range o.Targets {
			if have.Prefix == t.Prefix {
				return nil, usagef("route %s given twice: give each route once (use --hook for several hooks)", t.Prefix)
			}
		}
		o.Targets = append(o.Targets, t)
	}
	if len(o.Targets) == 0 {
		return nil, usagef("no route to capture: give one with -i PREFIX[@DEV], such as -i 2001:db8:20::/48@eth1")
	}
	for h := range strings.SplitSeq(c.String("hook"), ",") {
		hook, err := sample.ParseHook(h)
		if err != nil || hook == sample.HookSeg6Local {
			return nil, usagef("--hook: unknown hook %q (want in, out or xmit, comma separated)", h)
		}
		for _, have := range o.Hooks {
			if have == hook {
				return nil, usagef("--hook: %s given twice", hook)
			}
		}
		o.Hooks = append(o.Hooks, hook)
	}
	snap := c.Int("snaplen")
	if snap < 1 || snap > bpf.MaxSnaplen {
		return nil, usagef("-s %d: snaplen must be 1 to %d", snap, bpf.MaxSnaplen)
	}
	o.Snaplen = uint32(snap)
	if s := c.String("cookie"); s != "" {
		v, err := parseUint(s)
		if err != nil {
			return nil, usagef("--cookie %q is not a number (want 0xbeef or 48879)", s)
		}
		o.Cookie, o.HasCookie = v, true
	}
	o.Netns = c.String("netns")
	o.StateDir = c.String("state-dir")
	o.Table = uint32(c.Uint("table"))
	if o.Table == 0 {
		return nil, usagef("--table 0: give a table number from 1 to 4294967295 (main is 254)")
	}
	kib := c.Int("buffer-size")
	if kib < 4 || kib > 1<<20 {
		return nil, usagef("-B %d: the buffer of each CPU must be 4 to 1048576 KiB", kib)
	}
	o.Reader.PerCPUBuffer = kib << 10
	if cfg.unbuffered {
		o.Reader.Watermark = 1
	}
	if err := checkOutput(cfg.write); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkOutput refuses an output that cannot work before anything is touched.
func checkOutput(path string) error {
	switch path {
	case "":
		return nil
	case "-":
		if isTerminal(os.Stdout) {
			return usagef("-w -: stdout is a terminal; pipe it into a program (lwtdump -w - | tshark -i -) or write to a file")
		}
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("-w %s: is a directory; give a file name", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return usagef("-w %s: directory %s does not exist; create it first", path, dir)
	}
	if !fi.IsDir() {
		return usagef("-w %s: %s is not a directory", path, dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return usagef("-w %s: directory %s is not writable", path, dir)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func captureAction(c *cli.Context) error {
	cfg, err := parseCapture(c)
	if err != nil {
		return err
	}
	return runCapture(c.Context, cfg, c.App.Writer, c.App.ErrWriter)
}

// runCapture attaches, captures until a signal or the count, restores the
// routes and prints the summary.
func runCapture(parent context.Context, cfg *captureConfig, stdout, stderr io.Writer) (err error) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A closed pipe must come back as EPIPE from write, not kill the process
	// before the routes are restored.
	signal.Ignore(syscall.SIGPIPE)

	start := time.Now()
	capture, err := bpf.Start(cfg.opts)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, capture.Close()) }()

	sink, finish, err := openSink(cfg, capture, start, stdout)
	if err != nil {
		return err
	}
	if !cfg.quiet {
		for _, a := range capture.Attachments() {
			fmt.Fprintf(stderr, "lwtdump: capturing at %s (cookie %#x), snaplen %d bytes\n", a.Name(), a.Cookie, a.Snaplen)
		}
	}
	if cfg.readyFile != "" {
		if err := os.WriteFile(cfg.readyFile, []byte(capture.StatePath()+"\n"), 0o600); err != nil {
			return fmt.Errorf("write ready file: %w", err)
		}
	}
	runErr := capture.Run(ctx, sink, cfg.count)
	if errors.Is(runErr, syscall.EPIPE) {
		runErr = nil // the reader went away: a normal end
	}
	finishErr := finish()
	if errors.Is(finishErr, syscall.EPIPE) {
		finishErr = nil
	}
	printSummary(stderr, capture, cfg.verbose)
	return errors.Join(runErr, finishErr)
}

// openSink opens the output: pcapng to a file or stdout, or text lines.
// finish writes the last blocks and closes it.
func openSink(cfg *captureConfig, capture *bpf.Capture, start time.Time, stdout io.Writer) (bpf.Sink, func() error, error) {
	if cfg.write == "" {
		p := text.NewPrinter(stdout, capture.Attachments(), cfg.verbose, cfg.unbuffered)
		return p, func() error { return p.Flush(time.Now()) }, nil
	}
	var out io.Writer = stdout
	closeOut := func() error { return nil }
	if cfg.write != "-" {
		f, err := os.OpenFile(cfg.write, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("open output: %w", err)
		}
		out = f
		closeOut = func() error {
			return errors.Join(f.Sync(), f.Close())
		}
	}
	w, err := writer.New(writer.Stream(out), writer.Options{
		Section:     section(cfg, start),
		Attachments: capture.Attachments(),
		Counters:    capture.Counters,
		Start:       start,
		Unbuffered:  cfg.unbuffered,
	})
	if err != nil {
		closeOut()
		return nil, nil, err
	}
	return w, func() error { return errors.Join(w.Close(), closeOut()) }, nil
}

// printSummary prints the tcpdump-style summary line on stderr; verbose adds
// the counters of each attachment and the losses of each CPU's buffer.
func printSummary(stderr io.Writer, capture *bpf.Capture, verbose bool) {
	var dropped uint64
	r := capture.Reader()
	for i, a := range capture.Attachments() {
		c, err := capture.Counters(uint32(i))
		if err != nil {
			fmt.Fprintf(stderr, "lwtdump: %v\n", err)
			continue
		}
		dropped += c.Dropped
		if verbose {
			fmt.Fprintf(stderr, "lwtdump: %s: %d seen, %d dropped, %d filtered\n", a.Name(), c.Seen, c.Dropped, c.Filtered)
		}
	}
	if verbose {
		fmt.Fprintf(stderr, "lwtdump: perf buffer losses per CPU: %v; malformed samples: %d\n", r.LostPerCPU(), r.Malformed())
	}
	fmt.Fprintf(stderr, "%d packets captured, %d dropped\n", r.Written(), dropped)
}

func parseUint(s string) (uint64, error) { return strconv.ParseUint(s, 0, 64) }

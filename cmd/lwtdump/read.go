package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/lwtdump/lwtdump/cmd/internal/text"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/urfave/cli/v2"
)

// readFlags are the flags of reading captures back (-r), and of printing
// packets, which a live capture without -w shares.
func readFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "read", Aliases: []string{"r"}, Usage: "read packets from `FILE` (pcapng or pcap) instead of capturing; repeat it, quote a glob, or give a directory, for several files: the files of one capture run are read in their sequence order, other captures merged in time order"},
		&cli.StringSliceFlag{Name: "route", Usage: "with -r, select the packets lwtdump captured on the route `PREFIX`; repeat for several"},
		&cli.BoolFlag{Name: "n", Usage: "print addresses as numbers (lwtdump always does; accepted as in tcpdump)"},
		&cli.BoolFlag{Name: "t", Usage: "no time stamps; -tt: seconds since the epoch; -ttt: time since the previous packet; -tttt: date and time; -ttttt: time since the first packet"},
		&cli.BoolFlag{Name: "X", Usage: "print each packet in hex and ASCII too"},
	}
}

// rootAction reads captures back with -r, and captures otherwise; args is
// the whole command line.
func rootAction(c *cli.Context, args []string) error {
	if c.Count("d") > 0 || c.Bool("dump-ebpf") {
		return dumpAction(c)
	}
	if c.IsSet("read") {
		return readAction(c, args)
	}
	if c.IsSet("route") {
		return usagef("--route selects packets when reading a capture (-r FILE); to capture a route, use -i PREFIX")
	}
	return captureAction(c, args)
}

// printOptions are the options of text lines: -t..., -v, -vv, -X, -A, -U, -l.
func printOptions(c *cli.Context) (text.Options, error) {
	t := c.Count("t")
	if t > int(text.TimeSinceFirst) {
		return text.Options{}, usagef("-%s: at most five t (-ttttt: time since the first packet)", strings.Repeat("t", t))
	}
	return text.Options{
		Time:       text.TimeFormat(t),
		Verbose:    c.Count("verbose"),
		Hex:        c.Bool("X"),
		ASCII:      c.Bool("A"),
		Unbuffered: c.Bool("packet-buffered") || c.Bool("l"),
	}, nil
}

// readConfig is a validated -r command line.
type readConfig struct {
	files []string
	sel   pcapread.Selection
	print text.Options
	write string
	count uint64
	args  []string
}

func readAction(c *cli.Context, args []string) error {
	cfg, err := parseRead(c, args)
	if err != nil {
		return err
	}
	return runRead(c.Context, cfg, c.App.Writer, c.App.ErrWriter)
}

// parseRead reads and checks a -r command line; args is the whole command
// line, which a copy with -w records.
func parseRead(c *cli.Context, args []string) (*readConfig, error) {
	for _, f := range captureFlagsFor(forCapture, forFiles) {
		if name := f.Names()[0]; c.IsSet(name) {
			if name == "interface" {
				return nil, usagef("-r and -i are mutually exclusive: read a capture, or capture a route")
			}
			return nil, usagef("%s is for capturing; it does nothing with -r", flagName(f))
		}
	}
	cfg := &readConfig{write: c.String("write"), count: c.Uint64("count"), args: args}
	var err error
	if cfg.print, err = printOptions(c); err != nil {
		return nil, err
	}
	var expr string
	flag := func(name string) bool { return isFlag(c, name) }
	if cfg.files, expr, err = captureFiles(c.StringSlice("read"), c.Args().Slice(), flag); err != nil {
		return nil, err
	}
	if path := c.String("filter-file"); path != "" {
		if expr != "" {
			return nil, usagef("-F %s and an expression on the command line: give the expression one way", path)
		}
		if expr, err = filterFile(path); err != nil {
			return nil, err
		}
	}
	if expr != "" {
		if cfg.sel.Match, err = compileFilter(expr); err != nil {
			return nil, err
		}
	}
	if c.IsSet("hook") {
		for h := range strings.SplitSeq(c.String("hook"), ",") {
			hook, err := sample.ParseHook(h)
			if err != nil {
				return nil, usagef("--hook: unknown hook %q (want in, out, xmit or seg6local, comma separated)", h)
			}
			cfg.sel.Hooks = append(cfg.sel.Hooks, hook)
		}
	}
	if c.IsSet("cookie") {
		for s := range strings.SplitSeq(c.String("cookie"), ",") {
			v, err := parseUint(s)
			if err != nil {
				return nil, usagef("--cookie %q is not a number (want 0xbeef or 48879, comma separated)", s)
			}
			cfg.sel.Cookies = append(cfg.sel.Cookies, v)
		}
	}
	for _, s := range c.StringSlice("route") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, usagef("--route %q is not a prefix (want 2001:db8:20::/48 or 203.0.113.0/24)", s)
		}
		cfg.sel.Routes = append(cfg.sel.Routes, p.Masked())
	}
	if err := checkOutput(cfg.write, rotate.Options{Path: cfg.write}, c.App.Writer); err != nil {
		return nil, err
	}
	if err := checkNotInput(cfg.write, cfg.files); err != nil {
		return nil, err
	}
	return cfg, nil
}

// captureFiles expands the -r values (a value with *, ? or [ is a glob, a
// directory stands for the captures in it) and takes the trailing arguments
// that name files as more captures, since a shell expands an unquoted glob
// after -r into several words. The arguments from the first that is not a
// file on are the filter expression. isFlag tells the flags that were
// written too late.
func captureFiles(reads, rest []string, isFlag func(string) bool) (files []string, expr string, err error) {
	for _, r := range reads {
		if fi, err := os.Stat(r); err == nil && fi.IsDir() {
			fs, err := dirCaptures(r)
			if err != nil {
				return nil, "", err
			}
			files = append(files, fs...)
			continue
		}
		if !strings.ContainsAny(r, "*?[") {
			files = append(files, r)
			continue
		}
		m, err := filepath.Glob(r)
		if err != nil {
			return nil, "", usagef("-r %s: bad pattern: %v", r, err)
		}
		if len(m) == 0 {
			return nil, "", usagef("-r %s: no file matches", r)
		}
		files = append(files, m...)
	}
	for _, a := range rest {
		if strings.HasPrefix(a, "-") && isFlag != nil && isFlag(strings.TrimLeft(a, "-")) {
			return nil, "", usagef("%s: flags go before the files and the filter expression (lwtdump %s -r FILE)", a, a)
		}
	}
	for i, a := range rest {
		if fi, err := os.Stat(a); err != nil || fi.IsDir() {
			return files, strings.Join(strings.Fields(strings.Join(rest[i:], " ")), " "), nil
		}
		files = append(files, a)
	}
	return files, "", nil
}

// dirCaptures lists the captures in dir: its regular files that start as a
// pcapng, a pcap or a gzip file does, in name order (Merge puts the files of
// a run in their sequence order). Other files, such as the manifest, are
// left out.
func dirCaptures(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, usagef("-r %s: %v", dir, errors.Unwrap(err))
	}
	var files []string
	for _, e := range es {
		path := filepath.Join(dir, e.Name())
		if e.Name() == manifest.Name {
			continue
		}
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue // not readable: not for us to read
		}
		magic := make([]byte, 4)
		n, _ := io.ReadFull(f, magic)
		f.Close()
		if pcapread.LooksLikeCapture(magic[:n]) {
			files = append(files, path)
		}
	}
	if len(files) == 0 {
		return nil, usagef("-r %s: the directory holds no capture", dir)
	}
	return files, nil
}

// compileFilter turns a filter expression into the content predicate of a
// selection. The expression is compiled for raw IP, as for a capture, and
// sees each packet from its IP header (pcapread.IPOffset); a packet that
// carries no IP matches no expression.
func compileFilter(expr string) (pcapread.Matcher, error) {
	m, err := filter.NewMatcher(expr)
	if err != nil {
		return nil, usagef("filter expression %q: %v", expr, err)
	}
	return func(lt layers.LinkType, data []byte, origLen uint32) bool {
		off, ok := pcapread.IPOffset(lt, data)
		return ok && m.MatchCaptured(data[off:], int(origLen)-off)
	}, nil
}

// checkNotInput refuses to write over a capture being read.
func checkNotInput(out string, files []string) error {
	if out == "" || out == "-" {
		return nil
	}
	ofi, err := os.Stat(out)
	if err != nil {
		return nil
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && os.SameFile(fi, ofi) {
			return usagef("-w %s: is also read with -r; write to another file", out)
		}
	}
	return nil
}

// errReported is an error already printed on stderr: the exit code is 1,
// and nothing more is said.
var errReported = errors.New("reported")

// openCaptures opens the files as captures. A file that cannot be opened or
// is no capture is reported to problem and left out. closeAll closes them.
func openCaptures(files []string, problem func(error)) (readers []*pcapread.Reader, closeAll func()) {
	var opened []*os.File
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			problem(err)
			continue
		}
		opened = append(opened, f)
		r, err := pcapread.NewReader(f, name)
		if err != nil {
			problem(err)
			continue
		}
		readers = append(readers, r)
	}
	return readers, func() {
		for _, f := range opened {
			f.Close()
		}
	}
}

// problemReporter prints what is wrong with a capture on stderr: a
// truncated capture as a warning, anything else as an error, which makes
// failed true.
func problemReporter(stderr io.Writer, failed *bool) func(error) {
	return func(err error) {
		var pe *pcapread.Error
		if errors.As(err, &pe) && pe.Truncated {
			fmt.Fprintf(stderr, "lwtdump: warning: %s\n", oneLine(err))
			return
		}
		fmt.Fprintf(stderr, "lwtdump: %s\n", oneLine(err))
		*failed = true
	}
}

// runRead prints the selected packets of the captures, or copies them
// into a pcapng file with -w.
func runRead(parent context.Context, cfg *readConfig, stdout, stderr io.Writer) (err error) {
	// A signal ends the reading as the end of the files would: the output
	// is finished, a copy complete. A closed pipe comes back as EPIPE from
	// write.
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	var failed bool
	problem := problemReporter(stderr, &failed)
	readers, closeAll := openCaptures(cfg.files, problem)
	defer closeAll()
	m := pcapread.Merge(readers...)

	var sink func(*pcapread.Record) error
	var finish func() error
	if cfg.write == "" {
		p := text.NewPrinterWithOptions(stdout, nil, cfg.print)
		sink, finish = p.WriteRecord, func() error { return p.Flush(time.Now()) }
	} else {
		out, closeOut, err := openOutput(cfg.write, stdout)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, closeOut()) }()
		var c *writer.Copier
		var rw *pcapread.Rewriter
		start := func() error { // once the merge has read every section header
			s := m.Section()
			note := fmt.Sprintf("selected by lwtdump %s: %s", version, quoteArgs(cfg.args))
			s.Comment = strings.TrimPrefix(s.Comment+"\n"+note, "\n")
			var err error
			c, err = writer.NewCopier(out, s)
			rw = pcapread.NewRewriter(c)
			return err
		}
		sink = func(rec *pcapread.Record) error {
			if c == nil {
				if err := start(); err != nil {
					return err
				}
			}
			if err := rw.Write(rec); err != nil {
				return err
			}
			if cfg.print.Unbuffered && rec.Kind == pcapread.KindPacket {
				return c.Flush()
			}
			return nil
		}
		finish = func() error {
			if c == nil {
				if err := start(); err != nil {
					return err
				}
			}
			return c.Close()
		}
	}
	err = pcapread.Scan(m, &cfg.sel, cfg.count, func(rec *pcapread.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return sink(rec)
	}, problem)
	if err == nil || errors.Is(err, context.Canceled) {
		err = finish()
	}
	if errors.Is(err, syscall.EPIPE) {
		err = nil // the reader of stdout went away: a normal end
	}
	if err == nil && failed {
		err = errReported
	}
	return err
}

// openOutput opens the -w output: stdout for "-".
func openOutput(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := rotate.CreateFile(path, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open output: %w", err)
	}
	return f, func() error { return errors.Join(f.Sync(), f.Close()) }, nil
}

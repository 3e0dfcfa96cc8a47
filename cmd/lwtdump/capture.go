package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/text"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func captureFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "interface", Aliases: []string{"i"}, Usage: "capture the `ROUTE` PREFIX[@DEV][,cookie=N]; repeat for several routes"},
		&cli.StringFlag{Name: "hook", Value: "xmit", Usage: "hooks to capture at, comma separated: in, out, xmit"},
		&cli.StringSliceFlag{Name: "srv6-sid", Usage: "capture at the SRv6 local `SID` (a seg6local End route), which becomes End.BPF; repeat for several"},
		&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "write pcapng to `FILE` (- for stdout) instead of printing packets"},
		&cli.Uint64Flag{Name: "count", Aliases: []string{"c"}, Usage: "exit after `COUNT` packets"},
		&cli.IntFlag{Name: "snaplen", Aliases: []string{"s"}, Value: bpf.MaxSnaplen, Usage: "copy at most `SNAPLEN` bytes of each packet (1 to 262144)"},
		&cli.StringFlag{Name: "cookie", Usage: "cookie `N` of every attachment (default: the attachment number)"},
		&cli.StringFlag{Name: "netns", Usage: "capture in the network namespace `NAME`"},
		&cli.UintFlag{Name: "table", Value: bpf.MainTable, Usage: "routing `TABLE` of the routes"},
		&cli.IntFlag{Name: "buffer-size", Aliases: []string{"B"}, Value: bpf.DefaultPerCPUBuffer >> 10, Usage: "kernel buffer of each CPU, in `KiB` (the ring buffer gets this times the number of CPUs, rounded up to a power of two)"},
		&cli.StringFlag{Name: "transport", Value: "ringbuf", Usage: "how samples reach user space: ringbuf (one buffer shared by all CPUs, samples in time order) or perf (a buffer per CPU)"},
		&cli.StringFlag{Name: "relinquish-privileges", Aliases: []string{"Z"}, Usage: "once attached and the first file is open, become `USER`, keeping only CAP_NET_ADMIN to restore the routes"},
		&cli.BoolFlag{Name: "packet-buffered", Aliases: []string{"U"}, Usage: "write each packet out as soon as it is captured"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each packet's metadata"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "say nothing on stderr but errors and the summary"},
		&cli.StringFlag{Name: "ready-file", Usage: "create `FILE` once every route is attached and the output is open"},
		&cli.StringFlag{Name: "state-dir", Value: route.DefaultStateDir, Usage: "keep what is needed to restore routes after a crash in `DIR`"},
		&cli.StringFlag{Name: "file-size", Aliases: []string{"C"}, Usage: "with -w FILE: start a new file once the current one exceeds `MB` million bytes (or NNk, NNm, NNg: KiB, MiB, GiB); files FILE, FILE1, FILE2..."},
		&cli.IntFlag{Name: "rotate-seconds", Aliases: []string{"G"}, Usage: "with -w FILE: start a new file every `SECONDS`; FILE may hold strftime conversions such as %Y%m%d-%H%M%S"},
		&cli.IntFlag{Name: "file-count", Aliases: []string{"W"}, Usage: "with -C: keep a ring of `N` files, overwriting the oldest; with -G: stop after N files"},
		&cli.StringFlag{Name: "postrotate-command", Aliases: []string{"z"}, Usage: "run `CMD` FILE on every finished file, without a shell and without waiting"},
		&cli.StringFlag{Name: "file-mode", Usage: "permissions of the files written, in octal (`MODE`, default 0600)"},
		&cli.BoolFlag{Name: "no-manifest", Usage: "with -w FILE: record no manifest line for the files (and spend no time hashing them)"},
		&cli.StringFlag{Name: "filter-file", Aliases: []string{"F"}, Usage: "read the filter expression from `FILE` (# starts a comment)"},
		&cli.BoolFlag{Name: "no-follow", Usage: "end the capture (exit code 1) when another process replaces or removes a captured route, instead of following it"},
	}
}

// captureConfig is a validated capture command line.
type captureConfig struct {
	opts       bpf.Options
	write      string
	count      uint64
	unbuffered bool
	verbose    bool
	print      text.Options
	quiet      bool
	noSummary  bool // say nothing on stderr but errors (extcap captures)
	readyFile  string
	args       []string
	rotate     rotate.Options // for -w FILE
	noManifest bool           // --no-manifest
	user       *account       // -Z: drop to this user; nil to stay
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
	var err error
	if cfg.print, err = printOptions(c); err != nil {
		return nil, err
	}
	o := &cfg.opts
	o.NoFollow = c.Bool("no-follow")
	expr, err := filterExpression(c)
	if err != nil {
		return nil, err
	}
	if expr != "" {
		prog, err := filter.Compile(expr)
		if err != nil {
			return nil, usagef("filter expression %q: %v", expr, err)
		}
		o.Filter, o.FilterProgram = expr, prog
	}
	for _, arg := range c.StringSlice("interface") {
		for _, s := range strings.Fields(arg) { // "-i 'A B'" is -i A -i B
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
	}
	for _, s := range c.StringSlice("srv6-sid") {
		sid, err := netip.ParseAddr(s)
		if err != nil || !sid.Is6() || sid.Is4In6() || sid.Zone() != "" {
			return nil, usagef("--srv6-sid %q is not an IPv6 address (want a local SID such as 2001:db8:f1::1)", s)
		}
		if slices.Contains(o.SIDs, sid) {
			return nil, usagef("--srv6-sid %s given twice", sid)
		}
		o.SIDs = append(o.SIDs, sid)
	}
	if len(o.Targets) == 0 && len(o.SIDs) == 0 {
		return nil, usagef("no route to capture: give one with -i PREFIX[@DEV], such as -i 2001:db8:20::/48@eth1, or an SRv6 SID with --srv6-sid SID")
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
	transport, err := bpf.ParseTransport(c.String("transport"))
	if err != nil {
		return nil, usagef("--transport: %v", err)
	}
	o.Reader.Transport = transport
	if cfg.unbuffered {
		o.Reader.Watermark = 1
	}
	if err := parseRotation(c, cfg); err != nil {
		return nil, err
	}
	if name := c.String("relinquish-privileges"); name != "" {
		var err error
		if cfg.user, err = lookupAccount(name); err != nil {
			return nil, err
		}
	}
	if err := checkOutput(cfg.write, cfg.rotate); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseRotation reads -C, -G, -W, -z and --file-mode into cfg.rotate.
func parseRotation(c *cli.Context, cfg *captureConfig) error {
	for _, f := range []struct{ name, flag string }{
		{"file-size", "-C"}, {"rotate-seconds", "-G"}, {"file-count", "-W"}, {"postrotate-command", "-z"}, {"file-mode", "--file-mode"},
		{"no-manifest", "--no-manifest"},
	} {
		if c.IsSet(f.name) && (cfg.write == "" || cfg.write == "-") {
			return usagef("%s needs -w FILE: it applies to files, not to stdout", f.flag)
		}
	}
	if cfg.write == "" || cfg.write == "-" {
		return nil
	}
	o := &cfg.rotate
	o.Path = cfg.write
	cfg.noManifest = c.Bool("no-manifest")
	if c.IsSet("file-size") {
		s := c.String("file-size")
		n, err := parseFileSize(s)
		if err != nil {
			return usagef("-C %s: give a size of 1 or more million bytes, or NNk, NNm, NNg for KiB, MiB, GiB", s)
		}
		o.SizeLimit = n
	}
	if c.IsSet("rotate-seconds") {
		g := c.Int("rotate-seconds")
		if g < 1 {
			return usagef("-G %d: give a number of seconds of 1 or more", g)
		}
		o.Interval = time.Duration(g) * time.Second
	}
	if c.IsSet("file-count") {
		w := c.Int("file-count")
		switch {
		case w < 1:
			return usagef("-W %d: give a number of files of 1 or more", w)
		case o.SizeLimit == 0 && o.Interval == 0:
			return usagef("-W %d needs -C (a ring of files) or -G (stop after N files)", w)
		}
		o.Count = w
	}
	if z := c.String("postrotate-command"); z != "" {
		if _, err := exec.LookPath(z); err != nil {
			return usagef("-z %s: no such program (give a program, run as `%s FILE`, not a shell command)", z, z)
		}
		o.PostRotate = z
	}
	if s := c.String("file-mode"); s != "" {
		m, err := strconv.ParseUint(s, 8, 32)
		if err != nil || m == 0 || m > 0o777 {
			return usagef("--file-mode %s: give permissions in octal, such as 0600 or 0640", s)
		}
		o.FileMode = fs.FileMode(m)
	}
	if err := o.Validate(); err != nil {
		return usagef("-w %s: %v", cfg.write, err)
	}
	return nil
}

// parseFileSize reads -C as tcpdump does: millions of bytes, or with a
// suffix k, m or g (either case) KiB, MiB or GiB.
func parseFileSize(s string) (int64, error) {
	unit := int64(1_000_000)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			unit = 1 << 10
		case 'm', 'M':
			unit = 1 << 20
		case 'g', 'G':
			unit = 1 << 30
		}
		if unit != 1_000_000 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("size %d out of range", n)
	}
	return n * unit, nil
}

// filterExpression returns the filter expression: the arguments after the
// flags joined by spaces, or the contents of -F FILE without its comments,
// as tcpdump reads them. Flags written after the expression are refused,
// since they would become part of it.
func filterExpression(c *cli.Context) (string, error) {
	args := c.Args().Slice()
	for _, a := range args {
		if strings.HasPrefix(a, "-") && isFlag(c, strings.TrimLeft(a, "-")) {
			return "", usagef("%s after the filter expression: write the flags first, the expression last", a)
		}
	}
	path := c.String("filter-file")
	if path == "" {
		return strings.Join(strings.Fields(strings.Join(args, " ")), " "), nil
	}
	if len(args) > 0 {
		return "", usagef("-F %s and an expression on the command line: give the expression one way", path)
	}
	return filterFile(path)
}

// filterFile reads the filter expression of -F FILE.
func filterFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("-F %s: %v", path, errors.Unwrap(err))
	}
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		lines = append(lines, line)
	}
	expr := strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	if expr == "" {
		return "", usagef("-F %s: the file holds no filter expression", path)
	}
	return expr, nil
}

// isFlag reports whether name (without dashes, maybe with "=value") is one of the command's flags.
func isFlag(c *cli.Context, name string) bool {
	name, _, _ = strings.Cut(name, "=")
	for _, f := range c.App.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// checkOutput refuses an output that cannot work before anything is touched.
// A file is checked by the name of its first file (-G expands strftime
// conversions, which may name a directory).
func checkOutput(path string, o rotate.Options) error {
	switch path {
	case "":
		return nil
	case "-":
		if isTerminal(os.Stdout) {
			return usagef("-w -: stdout is a terminal; pipe it into a program (lwtdump -w - | tshark -i -) or write to a file")
		}
		return nil
	}
	name := o.FileName(time.Now(), 0)
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return usagef("-w %s: %s is a directory; give a file name", path, name)
	}
	dir := filepath.Dir(name)
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

	if err := bpf.CheckPrivileges(cfg.opts.Netns != ""); err != nil {
		return err
	}
	start := time.Now()
	if !cfg.noSummary { // extcap: Wireshark takes any line on stderr for an error
		cfg.opts.Notify = noticePrinter(stderr)
	}
	capture, err := bpf.Start(cfg.opts)
	if bpf.BadTarget(err) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, capture.Close()) }()

	out, err := openSink(cfg, capture, start, stdout, stderr)
	if err != nil {
		return captureError(err) // the reader may be gone before the section header
	}
	if cfg.write == "-" {
		// End soon after the reader goes away, even when no packet comes.
		var stopWatch func()
		ctx, stopWatch = watchReader(ctx, stdout)
		defer stopWatch()
	}
	sink, finish := testSink(out.sink), sync.OnceValue(out.finish)
	summarized := cfg.noSummary
	summary := func() error {
		if !summarized {
			summarized = true
			printSummary(stderr, capture, cfg.verbose)
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
		for _, a := range capture.Attachments() {
			fmt.Fprintf(stderr, "lwtdump: capturing at %s (cookie %#x), snaplen %d bytes\n", a.Name(), a.Cookie, a.Snaplen)
		}
		if cfg.rotate.Interval > 0 && !cfg.rotate.TimeInName() {
			fmt.Fprintf(stderr, "lwtdump: warning: -w %s has no strftime conversion, so each -G file replaces the last (add one, such as %%Y%%m%%d-%%H%%M%%S)\n", cfg.write)
		}
	}
	if cfg.readyFile != "" {
		if err := os.WriteFile(cfg.readyFile, []byte(capture.StatePath()+"\n"), 0o600); err != nil {
			return fmt.Errorf("write ready file: %w", err)
		}
	}
	if cfg.user != nil {
		if err := dropPrivileges(cfg.user, capture.ChownState, out.chown); err != nil {
			return errors.Join(err, finish())
		}
		if err := checkOutputWritable(cfg); err != nil {
			return errors.Join(err, finish())
		}
	}
	testHook("capturing")
	runErr := capture.Run(ctx, sink, cfg.count)
	finishErr := finish()
	if errors.Is(runErr, writer.ErrDone) && !cfg.quiet {
		fmt.Fprintf(stderr, "lwtdump: file limit reached: %d files\n", cfg.rotate.Count)
	}
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
// (writer.ErrDone) are normal ends. The writer keeps its first error and
// returns it again when closed: it is told once.
func captureError(errs ...error) error {
	var out []error
	seen := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if err == nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, writer.ErrDone) || seen[err.Error()] {
			return
		}
		seen[err.Error()] = true
		out = append(out, err)
	}
	for _, err := range errs {
		walk(err)
	}
	return errors.Join(out...)
}

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
		Counters:    capture.Counters,
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

func parseUint(s string) (uint64, error) { return strconv.ParseUint(s, 0, 64) }

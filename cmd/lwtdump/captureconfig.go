package main

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
	"github.com/lwtdump/lwtdump/cmd/internal/text"
	"github.com/lwtdump/lwtdump/rotate"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

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
	oneIface   bool           // --one-interface
	user       *account       // -Z: drop to this user; nil to stay
	metrics    string         // --metrics ADDR
	log        *eventlog.Logger
	autostop   autostop // -a
	// stdoutTimeout ends the capture once the reader of stdout has taken
	// nothing for so long (--stdout-timeout); 0 waits for ever.
	stdoutTimeout time.Duration
}

// parseCapture reads and checks a capture command line; args is the whole
// command line, which the capture records as its provenance.
func parseCapture(c *cli.Context, args []string) (*captureConfig, error) {
	cfg := &captureConfig{
		write:      c.String("write"),
		count:      c.Uint64("count"),
		unbuffered: c.Bool("packet-buffered"),
		verbose:    c.Bool("verbose"),
		quiet:      c.Bool("quiet"),
		readyFile:  c.String("ready-file"),
		args:       args,
		metrics:    c.String("metrics"),
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
	if snap == 0 { // tcpdump's "the whole packet"
		snap = bpf.MaxSnaplen
	}
	if snap < 1 || snap > bpf.MaxSnaplen {
		return nil, usagef("-s %d: snaplen must be 1 to %d (or 0: the whole packet)", snap, bpf.MaxSnaplen)
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
	if cfg.oneIface = c.Bool("one-interface"); cfg.oneIface && cfg.write == "" {
		return nil, usagef("--one-interface needs -w: it says how packets are written to pcapng")
	}
	if cfg.autostop, err = parseAutostop(c.StringSlice("autostop"), cfg.write, cfg.rotate.SizeLimit > 0 || cfg.rotate.Interval > 0); err != nil {
		return nil, err
	}
	if n := cfg.autostop.packets; n > 0 && (cfg.count == 0 || n < cfg.count) {
		cfg.count = n // -a packets is -c; the smaller wins
	}
	timeout := c.Int("stdout-timeout")
	if timeout < 0 {
		return nil, usagef("--stdout-timeout %d: give the seconds to wait for the reader of stdout, or 0 to wait for ever", timeout)
	}
	cfg.stdoutTimeout = time.Duration(timeout) * time.Second
	if name := c.String("relinquish-privileges"); name != "" {
		var err error
		if cfg.user, err = lookupAccount(name); err != nil {
			return nil, err
		}
	}
	if err := checkOutput(cfg.write, cfg.rotate, c.App.Writer); err != nil {
		return nil, err
	}
	if cfg.readyFile != "" {
		if err := rotate.CheckCreate(cfg.readyFile); err != nil {
			return nil, usagef("--ready-file %s: %v", cfg.readyFile, err)
		}
	}
	return cfg, nil
}

// parseRotation reads -C, -G, -W, -z and --file-mode into cfg.rotate.
func parseRotation(c *cli.Context, cfg *captureConfig) error {
	for _, f := range captureFlagsFor(forFiles) {
		if c.IsSet(f.Names()[0]) && (cfg.write == "" || cfg.write == "-") {
			return usagef("%s needs -w FILE: it applies to files, not to stdout", flagName(f))
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

func parseUint(s string) (uint64, error) { return strconv.ParseUint(s, 0, 64) }

// checkOutput refuses an output that cannot work before anything is touched:
// -w - when stdout is a terminal, or a file in a directory that is not
// there or not writable. A file is checked by the name of its first file
// (-G expands strftime conversions, which may name a directory).
func checkOutput(path string, o rotate.Options, stdout io.Writer) error {
	switch path {
	case "":
		return nil
	case "-":
		if isTerminal(stdout) {
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
	if err := o.CheckCreate(time.Now()); err != nil {
		return usagef("-w %s: %v", path, err)
	}
	return nil
}

// isTerminal reports whether w is a file open on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

package main

// Wireshark's extcap interface: put in (or linked into) Wireshark's extcap
// folder, the lwtdump binary lists itself as a capture interface, describes
// its options, and captures into the FIFO Wireshark reads. The calls and the
// output grammar are those of Wireshark's doc/extcap.adoc and of the
// developer guide's chapter "Extcap: Developer Guide":
//
//	lwtdump --extcap-interfaces [--extcap-version=4.0]
//	lwtdump --extcap-interface lwtdump --extcap-dlts
//	lwtdump --extcap-interface lwtdump --extcap-config
//	lwtdump --extcap-interface lwtdump --extcap-capture-filter FILTER   (is FILTER valid?)
//	lwtdump --extcap-interface lwtdump --capture --fifo PATH [--extcap-capture-filter F] [options]

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/urfave/cli/v2"
	cbpf "golang.org/x/net/bpf"
)

const (
	extcapInterface = "lwtdump"
	// extcapDisplay is what Wireshark's interface list shows before the
	// interface ("LWT-route-capture: lwtdump", as "SSH remote capture:
	// sshdump"), and what its temporary file is named after
	// (wireshark_LWT-route-capture_....pcapng): no spaces, no quotes.
	extcapDisplay = "LWT-route-capture"
	extcapHelp    = "https://github.com/lwtdump/lwtdump#live-capture-into-wireshark"
)

// extcapConfig is the answer to --extcap-config: one arg per capture option,
// each calling the lwtdump flag of the same name. Wireshark passes no value
// for an option left unset: the flag's default applies then. The hooks are
// a selector of the combinations --hook takes, lwt_xmit first: Wireshark
// (4.0 and later) keeps an extcap option's value as a preference that
// starts empty, and opens its dialog with that, which for a multicheck
// ticks nothing whatever the values' defaults, and for a selector shows the
// first value.
var extcapConfig = fmt.Sprintf(`arg {number=0}{call=--interface}{display=Routes}{type=string}{required=true}{placeholder=2001:db8:20::/48}{tooltip=The routes to capture, separated by spaces: PREFIX captures the existing route, PREFIX@DEV the existing route through DEV (when there is none, it adds one for the capture only when Wireshark runs as root), PREFIX,cookie=N sets its cookie}
arg {number=1}{call=--hook}{display=Hooks}{type=selector}{tooltip=The LWT hooks to capture at on each route: lwt_in is the route's input path, lwt_out its output path, lwt_xmit just before the device}
value {arg=1}{value=xmit}{display=lwt_xmit}{default=true}
value {arg=1}{value=in}{display=lwt_in}{default=false}
value {arg=1}{value=out}{display=lwt_out}{default=false}
value {arg=1}{value=in,xmit}{display=lwt_in and lwt_xmit}{default=false}
value {arg=1}{value=out,xmit}{display=lwt_out and lwt_xmit}{default=false}
value {arg=1}{value=in,out}{display=lwt_in and lwt_out}{default=false}
value {arg=1}{value=in,out,xmit}{display=lwt_in, lwt_out and lwt_xmit}{default=false}
arg {number=2}{call=--netns}{display=Network namespace}{type=string}{tooltip=Capture in this named network namespace (empty: lwtdump's own)}
arg {number=3}{call=--table}{display=Routing table}{type=unsigned}{range=1,4294967295}{default=%d}{tooltip=The routing table of the routes (254 is main)}
arg {number=4}{call=--cookie}{display=Cookie}{type=string}{placeholder=0xbeef}{tooltip=The cookie written in every packet's comment (empty: the attachment's number)}
arg {number=5}{call=--snaplen}{display=Snapshot length}{type=integer}{range=1,%d}{default=%d}{tooltip=Copy at most this many bytes of each packet}
arg {number=6}{call=--packet-buffered}{display=Write each packet at once}{type=boolflag}{default=false}{tooltip=Wake up for every packet instead of in batches of at most 100 ms}
`, bpf.MainTable, bpf.MaxSnaplen, bpf.MaxSnaplen)

// isExtcapCall reports whether a command line is a call from Wireshark's
// extcap machinery rather than a command typed by a user.
func isExtcapCall(args []string) bool {
	for _, a := range args[1:] {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(a, "=")
		if strings.HasPrefix(name, "--extcap-") || name == "--capture" || name == "--fifo" {
			return true
		}
	}
	return false
}

// runExtcap answers one extcap call and returns the exit code. Queries exit
// 0 (Wireshark drops an interface whose queries fail); a capture says
// nothing on stderr but an error, since Wireshark shows whatever an extcap
// writes there as one.
func runExtcap(args []string, stdout, stderr io.Writer) int {
	parsed := slices.Clone(args)
	for i, a := range parsed {
		if a == "--extcap-version" { // its value is optional
			parsed[i] = "--extcap-version="
		}
	}
	return exitCode(newExtcapApp(args, stdout, stderr).Run(parsed), stderr)
}

// newExtcapApp is the app of an extcap call; args is the call as Wireshark
// made it, which a capture records as its provenance.
func newExtcapApp(args []string, stdout, stderr io.Writer) *cli.App {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "extcap-interfaces", Usage: "list the extcap interfaces"},
		&cli.StringFlag{Name: "extcap-version", Usage: "the calling Wireshark's `VERSION`"},
		&cli.StringFlag{Name: "extcap-interface", Usage: "the extcap `INTERFACE` of the call"},
		&cli.BoolFlag{Name: "extcap-dlts", Usage: "list the interface's link types"},
		&cli.BoolFlag{Name: "extcap-config", Usage: "list the interface's options"},
		&cli.StringFlag{Name: "extcap-reload-option", Usage: "reload the values of `OPTION` (none can be)"},
		&cli.StringFlag{Name: "extcap-capture-filter", Usage: "the capture `FILTER`"},
		&cli.BoolFlag{Name: "capture", Usage: "capture into --fifo"},
		&cli.StringFlag{Name: "fifo", Usage: "the `FIFO` to write pcapng to"},
		&cli.StringFlag{Name: "extcap-control-in", Usage: "control pipe (unused)"},
		&cli.StringFlag{Name: "extcap-control-out", Usage: "control pipe (unused)"},
		&cli.BoolFlag{Name: "debug", Usage: "ignored"},
		&cli.StringFlag{Name: "debug-file", Usage: "ignored"},
	}
	// Every capture flag, with its default, so that parseCapture reads an
	// extcap capture as it reads a command line: those of extcapConfig,
	// and the others (--ready-file, --state-dir, -B...) for scripts and tests.
	flags = append(flags, captureFlags()...)
	return &cli.App{
		Name:                      "lwtdump",
		Usage:                     "Wireshark extcap interface of lwtdump",
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideHelp:                  true,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Flags:                     flags,
		Action:                    func(c *cli.Context) error { return extcapAction(c, args) },
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func extcapAction(c *cli.Context, args []string) error {
	out := c.App.Writer
	if c.Bool("capture") {
		return extcapCapture(c, args)
	}
	if c.Bool("extcap-interfaces") {
		fmt.Fprintf(out, "extcap {version=%s}{help=%s}\n", version, extcapHelp)
		fmt.Fprintf(out, "interface {value=%s}{display=%s}\n", extcapInterface, extcapDisplay)
		return nil
	}
	if c.IsSet("extcap-version") && !c.IsSet("extcap-interface") {
		fmt.Fprintf(out, "extcap {version=%s}{help=%s}\n", version, extcapHelp)
		return nil
	}
	if err := checkExtcapInterface(c); err != nil {
		return err
	}
	switch {
	case c.Bool("extcap-dlts"):
		fmt.Fprintf(out, "dlt {number=101}{name=RAW}{display=Raw IPv4 and IPv6 (LWT hooks see no link-layer header)}\n")
	case c.Bool("extcap-config"):
		if c.IsSet("extcap-reload-option") {
			return nil // no option has values to reload
		}
		io.WriteString(out, extcapConfig)
	case c.IsSet("extcap-capture-filter"):
		// Wireshark checks a capture filter by this call: nothing on
		// stdout means valid, a line is the reason it is not.
		if _, _, err := captureFilter(c.String("extcap-capture-filter")); err != nil {
			fmt.Fprintln(out, oneLine(err))
		}
	default:
		return usagef("extcap: nothing to do (want --extcap-interfaces, --extcap-dlts, --extcap-config or --capture)")
	}
	return nil
}

func checkExtcapInterface(c *cli.Context) error {
	switch ifc := c.String("extcap-interface"); ifc {
	case extcapInterface:
		return nil
	case "":
		return usagef("extcap: no --extcap-interface given (lwtdump has one: %s)", extcapInterface)
	default:
		return usagef("extcap: unknown interface %q (lwtdump has one: %s)", ifc, extcapInterface)
	}
}

// captureFilter compiles an extcap capture filter, a filter expression as
// lwtdump takes on its command line ("" and no program when it is empty).
func captureFilter(expr string) (string, []cbpf.RawInstruction, error) {
	expr = strings.Join(strings.Fields(expr), " ")
	if expr == "" {
		return "", nil, nil
	}
	prog, err := filter.Compile(expr)
	if err != nil {
		return "", nil, usagef("capture filter %q: %v", expr, err)
	}
	return expr, prog, nil
}

// extcapCapture runs a capture into the FIFO. The FIFO is opened first of
// all, even when the options are wrong: Wireshark waits for it to be opened
// and would hang on an extcap that exits before; it sees the error once the
// FIFO is closed and lwtdump has exited.
func extcapCapture(c *cli.Context, args []string) (err error) {
	path := c.String("fifo")
	if path == "" {
		return usagef("extcap: --capture needs --fifo PATH")
	}
	fifo, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open fifo: %w", err)
	}
	defer func() { err = withHintsFor(captureError(err, fifo.Close()), extcapDialog) }()
	if err := checkExtcapInterface(c); err != nil {
		return err
	}
	if len(c.StringSlice("interface")) == 0 && len(c.StringSlice("srv6-sid")) == 0 {
		return usagef("no route to capture: give one in Routes, such as 2001:db8:20::/48, or 2001:db8:20::/48@eth1 to add it through eth1")
	}
	expr, prog, err := captureFilter(c.String("extcap-capture-filter"))
	if err != nil {
		return err
	}
	if c.String("hook") == "" {
		c.Set("hook", "xmit") // an empty preference
	}
	cfg, err := parseCapture(c, args)
	if err != nil {
		return err
	}
	if expr != "" {
		cfg.opts.Filter, cfg.opts.FilterProgram = expr, prog
	}
	cfg.write = "-"
	cfg.quiet, cfg.noSummary = true, true
	return runCapture(c.Context, cfg, fifo, c.App.ErrWriter)
}

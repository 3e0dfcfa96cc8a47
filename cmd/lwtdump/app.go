package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure
	exitUsage   = 2 // a bad command line
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// run executes one command line and returns the exit code. Errors are
// printed once, as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if isExtcapCall(args) {
		return runExtcap(args, stdout, stderr)
	}
	app := newApp(args, stdout, stderr)
	app.Setup() // adds --help and --version, which tcpdumpArgs must know
	argv, err := tcpdumpArgs(args, app.Flags)
	if err != nil {
		return exitCode(err, stderr)
	}
	return exitCode(app.Run(argv), stderr)
}

// exitCode prints err, unless it is nil or already reported, as one line on
// stderr, and returns the exit code it means.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	if !errors.Is(err, errReported) {
		fmt.Fprintf(stderr, "lwtdump: %s\n", oneLine(withHints(err)))
	}
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

// oneLine prints an error on one line; the errors of errors.Join are
// separated by "; ".
func oneLine(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// newApp is the command line app for args, the whole command line, which a
// capture records as its provenance.
func newApp(args []string, stdout, stderr io.Writer) *cli.App {
	// -v is verbose, as in tcpdump; the version is --version only.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	capture := captureFlags()
	return &cli.App{
		Name:  "lwtdump",
		Usage: "capture packets at the lightweight-tunnel hooks of Linux routes",
		UsageText: "lwtdump -i PREFIX[@DEV][,cookie=N] [--hook in,out,xmit] [--srv6-sid SID] [-w FILE|-] [-C MB] [-G SECONDS] [-W N] [-z CMD] [-c COUNT] [-a COND]... [-s SNAPLEN] [--netns NAME] [--table N] [--metrics ADDR] [--config FILE] [-F FILE | EXPRESSION]\n" +
			"lwtdump -r FILE|DIR... [-n] [-t...] [-v|-vv] [-A|-X] [-l] [--hook H] [--cookie N] [--route PREFIX] [-c COUNT] [-w FILE|-] [-F FILE | EXPRESSION]\n" +
			"lwtdump -d|-dd|-ddd|--dump-ebpf [-s SNAPLEN] [-F FILE | EXPRESSION]\n" +
			"lwtdump stats FILE... [--json]\n" +
			"lwtdump verify DIR|FILE... [--json]\n" +
			"lwtdump wireshark install|uninstall\n" +
			"lwtdump list [--netns NAME]\n" +
			"lwtdump cleanup [--netns NAME] [--strip]",
		Version:                version,
		Writer:                 stdout,
		ErrWriter:              stderr,
		UseShortOptionHandling: true,
		// -i PREFIX,cookie=N must reach us whole, not split at the comma.
		DisableSliceFlagSeparator: true,
		Flags:                     append(append(capture, readFlags()...), configFlag()),
		Before:                    loadConfig(capture),
		Action:                    func(c *cli.Context) error { return rootAction(c, args) },
		Commands: subcommands(statsCommand(), verifyCommand(), listCommand(), cleanupCommand(), wiresharkCommand(), versionCommand(),
			manCommand(), completionCommand(), reapStateCommandDef()),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run prints errors and picks the exit code
	}
}

// versionCommand prints the version, as --version does.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("version: unexpected argument %q", c.Args().First())
			}
			cli.ShowVersion(c)
			return nil
		},
	}
}

// subcommands makes every command of cmds, and each of their subcommands,
// treat a bad flag as the main command does: one line on stderr that names
// the command, exit code 2, no help text.
func subcommands(cmds ...*cli.Command) []*cli.Command {
	return namedSubcommands("", cmds)
}

func namedSubcommands(parent string, cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		name := strings.TrimSpace(parent + " " + cmd.Name)
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return usagef("%s: %v (lwtdump %s --help lists its flags)", name, err, name)
		}
		namedSubcommands(name, cmd.Subcommands)
	}
	return cmds
}

// exitCodes is the paragraph of a subcommand's help that gives its exit
// codes: 0 when ok, 1 when failed, 2 for a bad command line.
func exitCodes(ok, failed string) string {
	return "Exit codes: 0 " + ok + "; 1 " + failed + "; 2 a bad command line, said in one line."
}

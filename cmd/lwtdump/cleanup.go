package main

import (
	"fmt"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/urfave/cli/v2"
)

func cleanupCommand() *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "restore the routes of an lwtdump that was killed or crashed",
		UsageText: "lwtdump cleanup [--netns NAME] [--state-dir DIR] [--strip | --recorded-only]\n\n" +
			"Replays the state files of lwtdump processes that are gone, each in the network\n" +
			"namespace it records (only those of NAME with --netns), touching only routes that\n" +
			"still carry that process's programs. Then reports routes of the namespace that still\n" +
			"carry a gone lwtdump's programs with no state file; --strip removes those, and\n" +
			"--recorded-only does not look for them (a service instance cleans up its own state only).",
		Description: exitCodes("nothing left to clean up (every route restored, or none to restore)",
			"a route left as it is: a state file that could not be replayed, or programs of a gone lwtdump without a state file (without --strip)"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "netns", Usage: "only the network namespace `NAME`"},
			&cli.StringFlag{Name: "state-dir", Value: route.DefaultStateDir, Usage: "where lwtdump keeps its state files (`DIR`)"},
			&cli.BoolFlag{Name: "strip", Usage: "also remove a gone lwtdump's programs from routes no state file records"},
			&cli.BoolFlag{Name: "recorded-only", Usage: "replay the state files of DIR only; leave routes that no state file records to others"},
		},
		Action: cleanupAction,
	}
}

func cleanupAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("cleanup: unexpected argument %q", c.Args().First())
	}
	if c.Bool("strip") && c.Bool("recorded-only") {
		return usagef("cleanup: --strip and --recorded-only exclude each other: --strip acts on routes no state file records")
	}
	if c.Bool("strip") && !bpf.Root() {
		return fmt.Errorf("cleanup --strip: only root may strip the programs of routes that no state file records: %s", forCapturingOnly())
	}
	steps, err := bpf.Cleanup(bpf.CleanupOptions{
		Netns:        c.String("netns"),
		StateDir:     c.String("state-dir"),
		Strip:        c.Bool("strip"),
		RecordedOnly: c.Bool("recorded-only"),
	})
	for _, s := range steps {
		fmt.Fprintln(c.App.Writer, stepLine(s, bpf.Root()))
	}
	if len(steps) == 0 && err == nil {
		fmt.Fprintln(c.App.Writer, "nothing to clean up")
	}
	return err
}

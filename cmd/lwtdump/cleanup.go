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
		UsageText: "lwtdump cleanup [--netns NAME] [--state-dir DIR] [--strip]\n\n" +
			"Replays the state files of lwtdump processes that are gone, each in the network\n" +
			"namespace it records (only those of NAME with --netns), touching only routes that\n" +
			"still carry that process's programs. Then reports routes of the namespace that still\n" +
			"carry a gone lwtdump's programs with no state file; --strip removes those.",
		Description: exitCodes("nothing left to clean up (every route restored, or none to restore)",
			"a route left as it is: a state file that could not be replayed, or programs of a gone lwtdump without a state file (without --strip)"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "netns", Usage: "only the network namespace `NAME`"},
			&cli.StringFlag{Name: "state-dir", Value: route.DefaultStateDir, Usage: "where lwtdump keeps its state files (`DIR`)"},
			&cli.BoolFlag{Name: "strip", Usage: "also remove a gone lwtdump's programs from routes no state file records"},
		},
		Action: cleanupAction,
	}
}

func cleanupAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("cleanup: unexpected argument %q", c.Args().First())
	}
	steps, err := bpf.Cleanup(bpf.CleanupOptions{
		Netns:    c.String("netns"),
		StateDir: c.String("state-dir"),
		Strip:    c.Bool("strip"),
	})
	for _, s := range steps {
		fmt.Fprintln(c.App.Writer, stepLine(s))
	}
	if len(steps) == 0 && err == nil {
		fmt.Fprintln(c.App.Writer, "nothing to clean up")
	}
	return err
}

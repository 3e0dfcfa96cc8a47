package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/urfave/cli/v2"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "show every route that carries a BPF program (lwtdump's captures and others')",
		UsageText: "lwtdump list [--netns NAME] [--state-dir DIR]",
		Description: exitCodes("the routes listed (also when there are none)",
			"the routes or the state files could not be read"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "netns", Usage: "look in the network namespace `NAME`"},
			&cli.StringFlag{Name: "state-dir", Value: route.DefaultStateDir, Usage: "where lwtdump keeps its state files (`DIR`)"},
		},
		Action: listAction,
	}
}

func listAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("list: unexpected argument %q", c.Args().First())
	}
	found, err := bpf.List(c.String("netns"), c.String("state-dir"))
	if errors.Is(err, route.ErrNoNetns) {
		return usagef("list: %v", err)
	}
	if err != nil {
		return err
	}
	out := c.App.Writer
	if len(found) == 0 {
		fmt.Fprintln(out, "no route carries a BPF program")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tTABLE\tDEV\tPROGRAMS\tNEXTHOPS\tOWNER")
	for _, f := range found {
		var progs []string
		for _, p := range f.Programs {
			progs = append(progs, p.Hook+"="+p.Name)
		}
		dev := f.Dev
		if dev == "" {
			dev = "-"
		}
		// lwtdump's copies of the route's nexthop objects: "ID(of ORIGINAL)".
		var nhs []string
		for _, n := range f.Nexthops {
			nhs = append(nhs, fmt.Sprintf("%d(of %d)", n.Nexthop.ID(), n.Of))
		}
		if nhs == nil {
			nhs = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", f.Route.Dst(), f.Route.Table(), dev, strings.Join(progs, " "), strings.Join(nhs, ","), owner(f))
	}
	return tw.Flush()
}

// owner says whose programs a route carries and what to do about them.
func owner(f bpf.Captured) string {
	switch {
	case f.Foreign():
		return "not lwtdump"
	case f.Alive:
		return fmt.Sprintf("lwtdump pid %d, running", f.Owner)
	case f.State != "":
		return fmt.Sprintf("lwtdump pid %d, gone: run lwtdump cleanup (state file %s)", f.Owner, f.State)
	default:
		return fmt.Sprintf("lwtdump pid %d, gone, no state file: run lwtdump cleanup --strip", f.Owner)
	}
}

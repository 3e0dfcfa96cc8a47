package main

import (
	"fmt"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/urfave/cli/v2"
)

// dumpAction prints the program of the filter expression and captures
// nothing, as tcpdump -d does: with -d, -dd or -ddd the classic BPF that
// lwtdump compiles (the program `tcpdump -d -y RAW EXPR` prints, returning
// the snaplen of -s for a match), with --dump-ebpf the eBPF function the
// kernel runs. The expression is the capture's (after the flags, or -F
// FILE) or, with -r, the one after the files.
func dumpAction(c *cli.Context) error {
	var expr string
	var err error
	if c.IsSet("read") {
		flag := func(name string) bool { return isFlag(c, name) }
		if _, expr, err = captureFiles(c.StringSlice("read"), c.Args().Slice(), flag); err == nil && c.String("filter-file") != "" {
			if expr != "" {
				return usagef("-F %s and an expression on the command line: give the expression one way", c.String("filter-file"))
			}
			expr, err = filterFile(c.String("filter-file"))
		}
	} else {
		expr, err = filterExpression(c)
	}
	if err != nil {
		return err
	}
	snap := c.Int("snaplen")
	if snap == 0 {
		snap = bpf.MaxSnaplen // tcpdump's -s 0
	}
	if snap < 0 || snap > bpf.MaxSnaplen {
		return usagef("-s %d: snaplen must be 1 to %d", snap, bpf.MaxSnaplen)
	}
	prog, err := filter.Compile(expr)
	if err != nil {
		return usagef("filter expression %q: %v", expr, err)
	}
	out := c.App.Writer
	if d := c.Count("d"); d > 0 {
		if err := filter.Dump(out, filter.WithSnaplen(prog, uint32(snap)), filter.DumpFormat(d)); err != nil {
			return err
		}
	}
	if !c.Bool("dump-ebpf") {
		return nil
	}
	if expr == "" {
		return usagef("--dump-ebpf: no filter expression: without one the capture program copies every packet and runs no filter")
	}
	fn, err := bpf.FilterFunction(prog)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%v", fn)
	return err
}

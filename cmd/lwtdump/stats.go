package main

import (
	"errors"

	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/urfave/cli/v2"
)

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "per interface (attachment) of captures: packets, bytes, first and last time stamp, drops, hooks and cookies",
		ArgsUsage: "FILE...",
		Description: exitCodes("the statistics printed",
			"a file that could not be read whole (said on stderr; the packets read are counted)"),
		Flags:  []cli.Flag{jsonFlag("a table")},
		Action: statsAction,
	}
}

func statsAction(c *cli.Context) error {
	patterns, asJSON := jsonOperands(c)
	if len(patterns) == 0 {
		return usagef("stats: no capture given (lwtdump stats FILE... [--json])")
	}
	files, _, err := captureFiles(patterns, nil, nil)
	if err != nil {
		return err
	}
	var failed bool
	problem := problemReporter(c.App.ErrWriter, &failed)
	readers, closeAll := openCaptures(files, problem)
	defer closeAll()
	var t pcapread.Tally
	add := func(rec *pcapread.Record) error { t.Add(rec); return nil }
	if err := pcapread.Scan(pcapread.Merge(readers...), nil, 0, add, problem); err != nil {
		return err
	}
	if asJSON {
		err = t.WriteJSON(c.App.Writer)
	} else {
		err = t.WriteTable(c.App.Writer, nil)
	}
	return errors.Join(err, reportedIf(failed))
}

// reportedIf is errReported when a problem was reported.
func reportedIf(failed bool) error {
	if failed {
		return errReported
	}
	return nil
}

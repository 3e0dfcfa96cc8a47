package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/urfave/cli/v2"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check capture files against their manifest: size, SHA-256, blocks, packet count, and the chain of each run",
		ArgsUsage: "DIR|FILE...",
		Description: exitCodes("every file intact",
			"a finding (a file altered, truncated, missing or not recorded, a broken chain), or a file that could not be read"),
		Flags:  []cli.Flag{jsonFlag("lines")},
		Action: verifyAction,
	}
}

func verifyAction(c *cli.Context) error {
	paths, asJSON := jsonOperands(c)
	if len(paths) == 0 {
		return usagef("verify: no directory or file given (lwtdump verify DIR|FILE... [--json])")
	}
	rep, err := manifest.Verify(paths, inspectCapture)
	if err != nil {
		return usagef("verify: %v", err)
	}
	out := c.App.Writer
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, f := range rep.Findings {
			fmt.Fprintf(out, "lwtdump verify: %s\n", f)
		}
		line := fmt.Sprintf("lwtdump verify: %s intact, %s", plural(rep.Intact, "file"), plural(len(rep.Findings), "finding"))
		if rep.Overwritten > 0 {
			line += fmt.Sprintf(" (%s recorded, then overwritten by later ones, as a -W ring does)", plural(rep.Overwritten, "file"))
		}
		fmt.Fprintln(out, line)
	}
	if len(rep.Findings) > 0 {
		return errReported
	}
	return nil
}

// inspectCapture reads a capture for manifest.Verify with pcapread: its
// run and sequence number, its packets, and where it cannot be read on.
func inspectCapture(r io.Reader, name string) (manifest.Inspection, error) {
	s, err := pcapread.Summarize(r, name)
	if errors.Is(err, pcapread.ErrNotCapture) {
		return manifest.Inspection{}, nil
	}
	if err != nil {
		return manifest.Inspection{}, err
	}
	in := manifest.Inspection{Capture: true, Run: s.Run, Seq: s.Seq, Packets: s.Packets}
	if s.Packets > 0 {
		in.First, in.Last = time.Unix(0, s.First), time.Unix(0, s.Last)
	}
	if s.Damage != nil {
		// The reader's guess at a cut file (a capture killed while
		// writing) is verify's to make, against the manifest.
		in.Damage = errors.New(strings.TrimSuffix(s.Damage.Detail(), " (a capture killed while writing?)"))
	}
	return in, nil
}

// plural is "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lwtdump/lwtdump/cmd/internal/wireshark"
	"github.com/urfave/cli/v2"
)

// wiresharkExitCodes are the exit codes of lwtdump wireshark and its subcommands.
var wiresharkExitCodes = exitCodes("installed or uninstalled (also when there was nothing to do)",
	"a file that could not be written or removed, or one that is not lwtdump's and is left as it is")

func wiresharkCommand() *cli.Command {
	return &cli.Command{
		Name:        "wireshark",
		Usage:       "install (or uninstall) lwtdump's dissector and extcap link in your personal Wireshark folders",
		ArgsUsage:   "install|uninstall",
		Description: wiresharkExitCodes,
		Action: func(c *cli.Context) error {
			return usagef("wireshark: give install or uninstall (lwtdump wireshark install)")
		},
		Subcommands: []*cli.Command{
			{
				Name:        "install",
				Description: wiresharkExitCodes,
				Usage:       "write the dissector into the personal Lua plugin folder and link this lwtdump into the personal extcap folders of Wireshark 4.0 and of 4.2 and later",
				Action: func(c *cli.Context) error {
					if c.Args().Present() {
						return usagef("wireshark install: takes no arguments")
					}
					return wiresharkInstall(c.App.Writer)
				},
			},
			{
				Name:        "uninstall",
				Description: wiresharkExitCodes,
				Usage:       "remove what install put: the dissector if it is lwtdump's, and the extcap links to lwtdump",
				Action: func(c *cli.Context) error {
					if c.Args().Present() {
						return usagef("wireshark uninstall: takes no arguments")
					}
					return wiresharkUninstall(c.App.Writer)
				},
			},
		},
	}
}

// wiresharkInstall installs for the user running lwtdump ($HOME), linking
// the binary that runs.
func wiresharkInstall(out io.Writer) error {
	dirs, err := wireshark.UserDirs()
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err == nil {
		bin, err = filepath.EvalSymlinks(bin)
	}
	if err != nil {
		return fmt.Errorf("find the lwtdump binary: %w", err)
	}
	changes, err := wireshark.Install(dirs, bin)
	for _, c := range changes {
		if c.Done == "" {
			continue // refused: the error says why
		}
		line := c.What + " " + c.Path
		if c.Target != "" {
			line += " -> " + c.Target
		}
		line += " (" + c.Versions
		if c.Done == "unchanged" {
			line += "; already there"
		}
		fmt.Fprintln(out, line+")")
	}
	return err
}

// wiresharkUninstall removes what wiresharkInstall put for this user.
func wiresharkUninstall(out io.Writer) error {
	dirs, err := wireshark.UserDirs()
	if err != nil {
		return err
	}
	changes, err := wireshark.Uninstall(dirs)
	for _, c := range changes {
		if c.Done != "" {
			fmt.Fprintf(out, "removed %s %s\n", c.What, c.Path)
		} else if c.Note != "" {
			fmt.Fprintf(out, "left %s: %s\n", c.Path, c.Note)
		}
	}
	if len(changes) == 0 && err == nil {
		fmt.Fprintln(out, "nothing to remove: no dissector or extcap link of lwtdump's in the personal Wireshark folders")
	}
	return err
}

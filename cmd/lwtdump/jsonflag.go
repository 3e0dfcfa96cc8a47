package main

import "github.com/urfave/cli/v2"

// jsonFlag is the --json flag of a subcommand that prints JSON instead of
// what it otherwise prints (a table, lines).
func jsonFlag(otherwise string) cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON instead of " + otherwise}
}

// jsonOperands returns a subcommand's operands (its files or directories)
// and whether it is to print JSON: --json before the operands, where it is
// parsed as a flag, or after them, where it is not.
func jsonOperands(c *cli.Context) (operands []string, asJSON bool) {
	asJSON = c.Bool("json")
	for _, a := range c.Args().Slice() {
		if a == "--json" || a == "-json" {
			asJSON = true
			continue
		}
		operands = append(operands, a)
	}
	return operands, asJSON
}

package main

import (
	"errors"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// filterExpression returns the filter expression: the arguments after the
// flags joined by spaces, or the contents of -F FILE without its comments,
// as tcpdump reads them. Flags written after the expression are refused,
// since they would become part of it.
func filterExpression(c *cli.Context) (string, error) {
	args := c.Args().Slice()
	for _, a := range args {
		if strings.HasPrefix(a, "-") && isFlag(c, strings.TrimLeft(a, "-")) {
			return "", usagef("%s after the filter expression: write the flags first, the expression last", a)
		}
	}
	path := c.String("filter-file")
	if path == "" {
		return strings.Join(strings.Fields(strings.Join(args, " ")), " "), nil
	}
	if len(args) > 0 {
		return "", usagef("-F %s and an expression on the command line: give the expression one way", path)
	}
	return filterFile(path)
}

// filterFile reads the filter expression of -F FILE.
func filterFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("-F %s: %v", path, errors.Unwrap(err))
	}
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		lines = append(lines, line)
	}
	expr := strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	if expr == "" {
		return "", usagef("-F %s: the file holds no filter expression", path)
	}
	return expr, nil
}

// isFlag reports whether name (without dashes, maybe with "=value") is one of the command's flags.
func isFlag(c *cli.Context, name string) bool {
	name, _, _ = strings.Cut(name, "=")
	for _, f := range c.App.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

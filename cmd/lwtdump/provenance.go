package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/writer"
	"golang.org/x/sys/unix"
)

// section returns the provenance of a capture for its pcapng section header:
// the program, the kernel, the machine, and in the comment the command line,
// the host, the start time and the network namespace.
func section(cfg *captureConfig, start time.Time) writer.Section {
	var u unix.Utsname
	_ = unix.Uname(&u)
	host, _ := os.Hostname()
	netns := cfg.opts.Netns
	if netns == "" {
		netns = "-"
	}
	return writer.Section{
		Application: "lwtdump " + version,
		OS:          unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]),
		Hardware:    unix.ByteSliceToString(u.Machine[:]),
		Comment: fmt.Sprintf("command=%s host=%s start=%s netns=%s",
			quoteArgs(cfg.args), host, start.UTC().Format(time.RFC3339Nano), netns),
	}
}

// quoteArgs writes a command line back so that a shell would split it the same way.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

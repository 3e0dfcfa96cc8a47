package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/cmd/internal/eventlog"
)

// logNotice says in one line what the capture does differently on the
// running kernel. A verifier log behind it goes to a new file that the line
// names, or with -v (verbose) follows the line on stderr.
func logNotice(log *eventlog.Logger, stderr io.Writer, n bpf.Notice, verbose bool) {
	msg := n.Message
	switch {
	case n.Log == "":
	case verbose:
		msg += "; the verifier's log follows"
	default:
		msg += "; " + saveVerifierLog(n.Log)
	}
	log.Event(eventlog.Warning, "kernel", msg, slog.String("msg", msg), slog.String("kernel", bpf.KernelRelease()))
	if n.Log != "" && verbose {
		fmt.Fprint(stderr, n.Log)
	}
}

// withVerifierLog adds to an error whose cause is the kernel's verifier
// where its log is: in a new file, or with -v (verbose) printed on stderr
// before the error's line. Other errors are returned as they are.
func withVerifierLog(err error, stderr io.Writer, verbose bool) error {
	var verr *bpf.VerifierError
	if !errors.As(err, &verr) {
		return err
	}
	if verbose {
		fmt.Fprint(stderr, verr.Log)
		return fmt.Errorf("%w (the verifier's log is above)", err)
	}
	return fmt.Errorf("%w; %s", err, saveVerifierLog(verr.Log))
}

// saveVerifierLog writes a verifier log to a new file in the temporary
// directory and returns the words that name it.
func saveVerifierLog(log string) string {
	f, err := os.CreateTemp("", "lwtdump-verifier-*.log")
	if err != nil {
		return fmt.Sprintf("the verifier's log could not be saved (%v): -v shows it", err)
	}
	_, werr := f.WriteString(log)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Sprintf("the verifier's log could not be saved (%v): -v shows it", err)
	}
	return "the verifier's log is in " + f.Name()
}

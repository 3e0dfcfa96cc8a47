package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/writer"
)

// autostop is when a capture stops by itself, as dumpcap's -a conditions
// say.
type autostop struct {
	duration time.Duration // duration:SEC, from the start of the capture
	packets  uint64        // packets:N, as -c
	fileSize int64         // filesize:KB, in bytes (a kB is 1000 bytes, as dumpcap's)
	files    int           // files:N
	given    map[string]string
}

// String is the condition name as given, such as "duration:10".
func (a autostop) String(name string) string { return name + ":" + a.given[name] }

// parseAutostop reads the -a conditions of a capture that writes to write
// ("" for text lines, "-" for stdout); rotates says that -C or -G is given.
func parseAutostop(conds []string, write string, rotates bool) (autostop, error) {
	a := autostop{given: map[string]string{}}
	for _, cond := range conds {
		name, value, ok := strings.Cut(cond, ":")
		if !ok {
			return a, usagef("-a %s: give a condition as NAME:VALUE: duration:SEC, packets:N, filesize:KB or files:N", cond)
		}
		if _, twice := a.given[name]; twice {
			return a, usagef("-a %s: %s given twice", cond, name)
		}
		var err error
		switch name {
		case "duration":
			var sec float64
			sec, err = strconv.ParseFloat(value, 64)
			if err != nil || !(sec > 0) || sec > math.MaxInt64/1e9 {
				return a, usagef("-a %s: give the seconds to capture for, such as duration:60 or duration:0.5", cond)
			}
			a.duration = time.Duration(sec * 1e9)
		case "packets":
			a.packets, err = strconv.ParseUint(value, 10, 64)
			if err != nil || a.packets == 0 {
				return a, usagef("-a %s: give a number of packets of 1 or more, such as packets:1000", cond)
			}
		case "filesize":
			a.fileSize, err = strconv.ParseInt(value, 10, 64)
			if err != nil || a.fileSize < 1 || a.fileSize > math.MaxInt64/1000 {
				return a, usagef("-a %s: give a size in kB (1000 bytes) of 1 or more, such as filesize:10000", cond)
			}
			if write == "" {
				return a, usagef("-a %s needs -w: it bounds the pcapng written, to a file or to stdout", cond)
			}
			a.fileSize *= 1000
		case "files":
			var n int64
			n, err = strconv.ParseInt(value, 10, 32)
			if err != nil || n < 1 {
				return a, usagef("-a %s: give a number of files of 1 or more, such as files:10", cond)
			}
			if write == "" || write == "-" || !rotates {
				return a, usagef("-a %s needs -w FILE with -C or -G: without them there is one output", cond)
			}
			a.files = int(n)
		default:
			return a, usagef("-a %s: unknown condition %q (want duration:SEC, packets:N, filesize:KB or files:N)", cond, name)
		}
		a.given[name] = value
	}
	return a, nil
}

// errDurationReached ends a capture once -a duration has passed.
var errDurationReached = errors.New("autostop duration reached")

// withDuration ends ctx, with errDurationReached as its cause, once the -a
// duration has passed.
func (a autostop) withDuration(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.duration == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, a.duration, errDurationReached)
}

// autostopReached ends the output once an -a condition holds. It is a
// writer.ErrDone, a normal end.
type autostopReached struct{ cond string }

func (e autostopReached) Error() string { return "-a " + e.cond + " reached" }
func (e autostopReached) Unwrap() error { return writer.ErrDone }

// autostopOutput is an Output that ends as -a filesize and -a files say,
// as dumpcap does: once a file (or stdout) holds the filesize, the capture
// ends, or, when the output rotates (-C, -G), the next file begins; once
// the files are written, the capture ends.
type autostopOutput struct {
	writer.Output
	a        autostop
	rotates  bool
	finished int // files finished so far
}

// output wraps out when -a filesize or -a files applies to it; rotates
// says that out rotates (-C, -G).
func (a autostop) output(out writer.Output, rotates bool) writer.Output {
	if a.fileSize == 0 && a.files == 0 {
		return out
	}
	return &autostopOutput{Output: out, a: a, rotates: rotates}
}

// RolloverDue is the Output's, or the filesize reached.
func (o *autostopOutput) RolloverDue(now time.Time, size int64) bool {
	return o.Output.RolloverDue(now, size) || (o.a.fileSize > 0 && size >= o.a.fileSize)
}

// Rollover ends the output when it does not rotate or the last of -a files
// is complete, and else rolls over.
func (o *autostopOutput) Rollover() error {
	o.finished++
	switch {
	case !o.rotates:
		return autostopReached{o.a.String("filesize")}
	case o.a.files > 0 && o.finished >= o.a.files:
		return autostopReached{o.a.String("files")}
	}
	return o.Output.Rollover()
}

// endMessage says why a capture ended by itself, or "" when it did not, or
// it was by -c: an -a condition, or the last file of -G with -W.
func endMessage(ctx context.Context, cfg *captureConfig, runErr error) string {
	var reached autostopReached
	switch {
	case errors.As(runErr, &reached):
		return reached.Error()
	case errors.Is(runErr, writer.ErrDone):
		return fmt.Sprintf("file limit reached: %d files", cfg.rotate.Count)
	case errors.Is(context.Cause(ctx), errDurationReached):
		return autostopReached{cfg.autostop.String("duration")}.Error()
	}
	return ""
}

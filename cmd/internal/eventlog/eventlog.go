// Package eventlog writes what happens during a capture on stderr, one
// event a line: for a person, the lines lwtdump has always printed
// ("lwtdump: capturing at ..."); for a service manager, a stable key=value
// form that begins with the level and the event's name
// ("level=info event=attach route=2001:db8:20::/48 hook=lwt_xmit ...").
package eventlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Format is how events are written.
type Format int

// The formats.
const (
	Human    Format = iota // "lwtdump: capturing at ...": for a terminal, a pipe, a script
	KeyValue               // "level=info event=attach ...": for a journal or a log collector
)

// ParseFormat reads --log-format: human, keyvalue, or auto, which is
// keyvalue when stderr is systemd's journal and human otherwise.
func ParseFormat(s string, stderr io.Writer) (Format, error) {
	switch s {
	case "human":
		return Human, nil
	case "keyvalue":
		return KeyValue, nil
	case "", "auto":
		if IsJournal(stderr) {
			return KeyValue, nil
		}
		return Human, nil
	}
	return Human, fmt.Errorf("--log-format %s: want auto, human or keyvalue", s)
}

// IsJournal reports whether w is the stream systemd connected to its
// journal: $JOURNAL_STREAM holds that stream's device and inode numbers
// (systemd.exec(5)), so a stderr redirected elsewhere does not match.
func IsJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return dev == strconv.FormatUint(st.Dev, 10) && ino == strconv.FormatUint(st.Ino, 10)
}

// The levels of events.
const (
	Info    = slog.LevelInfo
	Warning = slog.LevelWarn
	Error   = slog.LevelError
)

// Logger writes events on one writer. It is safe for concurrent use: each
// event is one write of one whole line.
type Logger struct {
	mu      sync.Mutex
	w       io.Writer
	format  Format
	journal bool              // key=value lines carry the journal's <N> priority and no time
	buf     bytes.Buffer      // the line being formatted
	text    *slog.TextHandler // formats key=value lines into buf
	now     func() time.Time
}

// New returns a Logger that writes to w in format f. Key=value lines on
// systemd's journal begin with the syslog priority in angle brackets
// (which the journal takes off and keeps as the priority) and have no
// time, which the journal records itself; elsewhere they begin with the
// time.
func New(w io.Writer, f Format) *Logger {
	l := &Logger{w: w, format: f, journal: IsJournal(w), now: time.Now}
	l.text = slog.NewTextHandler(&l.buf, &slog.HandlerOptions{ReplaceAttr: l.replace})
	return l
}

// Format is the Logger's format.
func (l *Logger) Format() Format { return l.format }

// userKey marks the keys of an event's own attributes while slog formats
// them, so that replace tells them from slog's time, level and message:
// slog hands both to replace alike, and an event may have a msg or a time
// of its own.
const userKey = "\x00"

// replace renames slog's keys and values to the form documented in README:
// time in RFC 3339 with milliseconds, or none on the journal; the level in
// lower case (info, warning, error); the message as event. The event's own
// attributes keep their keys.
func (l *Logger) replace(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	if k, ok := strings.CutPrefix(a.Key, userKey); ok {
		a.Key = k
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if l.journal {
			return slog.Attr{}
		}
		return slog.String("time", a.Value.Time().Format("2006-01-02T15:04:05.000Z07:00"))
	case slog.LevelKey:
		return slog.String("level", levelName(a.Value.Any().(slog.Level)))
	case slog.MessageKey:
		return slog.String("event", a.Value.String())
	}
	return a
}

func levelName(l slog.Level) string {
	switch {
	case l >= Error:
		return "error"
	case l >= Warning:
		return "warning"
	}
	return "info"
}

// priority is the syslog priority of a level (sd-daemon(3)).
func priority(l slog.Level) int {
	switch {
	case l >= Error:
		return 3
	case l >= Warning:
		return 4
	}
	return 6
}

// Event writes one event: in human form the line "lwtdump: " + human
// (nothing when human is ""), in key=value form the level, the event's
// name and attrs.
func (l *Logger) Event(level slog.Level, event, human string, attrs ...slog.Attr) {
	if human != "" {
		human = "lwtdump: " + human
	}
	l.Line(level, event, human, attrs...)
}

// Line is Event with the human line written as it is, without "lwtdump: "
// in front (the summary line, as tcpdump prints it).
func (l *Logger) Line(level slog.Level, event, human string, attrs ...slog.Attr) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
	if l.format == Human {
		if human == "" {
			return
		}
		l.buf.WriteString(human)
		l.buf.WriteByte('\n')
	} else {
		if l.journal {
			fmt.Fprintf(&l.buf, "<%d>", priority(level))
		}
		r := slog.NewRecord(l.now(), level, event, 0)
		for _, a := range attrs {
			if a.Value.Kind() != slog.KindGroup { // a group's key is never replace's
				a.Key = userKey + a.Key
			}
			r.AddAttrs(a)
		}
		if err := l.text.Handle(context.Background(), r); err != nil {
			return
		}
	}
	l.w.Write(l.buf.Bytes()) // stderr failing leaves nowhere to say so
}

package eventlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func fixedTime() time.Time { return time.Date(2026, 11, 25, 14, 0, 1, 234_000_000, time.UTC) }

func TestEvent(t *testing.T) {
	attach := func(l *Logger) {
		l.Event(Info, "attach", "capturing at lwt_xmit:2001:db8:20::/48@r1_h2 (cookie 0xbeef), snaplen 262144 bytes",
			slog.String("interface", "lwt_xmit:2001:db8:20::/48@r1_h2"), slog.String("route", "2001:db8:20::/48"),
			slog.String("hook", "lwt_xmit"), slog.String("cookie", "0xbeef"), slog.Int("snaplen", 262144))
	}
	for _, tc := range []struct {
		name   string
		format Format
		log    func(*Logger)
		want   string
	}{
		{"attach, human", Human, attach, "lwtdump: capturing at lwt_xmit:2001:db8:20::/48@r1_h2 (cookie 0xbeef), snaplen 262144 bytes\n"},
		{"attach, key=value", KeyValue, attach,
			"time=2026-11-25T14:00:01.234Z level=info event=attach interface=lwt_xmit:2001:db8:20::/48@r1_h2 route=2001:db8:20::/48 hook=lwt_xmit cookie=0xbeef snaplen=262144\n"},
		{"warning with spaces, key=value", KeyValue, func(l *Logger) {
			l.Event(Warning, "drops", "lwt_in:203.0.113.0/24: 12 packets dropped", slog.String("interface", "lwt_in:203.0.113.0/24"), slog.Uint64("dropped", 12), slog.String("hint", "raise -B"))
		}, `time=2026-11-25T14:00:01.234Z level=warning event=drops interface=lwt_in:203.0.113.0/24 dropped=12 hint="raise -B"` + "\n"},
		{"error, key=value", KeyValue, func(l *Logger) {
			l.Event(Error, "exit", "", slog.String("error", `write pcapng: write /var/cap/r1.pcapng: no space left on device`), slog.Int("code", 1))
		}, `time=2026-11-25T14:00:01.234Z level=error event=exit error="write pcapng: write /var/cap/r1.pcapng: no space left on device" code=1` + "\n"},
		{"attributes named as slog's own keep their names, key=value", KeyValue, func(l *Logger) {
			l.Event(Warning, "warning", "warning: x", slog.String("msg", "cannot sync"), slog.Time("time", fixedTime()), slog.String("level", "high"))
		}, `time=2026-11-25T14:00:01.234Z level=warning event=warning msg="cannot sync" time=2026-11-25T14:00:01.234Z level=high` + "\n"},
		{"no human line", Human, func(l *Logger) { l.Event(Info, "metrics", "") }, ""},
		{"summary, human", Human, func(l *Logger) {
			l.Line(Info, "summary", "5 packets captured, 0 dropped", slog.Uint64("packets", 5))
		}, "5 packets captured, 0 dropped\n"},
		{"summary, key=value", KeyValue, func(l *Logger) {
			l.Line(Info, "summary", "5 packets captured, 0 dropped", slog.Uint64("packets", 5), slog.Uint64("dropped", 0))
		}, "time=2026-11-25T14:00:01.234Z level=info event=summary packets=5 dropped=0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			l := New(&b, tc.format)
			l.now = fixedTime
			tc.log(l)
			if b.String() != tc.want {
				t.Errorf("got  %q\nwant %q", b.String(), tc.want)
			}
		})
	}
}

// openJournal opens a file as stderr would be, and says in JOURNAL_STREAM
// that it is the journal's stream.
func openJournal(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	return f
}

// On the journal, key=value lines carry their priority, and no time; the
// format is key=value unless told otherwise.
func TestJournal(t *testing.T) {
	f := openJournal(t)
	if !IsJournal(f) {
		t.Fatal("the file JOURNAL_STREAM names is not taken for the journal")
	}
	other, err := os.CreateTemp(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if IsJournal(other) || IsJournal(&bytes.Buffer{}) {
		t.Error("a stream JOURNAL_STREAM does not name is taken for the journal")
	}
	for _, tc := range []struct {
		flag string
		want Format
	}{{"auto", KeyValue}, {"", KeyValue}, {"human", Human}, {"keyvalue", KeyValue}} {
		if got, err := ParseFormat(tc.flag, f); err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) on the journal = %v, %v; want %v", tc.flag, got, err, tc.want)
		}
	}
	if got, _ := ParseFormat("auto", other); got != Human {
		t.Errorf("ParseFormat(auto) elsewhere = %v, want human", got)
	}
	if _, err := ParseFormat("json", f); err == nil || !strings.Contains(err.Error(), "want auto, human or keyvalue") {
		t.Errorf("ParseFormat(json): %v", err)
	}
	l := New(f, KeyValue)
	l.Event(Info, "attach", "", slog.String("hook", "lwt_in"))
	l.Event(Warning, "drops", "", slog.Int("dropped", 3))
	l.Event(Error, "exit", "", slog.Int("code", 1))
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := "<6>level=info event=attach hook=lwt_in\n<4>level=warning event=drops dropped=3\n<3>level=error event=exit code=1\n"
	if string(b) != want {
		t.Errorf("journal lines %q, want %q", b, want)
	}
}

// Events from several goroutines come out as whole lines.
func TestConcurrentLines(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, KeyValue)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l.Event(Info, "tick", "", slog.Int("g", g), slog.Int("i", i))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, line := range lines {
		if !strings.Contains(line, " level=info event=tick g=") {
			t.Fatalf("broken line %q", line)
		}
	}
}

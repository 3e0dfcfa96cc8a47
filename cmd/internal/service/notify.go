// Package service tells a service manager how a capture is doing, through
// systemd's notify protocol: READY=1 once it captures, STATUS= lines,
// WATCHDOG=1 pings while it makes progress, and STOPPING=1 when it ends.
//
// The protocol is a datagram of newline-separated KEY=VALUE lines sent to
// the AF_UNIX socket that $NOTIFY_SOCKET names (sd_notify(3)); a name
// starting with '@' is in the abstract namespace. It is a few lines, so
// they are written here rather than taken from a library.
package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends notifications to the service manager. The zero value, and
// a nil *Notifier, send nothing: lwtdump was not started by one.
type Notifier struct {
	mu       sync.Mutex
	fd       int // a datagram socket, -1 when closed
	addr     unix.SockaddrUnix
	watchdog time.Duration
	enabled  bool
}

// FromEnvironment returns the Notifier that $NOTIFY_SOCKET names, and the
// watchdog interval of $WATCHDOG_USEC when $WATCHDOG_PID is unset or names
// this process. It unsets the three variables, as sd_notify does when
// asked, so that the programs lwtdump starts (-z) do not inherit them.
// Without $NOTIFY_SOCKET it returns a Notifier that sends nothing.
func FromEnvironment() (*Notifier, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	usec, pid := os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID")
	for _, v := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		os.Unsetenv(v)
	}
	if path == "" {
		return &Notifier{fd: -1}, nil
	}
	n, err := Open(path)
	if err != nil {
		return nil, err
	}
	if usec != "" && (pid == "" || pid == strconv.Itoa(os.Getpid())) {
		us, err := strconv.ParseUint(usec, 10, 63)
		if err != nil || us == 0 {
			n.Close()
			return nil, fmt.Errorf("WATCHDOG_USEC=%q: want a number of microseconds", usec)
		}
		n.watchdog = time.Duration(us) * time.Microsecond
	}
	return n, nil
}

// Open returns a Notifier that sends to the socket at path ('@' first for
// the abstract namespace).
func Open(path string) (*Notifier, error) {
	if path[0] != '/' && path[0] != '@' {
		return nil, fmt.Errorf("NOTIFY_SOCKET=%q: want an absolute path or an abstract name starting with @", path)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create notify socket: %w", err)
	}
	// x/sys/unix puts a name that starts with '@' in the abstract namespace.
	return &Notifier{fd: fd, addr: unix.SockaddrUnix{Name: path}, enabled: true}, nil
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.enabled }

// WatchdogInterval is the watchdog's timeout (WatchdogSec=), 0 when the
// service manager expects no pings.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// Notify sends the lines as one datagram; nothing when not Enabled.
func (n *Notifier) Notify(lines ...string) error {
	if !n.Enabled() {
		return nil
	}
	msg := strings.Join(lines, "\n")
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fd < 0 {
		return errors.New("notify: closed")
	}
	if err := unix.Sendto(n.fd, []byte(msg), 0, &n.addr); err != nil {
		return fmt.Errorf("notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// Ready says the service is up, with its first status line.
func (n *Notifier) Ready(status string) error {
	return n.Notify("READY=1", "STATUS="+oneLine(status))
}

// Status sets the status line that systemctl status shows.
func (n *Notifier) Status(status string) error { return n.Notify("STATUS=" + oneLine(status)) }

// Stopping says the service is ending, with a last status line.
func (n *Notifier) Stopping(status string) error {
	return n.Notify("STOPPING=1", "STATUS="+oneLine(status))
}

// Close closes the socket.
func (n *Notifier) Close() error {
	if !n.Enabled() {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	n.fd = -1
	return err
}

// oneLine keeps a status to one line: a newline would start another
// assignment in the datagram.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// PingInterval is how often the watchdog is pinged for a timeout: half of
// it, as sd_watchdog_enabled(3) advises, so that one late ping is not yet
// a missed one.
func PingInterval(timeout time.Duration) time.Duration { return timeout / 2 }

// Health is what Run asks of the capture at each tick.
type Health struct {
	// Progress is the time the capture loop last did its work (it flushes
	// at least every 100 ms, packets or not).
	Progress func() time.Time
	// Status is the current status line.
	Status func() string
}

// StatusEvery is how often Run updates the status line when no watchdog
// sets a faster pace.
const StatusEvery = 5 * time.Second

// Run sends, until ctx ends, WATCHDOG=1 every PingInterval of the watchdog
// timeout, but only while the capture loop has made progress within that
// interval, so that a capture stuck on a write is restarted by the service
// manager; and a new status line whenever it changed, at the same ticks
// (every StatusEvery without a watchdog). Without a service manager it
// returns at once.
func (n *Notifier) Run(ctx context.Context, h Health) {
	if !n.Enabled() {
		return
	}
	every := StatusEvery
	if n.watchdog > 0 {
		every = PingInterval(n.watchdog)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var lines []string
			if n.watchdog > 0 && now.Sub(h.Progress()) < every {
				lines = append(lines, "WATCHDOG=1")
			}
			if s := oneLine(h.Status()); s != last {
				lines = append(lines, "STATUS="+s)
				last = s
			}
			if len(lines) > 0 {
				n.Notify(lines...) // a manager that went away is not the capture's failure
			}
		}
	}
}

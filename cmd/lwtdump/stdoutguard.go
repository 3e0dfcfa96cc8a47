package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// defaultStdoutTimeout is --stdout-timeout's default, in seconds. A reader
// that has taken nothing for a minute while packets wait for it is gone
// (an SSH link that died without a FIN, which TCP notices only after some
// 15 minutes of retransmissions) or stuck: every packet meanwhile is lost
// in the kernel's buffer anyway, while the route stays captured. A minute
// is far longer than any pause of a reader that is alive (tshark, or
// Wireshark's dumpcap, read on while the window is busy or paused).
const defaultStdoutTimeout = 60

// stopGrace is how long a capture that was told to stop (a signal, -a
// duration) still waits for a reader that takes nothing, to write its end.
const stopGrace = 2 * time.Second

// stdoutGuard writes to a pipe or a socket without waiting for ever for a
// reader that takes nothing. Its writes do not block: when the pipe or the
// socket is full, Write waits for room in poll(2), for at most the timeout
// counted from the last time the reader took something (nothing is
// counted while nothing is waiting to be written), and for at most
// stopGrace once stop was called. It is not safe for concurrent Writes;
// stop may be called from another goroutine.
//
// A pipe is written through an open file description of lwtdump's own
// (/proc/self/fd/N opened again, non-blocking), so that the pipe's other
// writers, such as the shell, still see a blocking pipe; a socket is
// written with send(MSG_DONTWAIT).
type stdoutGuard struct {
	name    string
	fd      int
	socket  bool
	own     bool // fd is the pipe's own open file description, to close
	timeout time.Duration

	wake     [2]int // a pipe: stop closes its write end, which wakes a waiting Write
	stopped  atomic.Int64
	stopOnce sync.Once
	err      error
}

// stalledError is the end of a capture whose stdout reader took nothing
// for the timeout, or in the grace after it was told to stop.
type stalledError struct {
	wait   time.Duration
	atStop bool
}

func (e stalledError) Error() string {
	s := strconv.FormatFloat(e.wait.Seconds(), 'f', -1, 64) + " s"
	if e.atStop {
		return "stdout: its reader took nothing in the " + s + " after the capture was stopped: the end of the capture is lost"
	}
	return "stdout: its reader has taken nothing for " + s + ": capture ended (--stdout-timeout sets how long to wait, 0 for ever)"
}

// guardStdout returns what a capture writes to out with: a stdoutGuard
// when out is a pipe, a FIFO or a socket, or else out itself and a nil
// guard. timeout 0 waits for the reader for ever (but for stop).
func guardStdout(out io.Writer, timeout time.Duration) (io.Writer, *stdoutGuard) {
	fd, ok := pipeFd(out)
	if !ok {
		return out, nil
	}
	f := out.(*os.File)
	fi, err := f.Stat()
	if err != nil {
		return out, nil
	}
	g := &stdoutGuard{name: f.Name(), fd: int(fd), timeout: timeout, wake: [2]int{-1, -1}}
	if fi.Mode()&os.ModeSocket != 0 {
		g.socket = true
	} else {
		own, err := unix.Open("/proc/self/fd/"+strconv.Itoa(int(fd)), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return out, nil // no /proc, or not allowed: blocking writes, as before
		}
		g.fd, g.own = own, true
	}
	if err := unix.Pipe2(g.wake[:], unix.O_CLOEXEC); err != nil {
		g.close()
		return out, nil
	}
	return g, g
}

// Write writes all of p, waiting for room as long as the reader takes
// something. Its errors stay: every later Write returns the first.
func (g *stdoutGuard) Write(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n := 0
	var waitingSince time.Time
	for n < len(p) {
		m, err := g.write(p[n:])
		if m > 0 {
			n += m
			waitingSince = time.Time{}
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if !errors.Is(err, unix.EAGAIN) {
			g.err = &os.PathError{Op: "write", Path: g.name, Err: err}
			return n, g.err
		}
		now := time.Now()
		if waitingSince.IsZero() {
			waitingSince = now
		}
		deadline, why := g.deadline(waitingSince)
		if !deadline.IsZero() && !now.Before(deadline) {
			g.err = why
			return n, g.err
		}
		g.waitForRoom(deadline)
	}
	return n, nil
}

// write makes one write(2) or send(2) that does not block.
func (g *stdoutGuard) write(p []byte) (int, error) {
	if g.socket {
		return unix.SendmsgN(g.fd, p, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	}
	n, err := unix.Write(g.fd, p)
	return max(n, 0), err
}

// deadline is when a Write waiting since then gives up, and why; zero for
// never.
func (g *stdoutGuard) deadline(since time.Time) (time.Time, error) {
	var d time.Time
	var why error
	if g.timeout > 0 {
		d, why = since.Add(g.timeout), stalledError{wait: g.timeout}
	}
	if s := g.stopped.Load(); s != 0 {
		if sd := time.Unix(0, s).Add(stopGrace); d.IsZero() || sd.Before(d) {
			d, why = sd, stalledError{wait: stopGrace, atStop: true}
		}
	}
	return d, why
}

// waitForRoom waits until the pipe or the socket has room or its reader
// is gone, until deadline (zero: no deadline), or until stop is called.
func (g *stdoutGuard) waitForRoom(deadline time.Time) {
	fds := []unix.PollFd{{Fd: int32(g.fd), Events: unix.POLLOUT}}
	if g.stopped.Load() == 0 {
		fds = append(fds, unix.PollFd{Fd: int32(g.wake[0]), Events: unix.POLLIN})
	}
	ms := -1
	if !deadline.IsZero() {
		ms = int((time.Until(deadline) + time.Millisecond - 1) / time.Millisecond)
		ms = max(ms, 0)
	}
	unix.Poll(fds, ms) // EINTR or not, the caller writes again and looks at the clock
}

// stop bounds every wait from now on to stopGrace: the capture is ending.
// A nil guard does nothing.
func (g *stdoutGuard) stop() {
	if g == nil {
		return
	}
	g.stopOnce.Do(func() {
		g.stopped.Store(time.Now().UnixNano())
		if g.wake[1] >= 0 {
			unix.Close(g.wake[1])
		}
	})
}

// close releases the guard's descriptors; call it once nothing more is
// written. A nil guard does nothing.
func (g *stdoutGuard) close() error {
	if g == nil {
		return nil
	}
	g.stop()
	var errs []error
	if g.own {
		errs = append(errs, unix.Close(g.fd))
		g.own = false
	}
	if g.wake[0] >= 0 {
		errs = append(errs, unix.Close(g.wake[0]))
		g.wake[0] = -1
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close stdout: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// watchReader cancels the returned context when the reader at the other end
// of out (a pipe, a FIFO or a socket) goes away, so that an idle capture ends
// as soon as Wireshark, tshark -c or head has closed its end, and not only
// at the next packet, whose write would fail with EPIPE. For any other kind
// of output (a file, /dev/null) it only derives the context. stop ends the
// watch; call it before out is closed.
//
// A write end of a pipe or FIFO polls POLLERR once no reader is left, and a
// socket polls POLLHUP once its peer has closed; one goroutine waits for that
// in poll(2), together with a pipe of its own that stop closes.
func watchReader(parent context.Context, out io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	fd, ok := pipeFd(out)
	if !ok {
		return ctx, cancel
	}
	wakeR, wakeW, err := os.Pipe()
	if err != nil {
		return ctx, cancel
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fds := []unix.PollFd{{Fd: int32(fd)}, {Fd: int32(wakeR.Fd()), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
				cancel()
				return
			}
		}
	}()
	return ctx, func() {
		wakeW.Close()
		<-done
		wakeR.Close()
		cancel()
	}
}

// pipeFd returns the descriptor of out when it is a pipe, a FIFO or a socket.
func pipeFd(out io.Writer) (uintptr, bool) {
	f, ok := out.(*os.File)
	if !ok {
		return 0, false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return 0, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var fd uintptr
	if rc.Control(func(d uintptr) { fd = d }) != nil {
		return 0, false
	}
	return fd, true
}

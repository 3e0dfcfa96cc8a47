package service

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens a datagram socket at name, as a service manager does, and
// closes it when the test ends.
func listen(t *testing.T, name string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatalf("bind %s: %v", name, err)
	}
	return fd
}

// received returns the datagrams waiting on fd, without waiting for more.
func received(t *testing.T, fd int) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EAGAIN {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
}

func TestNotify(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", fmt.Sprintf("@lwtdump-notify-test-%d", os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := listen(t, tc.addr)
			n, err := Open(tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			n.Ready("capturing at 2 routes")
			n.Status("12 packets,\n0 dropped") // a newline would start another assignment
			n.Stopping("stopping")
			want := []string{"READY=1\nSTATUS=capturing at 2 routes", "STATUS=12 packets, 0 dropped", "STOPPING=1\nSTATUS=stopping"}
			if got := received(t, fd); !slices.Equal(got, want) {
				t.Errorf("received %q, want %q", got, want)
			}
		})
	}
}

func TestFromEnvironment(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	listen(t, sock)
	pid := fmt.Sprint(os.Getpid())
	for _, tc := range []struct {
		name     string
		env      map[string]string
		enabled  bool
		watchdog time.Duration
		err      string
	}{
		{name: "no manager", env: map[string]string{}},
		{name: "notify only", env: map[string]string{"NOTIFY_SOCKET": sock}, enabled: true},
		{name: "watchdog", env: map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "30000000"}, enabled: true, watchdog: 30 * time.Second},
		{name: "watchdog for this pid", env: map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": pid}, enabled: true, watchdog: 2 * time.Second},
		{name: "watchdog for another pid", env: map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, enabled: true},
		{name: "bad watchdog", env: map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "soon"}, err: `WATCHDOG_USEC="soon"`},
		{name: "relative socket", env: map[string]string{"NOTIFY_SOCKET": "notify"}, err: `NOTIFY_SOCKET="notify"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
				t.Setenv(v, tc.env[v])
				if _, ok := tc.env[v]; !ok {
					os.Unsetenv(v)
				}
			}
			n, err := FromEnvironment()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if n.Enabled() != tc.enabled || n.WatchdogInterval() != tc.watchdog {
				t.Errorf("enabled %v watchdog %v, want %v %v", n.Enabled(), n.WatchdogInterval(), tc.enabled, tc.watchdog)
			}
			for _, v := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
				if s, ok := os.LookupEnv(v); ok {
					t.Errorf("%s=%s is still in the environment, for the programs lwtdump starts", v, s)
				}
			}
		})
	}
}

// Run pings the watchdog every half timeout while the capture makes
// progress, stops pinging once it makes none (so that the manager restarts
// it), and sends the status only when it changed. In fake time.
func TestRunWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "notify")
		fd := listen(t, sock)
		n, err := Open(sock)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		n.watchdog = 2 * time.Second
		var stuck atomic.Bool
		var stuckAt time.Time
		var packets atomic.Int64
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			n.Run(ctx, Health{
				Progress: func() time.Time {
					if stuck.Load() {
						return stuckAt
					}
					return time.Now()
				},
				Status: func() string { return fmt.Sprintf("%d packets", packets.Load()) },
			})
		}()
		// 0 s .. 3.5 s: progress; ticks at 1, 2, 3 s; the count changes once.
		time.Sleep(1500 * time.Millisecond)
		packets.Store(5)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		want := []string{"WATCHDOG=1\nSTATUS=0 packets", "WATCHDOG=1\nSTATUS=5 packets", "WATCHDOG=1"}
		if got := received(t, fd); !slices.Equal(got, want) {
			t.Errorf("while capturing: %q, want %q", got, want)
		}
		// Stuck from 3.5 s: the tick at 4 s is within a second of the last
		// progress; those at 5 s and later are not.
		stuckAt = time.Now()
		stuck.Store(true)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := received(t, fd); !slices.Equal(got, []string{"WATCHDOG=1"}) {
			t.Errorf("while stuck: %q, want one last ping", got)
		}
		cancel()
		<-done
	})
}

func TestPingInterval(t *testing.T) {
	for _, tc := range []struct{ timeout, want time.Duration }{
		{time.Minute, 30 * time.Second},
		{3 * time.Minute, 90 * time.Second},
		{time.Second, 500 * time.Millisecond},
	} {
		if got := PingInterval(tc.timeout); got != tc.want {
			t.Errorf("PingInterval(%v) = %v, want %v", tc.timeout, got, tc.want)
		}
	}
}

package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Both transports deliver every packet once when traffic crosses the hook on
// both CPUs at once; the ring buffer also delivers them in time order.
func TestTransportsWithTrafficOnTwoCPUs(t *testing.T) {
	for _, transport := range []string{"perf", "ringbuf"} {
		t.Run(transport, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out, "--transport", transport)
			const n = 300
			var pings []*exec.Cmd
			for cpu, dst := range []string{"2001:db8:20::1", "203.0.113.1"} {
				c := exec.Command("ip", "netns", "exec", tb.h1, "taskset", "-c", strconv.Itoa(cpu), "ping", "-c", strconv.Itoa(n), "-i", "0.002", "-q", dst)
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				pings = append(pings, c)
			}
			for _, c := range pings {
				c.Wait()
			}
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			rows := tsharkFields(t, out, []string{"-Y", "icmp.type == 8 || icmpv6.type == 128"}, "frame.interface_id", "icmp.seq", "icmpv6.echo.sequence_number")
			seen := map[string]int{}
			for _, r := range rows {
				seen[r[0]+"/"+r[1]+r[2]]++
			}
			if len(rows) != 2*n || len(seen) != 2*n {
				t.Fatalf("%d echo requests, %d distinct, want %d of each", len(rows), len(seen), 2*n)
			}
			if transport != "ringbuf" {
				return
			}
			times := packetTimes(t, out)
			for i := 1; i < len(times); i++ {
				if times[i].Before(times[i-1]) {
					t.Fatalf("packet %d at %v is before packet %d at %v", i, times[i].Format(time.StampNano), i-1, times[i-1].Format(time.StampNano))
				}
			}
		})
	}
}

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
// both CPUs at once; the ring buffer also delivers each CPU's packets in
// time order. Across CPUs it delivers them in the order their records were
// reserved, and each is stamped just after its reservation: a CPU stopped
// between the two (an interrupt; a virtual CPU its host preempted) stamps
// its packet later than another CPU's that comes after it in the ring.
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
			// Each CPU's packets in time order, by the cpu= of their comments.
			last := map[string]time.Time{}
			inverted := 0
			var prev time.Time
			for i, r := range tsharkFields(t, out, nil, "frame.time_epoch", "frame.comment") {
				ts := epochTime(t, r[0])
				cpu := commentFields(r[1])["cpu"]
				if cpu == "" {
					t.Fatalf("packet %d: no cpu= in its comment %q", i, r[1])
				}
				if l, ok := last[cpu]; ok && ts.Before(l) {
					t.Fatalf("packet %d on CPU %s at %v is before the packet of that CPU before it, at %v", i, cpu, ts.Format(time.StampNano), l.Format(time.StampNano))
				}
				if ts.Before(prev) {
					inverted++
				}
				last[cpu], prev = ts, ts
			}
			t.Logf("%d packets stamped before the packet before them in the ring, of another CPU", inverted)
		})
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two attachments at once (one route, hooks in and xmit): each packet sits on
// its hook's interface with its hook's comment and direction, at a time
// within a second of the test's clock; tshark selects the xmit packets by
// comment; capinfos lists both interfaces with their statistics; the ISBs
// count what was seen and dropped.
func TestTwoAttachments(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	start := time.Now()
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--hook", "in,xmit", "--cookie", "0xbeef", "--netns", tb.r1, "-w", out)
	const n = 5
	if got := tb.ping(tb.h1, "2001:db8:20::1", n); got != n {
		t.Fatalf("%d of %d pings answered", got, n)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	end := time.Now()
	tb.requireRoutes(tb.r1, before)

	rows := tsharkFields(t, out, nil, "frame.interface_id", "frame.interface_name", "frame.comment", "frame.time_epoch", "frame.packet_flags_direction", "icmpv6.type")
	count := map[string]int{}
	for _, r := range rows {
		id, name, comment, epoch, dir, typ := r[0], r[1], r[2], r[3], r[4], r[5]
		hook, wantDir := "lwt_xmit", "0x00000002"
		if id == "0" {
			hook, wantDir = "lwt_in", "0x00000001"
		}
		if name != hook+":2001:db8:20::/48@r1_h2" || !strings.HasPrefix(comment, "hook="+hook+" cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ") || dir != wantDir || typ != "128" {
			t.Errorf("packet on interface %s: %q", id, r)
		}
		sec, err := strconv.ParseFloat(epoch, 64)
		if err != nil || sec < float64(start.Unix()-1) || sec > float64(end.Unix()+1) {
			t.Errorf("timestamp %s outside the test's run %v .. %v", epoch, start, end)
		}
		count[hook]++
	}
	if count["lwt_in"] != n || count["lwt_xmit"] != n {
		t.Fatalf("packets per hook %v, want %d each", count, n)
	}
	if sel := tsharkFields(t, out, []string{"-Y", `frame.comment contains "hook=lwt_xmit"`}, "frame.interface_name"); len(sel) != n {
		t.Errorf("filter on the comment selected %d packets, want %d", len(sel), n)
	}
	info := capinfos(t, out, "-M")
	for _, want := range []string{"Number of interfaces in file: 2", "Name = lwt_in:2001:db8:20::/48@r1_h2", "Name = lwt_xmit:2001:db8:20::/48@r1_h2",
		"Description = cookie=0xbeef netns=" + tb.r1 + " table=254"} {
		if !strings.Contains(info, want) {
			t.Errorf("capinfos -M lacks %q:\n%s", want, info)
		}
	}
	if got := strings.Count(info, "Number of stat entries = 1"); got != 2 {
		t.Errorf("capinfos -M shows %d interfaces with one statistics block, want 2:\n%s", got, info)
	}
	if recv, drop := isbCounters(t, out); recv != "5,5" || drop != "0,0" {
		t.Errorf("ISB received %q dropped %q, want 5,5 and 0,0", recv, drop)
	}
}

// isbCounters returns the isb_ifrecv and isb_ifdrop values of a capture's
// statistics blocks, comma separated in interface order, as tshark reads them.
func isbCounters(t *testing.T, file string) (recv, drop string) {
	t.Helper()
	rows := tsharkFields(t, file, []string{"-X", "read_format:MIME Files Format"},
		"pcapng.options.option.data.interface.received", "pcapng.options.option.data.interface.dropped")
	if len(rows) != 1 || len(rows[0]) != 2 {
		t.Fatalf("tshark's MIME reader gave %q", rows)
	}
	return rows[0][0], rows[0][1]
}

// Packet timestamps are wall-clock time, within a millisecond of the
// system clock around the moment the packet was sent.
func TestTimestampsAgreeWithSystemClock(t *testing.T) {
	tb := newTestbed(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out, "-c", "3")
	var windows [][2]time.Time
	for range 3 {
		before := time.Now()
		if err := exec.Command("ip", "netns", "exec", tb.h1, "ping", "-c1", "-W1", "2001:db8:20::1").Run(); err != nil {
			t.Fatal(err)
		}
		windows = append(windows, [2]time.Time{before, time.Now()})
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	// The perf buffers are per CPU, so packets from pings that ran on
	// different CPUs may reach the file out of order: compare in time order.
	times := packetTimes(t, out)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i, ts := range times {
		lo, hi := windows[i][0].Add(-time.Millisecond), windows[i][1].Add(time.Millisecond)
		t.Logf("packet %d at %v, window %v .. %v", i, ts.Format("05.000000"), windows[i][0].Format("05.000000"), windows[i][1].Format("05.000000"))
		if ts.Before(lo) || ts.After(hi) {
			t.Errorf("packet %d stamped %v, sent between %v and %v", i, ts, windows[i][0], windows[i][1])
		}
	}
}

func packetTimes(t *testing.T, file string) []time.Time {
	t.Helper()
	r := ngReader(t, file)
	var times []time.Time
	for {
		_, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return times
		}
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, ci.Timestamp)
	}
}

// -s truncates the copy in the kernel; the packet block keeps the original length.
func TestSnaplen(t *testing.T) {
	tb := newTestbed(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out, "-s", "60", "-c", "2")
	exec.Command("ip", "netns", "exec", tb.h1, "ping", "-c2", "-i0.1", "-s", "200", "203.0.113.1").Run()
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	rows := tsharkFields(t, out, nil, "frame.cap_len", "frame.len", "ip.dst")
	if len(rows) != 2 {
		t.Fatalf("%d packets", len(rows))
	}
	for _, r := range rows {
		if r[0] != "60" || r[1] != "228" || r[2] != "203.0.113.1" {
			t.Errorf("packet %q, want cap_len 60, len 228 to 203.0.113.1", r)
		}
	}
	if !strings.Contains(capinfos(t, out, "-M"), "Capture length = 60") {
		t.Error("capinfos does not show the snaplen of 60")
	}
}

// With a buffer far too small for a burst, packets are dropped, and every
// packet the hook saw is either in the file or counted as dropped, per
// interface: isb_ifrecv = packets in the file + isb_ifdrop. The summary and
// the kernel's perf loss records agree.
func TestDropsAreCounted(t *testing.T) {
	for _, transport := range []string{"perf", "ringbuf"} {
		t.Run(transport, func(t *testing.T) { testDropsAreCounted(t, transport) })
	}
}

func testDropsAreCounted(t *testing.T, transport string) {
	tb := newTestbed(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--hook", "in,xmit", "--netns", tb.r1, "-w", out, "-B", "4", "-v", "--transport", transport)
	// Bursts of 100 packets of 1400 bytes into 4 KiB per CPU.
	exec.Command("ip", "netns", "exec", tb.h1, "ping", "-f", "-l", "100", "-c", "2000", "-s", "1400", "2001:db8:20::1").Run()
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	recvs, drops := isbCounters(t, out)
	recv, drop := strings.Split(recvs, ","), strings.Split(drops, ",")
	var written [2]int
	for _, r := range tsharkFields(t, out, nil, "frame.interface_id") {
		id, _ := strconv.Atoi(r[0])
		written[id]++
	}
	var totalDrop, totalWritten int
	for i := range 2 {
		rv, _ := strconv.Atoi(recv[i])
		dr, _ := strconv.Atoi(drop[i])
		if rv != written[i]+dr {
			t.Errorf("interface %d: seen %d, but %d in the file + %d dropped", i, rv, written[i], dr)
		}
		if rv < 2000 {
			t.Errorf("interface %d: the hook saw %d packets, fewer than the 2000 sent", i, rv)
		}
		totalDrop += dr
		totalWritten += written[i]
	}
	if totalDrop == 0 {
		t.Fatalf("no drops with 4 KiB buffers and bursts of 140 KB; the test did not exercise the drop path")
	}
	stderr := p.stderr.String()
	if want := fmt.Sprintf("%d packets captured, %d dropped\n", totalWritten, totalDrop); !strings.HasSuffix(stderr, want) {
		t.Errorf("summary: %q, want it to end with %q", stderr, want)
	}
	t.Logf("written %d, dropped %d; %s", totalWritten, totalDrop, strings.TrimSpace(stderr))
}

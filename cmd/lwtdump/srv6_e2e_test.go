package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// --srv6-sid turns r1's End SID into End.BPF for the capture: h1's pings
// through the SID still get answers, tshark decodes the segment routing
// header of every captured packet as the kernel hands it to End.BPF (after
// End's work: segments left 1 -> 0, destination the next segment), and the
// SID's route is End again afterwards.
func TestCaptureSRv6EndBPF(t *testing.T) {
	tb := newSRv6Testbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "--srv6-sid", "2001:db8:f1::1", "--cookie", "0x5106", "--netns", tb.r1, "-w", out)
	shown := tb.ip("-n", tb.r1, "-6", "route", "show", "2001:db8:f1::1")
	if want := fmt.Sprintf("encap seg6local action End.BPF endpoint lwtdump:%d:seg6local dev r1_h1", p.cmd.Process.Pid); !strings.Contains(shown, want) {
		t.Errorf("SID route while capturing: %q, want %q", shown, want)
	}
	const n = 3
	if got := tb.ping(tb.h1, "2001:db8:20::1", n); got != n {
		t.Errorf("%d of %d pings through the SID answered while capturing", got, n)
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if got := tb.ping(tb.h1, "2001:db8:20::1", 1); got != 1 {
		t.Errorf("no answer through the SID after the capture")
	}

	rows := tsharkFields(t, out, nil, "frame.interface_name", "frame.comment", "frame.packet_flags_direction",
		"ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.routing.type", "ipv6.routing.segleft", "ipv6.routing.srh.last_entry",
		"ipv6.routing.srh.addr", "icmpv6.type", "icmpv6.echo.sequence_number")
	if len(rows) != n {
		t.Fatalf("%d packets, want %d: %q", len(rows), n, rows)
	}
	for i, row := range rows {
		want := []string{
			"lwt_seg6local:2001:db8:f1::1/128@r1_h1",
			"hook=lwt_seg6local cookie=0x5106 route=2001:db8:f1::1/128 dev=r1_h1 ifindex=" + fmt.Sprint(tb.ifindex(tb.r1, "r1_h1")),
			"0x00000001",                   // inbound (epb_flags)
			"2001:db8:1::1,2001:db8:1::1",  // outer and inner source
			"2001:db8:2::1,2001:db8:20::1", // outer destination (the next segment), inner
			"64,64",                        // outer hop limit not yet decremented by r1
			"4",                            // segment routing header
			"0",                            // segments left, after End
			"1",                            // last entry: two segments
			"2001:db8:2::1,2001:db8:f1::1", // the segment list (last segment first)
			"128", fmt.Sprint(i + 1),       // echo request i+1
		}
		row[1], _, _ = strings.Cut(row[1], " cpu=")
		if strings.Join(row, "|") != strings.Join(want, "|") {
			t.Errorf("packet %d:\n got %q\nwant %q", i+1, row, want)
		}
	}
}

// SIDs that End.BPF cannot stand in for are refused, and nothing changes.
func TestCaptureSRv6Refusals(t *testing.T) {
	tb := newSRv6Testbed(t)
	tb.ip("-n", tb.r1, "-6", "route", "add", "2001:db8:f1::2", "encap", "seg6local", "action", "End.DX6", "nh6", "2001:db8:2::1", "dev", "r1_h2")
	cases := []struct {
		name, sid, want string
	}{
		{"no-sid", "2001:db8:f1::9", "no seg6local route for SID 2001:db8:f1::9 in table 254 of netns " + tb.r1},
		{"not-end", "2001:db8:f1::2", "SID 2001:db8:f1::2 has action End.DX6, not End"},
		{"plain-route", "2001:db8:20::1", "no seg6local route for SID 2001:db8:20::1"},
	}
	if tb.tryIP("-n", tb.r1, "-6", "route", "add", "2001:db8:f1::3", "encap", "seg6local", "action", "End", "count", "dev", "r1_h1") {
		cases = append(cases, struct{ name, sid, want string }{"end-with-counters", "2001:db8:f1::3", "SID 2001:db8:f1::3 is End with count"})
	}
	before := tb.routes(tb.r1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := tb.in(t)
			code, _, stderr := runLwtdump(t, tb.launch(), "--srv6-sid", tc.sid, "--netns", tb.r1)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, stderr %q; want 2 and one line with %q", code, stderr, tc.want)
			}
			tb.requireRoutes(tb.r1, before)
		})
	}
	if code, _, stderr := runLwtdump(t, tb.launch(), "--srv6-sid", "192.0.2.1"); code != 2 || !strings.Contains(stderr, "is not an IPv6 address") {
		t.Errorf("--srv6-sid 192.0.2.1: exit code %d, stderr %q", code, stderr)
	}
}

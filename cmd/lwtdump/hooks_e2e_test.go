package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Which hook sees what, at all three hooks at once on one IPv6 and one IPv4
// route of r1: packets r1 forwards from h1 to h2 pass lwt_in (input path),
// lwt_out and lwt_xmit (output path); packets r1 originates itself towards
// the prefix pass only lwt_out and lwt_xmit. The comment's ifindex is the
// input device at lwt_in, the output device at lwt_xmit, and at lwt_out
// still the input device for a forwarded packet and 0 for one r1 sends.
// README's hook table is this matrix.
func TestHookMatrix(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	in, out := tb.ifindex(tb.r1, "r1_h1"), tb.ifindex(tb.r1, "r1_h2")
	file := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--hook", "in,out,xmit", "--netns", tb.r1, "-w", file)
	const forwarded, originated = 3, 2
	for _, dst := range []string{"2001:db8:20::1", "203.0.113.1"} {
		if got := tb.ping(tb.h1, dst, forwarded); got != forwarded {
			t.Errorf("h1 -> %s: %d of %d pings answered", dst, got, forwarded)
		}
		if got := tb.ping(tb.r1, dst, originated); got != originated {
			t.Errorf("r1 -> %s: %d of %d pings answered", dst, got, originated)
		}
	}
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)

	// Count echo requests by route, hook, sender, direction and ifindex.
	got := map[string]int{}
	rows := tsharkFields(t, file, []string{"-Y", "icmp.type == 8 || icmpv6.type == 128"},
		"frame.interface_name", "frame.comment", "ip.src", "ipv6.src", "frame.packet_flags_direction")
	for _, row := range rows {
		c := commentFields(row[1])
		hook, route := c["hook"], c["route"]
		var ifindex int
		fmt.Sscan(c["ifindex"], &ifindex)
		if !strings.HasPrefix(row[0], hook+":"+route+"@") {
			t.Errorf("interface %q holds a packet whose comment says %q", row[0], row[1])
		}
		from := "r1"
		if src := row[2] + row[3]; src == "2001:db8:1::1" || src == "192.0.2.1" {
			from = "h1"
		}
		got[fmt.Sprintf("%s %s from=%s dir=%s ifindex=%d", route, hook, from, row[4], ifindex)]++
	}
	want := map[string]int{}
	for _, route := range []string{"2001:db8:20::/48", "203.0.113.0/24"} {
		want[fmt.Sprintf("%s lwt_in from=h1 dir=0x00000001 ifindex=%d", route, in)] = forwarded
		want[fmt.Sprintf("%s lwt_out from=h1 dir=0x00000002 ifindex=%d", route, in)] = forwarded
		want[fmt.Sprintf("%s lwt_xmit from=h1 dir=0x00000002 ifindex=%d", route, out)] = forwarded
		want[fmt.Sprintf("%s lwt_out from=r1 dir=0x00000002 ifindex=0", route)] = originated
		want[fmt.Sprintf("%s lwt_xmit from=r1 dir=0x00000002 ifindex=%d", route, out)] = originated
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d packets, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			t.Errorf("%s: %d packets, want none", k, n)
		}
	}
	// Nothing else passed the routes: not the echo replies (they take r1's
	// routes to h1 and to r1 itself), nor neighbour discovery or ARP.
	if all := tsharkFields(t, file, nil, "frame.number"); len(all) != len(rows) {
		t.Errorf("%d packets in the capture, %d of them echo requests", len(all), len(rows))
	}
}

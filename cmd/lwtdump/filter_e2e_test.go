package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// With the expression 'udp' on a route that carries UDP and ICMPv6, only
// the UDP packets are written; the echo requests are counted as filtered,
// not as dropped, in the summary and in the interface statistics; the
// interface records the expression; the route is restored.
func TestCaptureFilter(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out, "udp")
	const pings, datagrams = 3, 4
	if got := tb.ping(tb.h1, "2001:db8:20::1", pings); got != pings {
		t.Fatalf("%d of %d pings answered while capturing", got, pings)
	}
	tb.udp(tb.h1, "2001:db8:20::1", 5000, datagrams, "lwtdump")
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if want := fmt.Sprintf("%d packets captured, 0 dropped, %d filtered\n", datagrams, pings); !strings.HasSuffix(p.stderr.String(), want) {
		t.Errorf("summary: %q, want it to end with %q", p.stderr.String(), want)
	}

	rows := tsharkFields(t, out, nil, "ipv6.nxt", "udp.dstport", "udp.length")
	if len(rows) != datagrams {
		t.Fatalf("%d packets in the capture, want the %d datagrams: %q", len(rows), datagrams, rows)
	}
	for _, row := range rows {
		if strings.Join(row, "|") != "17|5000|15" {
			t.Errorf("packet: %q, want a UDP datagram to port 5000", row)
		}
	}
	// Interface statistics: seen = accepted + filtered; nothing dropped.
	stats := tsharkFields(t, out, []string{"-X", "read_format:MIME Files Format"},
		"pcapng.options.option.data.interface.received",
		"pcapng.options.option.data.interface.dropped",
		"pcapng.options.option.data.interface.accepted_by_filter",
		"pcapng.options.option.data.interface.delivered_to_user")
	var isb []string
	for _, row := range stats {
		if strings.Join(row, "") != "" {
			isb = append(isb, strings.Join(row, "|"))
		}
	}
	if want := fmt.Sprintf("%d|0|%d|%d", pings+datagrams, datagrams, datagrams); len(isb) != 1 || isb[0] != want {
		t.Errorf("interface statistics: %q, want one block %q (received|dropped|accepted|delivered)", isb, want)
	}
	r := ngReader(t, out)
	if _, _, err := r.ReadPacketData(); err != nil {
		t.Fatal(err)
	}
	if intf, err := r.Interface(0); err != nil || intf.Filter != "udp" {
		t.Errorf("interface filter %q (%v), want \"udp\"", intf.Filter, err)
	}
	capinfos(t, out)
}

// An expression that does not compile is a usage error with libpcap's
// message on one line, and no route is touched.
func TestCaptureFilterErrors(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	dir := t.TempDir()
	file := filepath.Join(dir, "filter")
	if err := os.WriteFile(file, []byte("# only DNS\nudp port 53 and\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tcp", "prot", "80"}, `lwtdump: filter expression "tcp prot 80": can't parse filter expression: syntax error`},
		{[]string{"ip6 host 192.0.2.1"}, `lwtdump: filter expression "ip6 host 192.0.2.1": 'ip6' modifier applied to ip host`},
		{[]string{"tcp and udp"}, `lwtdump: filter expression "tcp and udp": expression rejects all packets`},
		{[]string{"-F", file}, `lwtdump: filter expression "udp port 53 and": can't parse filter expression: syntax error`},
		{[]string{"udp", "-w", filepath.Join(dir, "out.pcapng")}, `lwtdump: -w after the filter expression: write the flags first, the expression last`},
	} {
		args := append([]string{"-i", "2001:db8:20::/48", "--netns", tb.r1, "--state-dir", tb.stateDir}, tc.args...)
		code, _, stderr := runLwtdump(t, launch{}, args...)
		if code != 2 || stderr != tc.want+"\n" {
			t.Errorf("lwtdump %s: exit %d, stderr %q; want 2, %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
		tb.requireRoutes(tb.r1, before)
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// A capture of an existing IPv6 route: every echo request once, with its
// comment, addresses and lengths, read by pcapgo and by tshark; capinfos
// accepts the file; the route table is exactly as before.
func TestCaptureExistingRouteIPv6(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--cookie", "0xbeef", "--netns", tb.r1, "-w", out)
			if got := tb.ip("-n", tb.r1, "-6", "route", "show", "2001:db8:20::/48"); !strings.Contains(got, "encap bpf xmit lwtdump:") {
				t.Fatalf("route while capturing has no lwtdump encap: %s", got)
			}
			const n = 5
			if got := tb.ping(tb.h1, "2001:db8:20::1", n); got != n {
				t.Fatalf("%d of %d pings answered while capturing", got, n)
			}
			if code := p.stop(sig); code != 0 {
				t.Fatalf("exit code %d after %s\nstderr: %s", code, sig, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			if !strings.Contains(p.stderr.String(), fmt.Sprintf("%d packets captured, 0 dropped", n)) {
				t.Errorf("summary: %q", p.stderr.String())
			}

			// pcapgo: one interface, IPv6, n packets with the exact comment.
			r := ngReader(t, out)
			var seqs []int
			for {
				data, ci, opts, err := r.ReadPacketDataWithOptions()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ci.InterfaceIndex != 0 || ci.CaptureLength != len(data) || ci.Length != 104 || len(data) != 104 {
					t.Errorf("packet %d: interface %d, caplen %d, len %d, data %d", len(seqs), ci.InterfaceIndex, ci.CaptureLength, ci.Length, len(data))
				}
				if len(opts.Comments) != 1 || !strings.HasPrefix(opts.Comments[0], "hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=") {
					t.Errorf("packet %d comments: %q", len(seqs), opts.Comments)
				}
				if d := time.Since(ci.Timestamp); d < 0 || d > time.Minute {
					t.Errorf("packet %d timestamp %v is not from this test", len(seqs), ci.Timestamp)
				}
				seqs = append(seqs, int(data[len(data)-n]))
			}
			if r.NInterfaces() != 1 {
				t.Errorf("%d interfaces", r.NInterfaces())
			}
			if intf, _ := r.Interface(0); intf.LinkType != layers.LinkTypeIPv6 || intf.Name != "lwt_xmit:2001:db8:20::/48@r1_h2" {
				t.Errorf("interface: link type %v, name %q", intf.LinkType, intf.Name)
			}
			if len(seqs) != n {
				t.Fatalf("pcapgo read %d packets, want %d", len(seqs), n)
			}

			// tshark: every echo request once, in order, from h1 to h2.
			rows := tsharkFields(t, out, nil, "frame.comment", "ipv6.src", "ipv6.dst", "icmpv6.type", "icmpv6.echo.sequence_number", "frame.len")
			if len(rows) != n {
				t.Fatalf("tshark read %d packets, want %d: %q", len(rows), n, rows)
			}
			for i, row := range rows {
				want := []string{"", "2001:db8:1::1", "2001:db8:20::1", "128", fmt.Sprint(i + 1), "104"}
				if !strings.HasPrefix(row[0], "hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=") ||
					strings.Join(row[1:], "|") != strings.Join(want[1:], "|") {
					t.Errorf("packet %d: %q", i+1, row)
				}
			}
			capinfos(t, out)
		})
	}
}

// A prefix with no route and @DEV: lwtdump adds the route for the capture and
// deletes it at exit. Without the route h2's address is unreachable.
func TestCaptureAddedRoute(t *testing.T) {
	for _, tc := range []struct {
		prefix, dst, family string
	}{
		{"2001:db8:21::/64", "2001:db8:21::1", "ipv6"},
		{"192.0.2.128/25", "192.0.2.129", "ip"},
	} {
		t.Run(tc.family, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			if got := tb.ping(tb.h1, tc.dst, 1); got != 0 {
				t.Fatalf("%s answers before the capture added a route to it", tc.dst)
			}
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(t, tb.launch(), "-i", tc.prefix+"@r1_h2", "--netns", tb.r1, "-w", out)
			const n = 3
			if got := tb.ping(tb.h1, tc.dst, n); got != n {
				t.Fatalf("%d of %d pings answered while capturing", got, n)
			}
			if code := p.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			rows := tsharkFields(t, out, []string{"-Y", "icmp.type == 8 || icmpv6.type == 128"}, "frame.comment", tc.family+".dst")
			if len(rows) != n {
				t.Fatalf("%d echo requests in the capture, want %d: %q", len(rows), n, rows)
			}
			for _, row := range rows {
				if !strings.HasPrefix(row[0], "hook=lwt_xmit cookie=0x0 route="+tc.prefix+" dev=r1_h2 ") || row[1] != tc.dst {
					t.Errorf("packet: %q", row)
				}
			}
		})
	}
}

// -c stops the capture by itself after COUNT packets and restores the route.
func TestCaptureCount(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out, "-c", "2")
	tb.ping(tb.h1, "203.0.113.1", 4)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if rows := tsharkFields(t, out, nil, "frame.comment"); len(rows) != 2 {
		t.Fatalf("%d packets with -c 2", len(rows))
	}
}

// Without -w, lwtdump prints one line per packet like tcpdump.
func TestCaptureText(t *testing.T) {
	tb := newTestbed(t)
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-c", "2")
	tb.ping(tb.h1, "2001:db8:20::1", 2)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), p.stdout.String())
	}
	for i, l := range lines {
		const want = "lwt_xmit IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id "
		if !strings.Contains(l, want) || !strings.HasSuffix(l, fmt.Sprintf("seq %d, length 64", i+1)) {
			t.Errorf("line %d: %q", i, l)
		}
	}
}

// When a later route fails to attach, the routes already changed are put
// back before lwtdump exits with the error.
func TestFailedAttachRestoresEarlierRoutes(t *testing.T) {
	tb := newTestbed(t)
	tb.ip("-n", tb.r1, "link", "add", "down0", "type", "veth", "peer", "name", "down1") // left down: IPv4 refuses routes through it
	before := tb.routes(tb.r1)
	code, _, stderr := runLwtdump(t, tb.launch(), "--netns", tb.r1, "-i", "2001:db8:20::/48", "-i", "192.0.2.128/25@down0", "-w", filepath.Join(t.TempDir(), "x.pcapng"))
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstderr: %s", code, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(stderr, "192.0.2.128/25") {
		t.Errorf("stderr should be one line naming the route: %q", stderr)
	}
	tb.requireRoutes(tb.r1, before)
}

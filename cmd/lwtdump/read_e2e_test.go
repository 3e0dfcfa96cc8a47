package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// A real capture at two hooks at once reads back: -r prints every packet
// once with its hook, stats counts them per attachment, and -r -w --hook
// lwt_xmit copies exactly the packets seen at lwt_xmit, with their
// comments, times and direction, as tshark reads them.
func TestReadRoundTrip(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pcapng")
	// lwt_in sees the echo requests r1 forwards as they come in from h1,
	// lwt_xmit as they leave towards h2.
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--hook", "in,xmit", "--cookie", "0xbeef", "--netns", tb.r1, "-w", out)
	const n = 4
	if got := tb.ping(tb.h1, "2001:db8:20::1", n); got != n {
		t.Fatalf("%d of %d pings answered while capturing", got, n)
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)

	fields := []string{"frame.comment", "frame.time_epoch", "frame.interface_name", "frame.packet_flags_direction", "ipv6.src", "icmpv6.type", "icmpv6.echo.sequence_number"}
	all := tsharkFields(t, out, nil, fields...)
	var xmit []string
	hooks := map[string]int{}
	for _, row := range all {
		hook, _, _ := strings.Cut(row[0], " ")
		hooks[hook]++
		if hook == "hook=lwt_xmit" {
			xmit = append(xmit, strings.Join(row, "|"))
		}
	}
	t.Logf("packets per hook: %v", hooks)
	if hooks["hook=lwt_in"] < n || hooks["hook=lwt_xmit"] < n || len(hooks) != 2 {
		t.Fatalf("the capture holds packets of hooks %v, want at least %d at each of lwt_in and lwt_xmit:\n%q", hooks, n, all)
	}

	// -r prints each packet once, with its hook.
	code, stdout, stderr := runLwtdump(t, launch{}, "-r", out)
	if code != 0 || stderr != "" {
		t.Fatalf("-r: exit code %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(all) {
		t.Errorf("-r printed %d lines for %d packets:\n%s", len(lines), len(all), stdout)
	}
	for _, hook := range []string{"lwt_in", "lwt_xmit"} {
		for seq := 1; seq <= n; seq++ {
			want := fmt.Sprintf(" %s IP6 2001:db8:1::1 > 2001:db8:20::1: ICMP6, echo request, id ", hook)
			if !slices.ContainsFunc(lines, func(l string) bool {
				return strings.Contains(l, want) && strings.HasSuffix(l, fmt.Sprintf(", seq %d, length 64", seq))
			}) {
				t.Errorf("-r printed no line for echo request %d at %s:\n%s", seq, hook, stdout)
			}
		}
	}

	// stats counts per attachment.
	code, stdout, stderr = runLwtdump(t, launch{}, "stats", "--json", out)
	if code != 0 || stderr != "" {
		t.Fatalf("stats: exit code %d, stderr %q", code, stderr)
	}
	var stats struct {
		Interfaces []struct {
			Name    string
			Packets int
			Dropped *uint64
			Hooks   []string
			Cookies []string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &stats); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, stdout)
	}
	if len(stats.Interfaces) != 2 {
		t.Fatalf("stats: %d interfaces\n%s", len(stats.Interfaces), stdout)
	}
	for i, hook := range []string{"lwt_in", "lwt_xmit"} {
		s := stats.Interfaces[i]
		if s.Name != hook+":2001:db8:20::/48@r1_h2" || s.Packets != hooks["hook="+hook] || s.Dropped == nil || *s.Dropped != 0 ||
			!slices.Equal(s.Hooks, []string{hook}) || !slices.Equal(s.Cookies, []string{"0xbeef"}) {
			t.Errorf("stats of %s: %+v", hook, s)
		}
	}

	// -r -w --hook lwt_xmit keeps exactly the xmit packets.
	sel := filepath.Join(dir, "sel.pcapng")
	code, _, stderr = runLwtdump(t, launch{}, "-r", out, "-w", sel, "--hook", "lwt_xmit")
	if code != 0 || stderr != "" {
		t.Fatalf("-r -w: exit code %d, stderr %q", code, stderr)
	}
	var got []string
	for _, row := range tsharkFields(t, sel, nil, fields...) {
		got = append(got, strings.Join(row, "|"))
	}
	if !slices.Equal(got, xmit) {
		t.Errorf("the selection holds\n%s\nwant the lwt_xmit packets\n%s", strings.Join(got, "\n"), strings.Join(xmit, "\n"))
	}
	for _, row := range got {
		if !strings.HasPrefix(row, "hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=") {
			t.Errorf("packet of the selection: %s", row)
		}
	}
	info := capinfos(t, sel)
	for _, s := range []string{"Number of interfaces in file: 2", "Name = lwt_in:2001:db8:20::/48@r1_h2", "Name = lwt_xmit:2001:db8:20::/48@r1_h2",
		"Number of stat entries = 1", fmt.Sprintf("Number of packets:   %d", len(xmit))} {
		if !strings.Contains(info, s) {
			t.Errorf("capinfos of the selection says no %q:\n%s", s, info)
		}
	}
}

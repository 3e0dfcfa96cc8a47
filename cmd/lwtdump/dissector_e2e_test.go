package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const dissector = "../internal/wireshark/lwtdump.lua"

// The Lua post-dissector turns lwtdump's comments into fields: a filter on
// hook and cookie selects exactly the packets whose comment says so, and the
// fields carry the comment's values.
func TestDissectorFields(t *testing.T) {
	tb := newTestbed(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48,cookie=0xbeef", "-i", "203.0.113.0/24,cookie=0x7", "--hook", "in,xmit", "--netns", tb.r1, "-w", out)
	tb.ping(tb.h1, "2001:db8:20::1", 3)
	tb.ping(tb.h1, "203.0.113.1", 2)
	if code := p.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	lua := []string{"-X", "lua_script:" + dissector}

	all := tsharkFields(t, out, lua, "frame.comment", "lwtdump.hook", "lwtdump.cookie", "lwtdump.route", "lwtdump.dev", "lwtdump.ifindex", "lwtdump.cpu", "lwtdump.mark")
	if len(all) != 10 {
		t.Fatalf("%d packets, want 10 (3+2 pings at two hooks)", len(all))
	}
	// What the testbed says: the route and its device, and the packet's
	// device as each hook sees it (the input device at lwt_in).
	routes := map[string]bool{"2001:db8:20::/48": true, "203.0.113.0/24": true}
	wantIfindex := map[string]string{
		"lwt_in":   fmt.Sprint(tb.ifindex(tb.r1, "r1_h1")),
		"lwt_xmit": fmt.Sprint(tb.ifindex(tb.r1, "r1_h2")),
	}
	wantSel := 0
	for _, r := range all {
		if !routes[r[3]] || r[4] != "r1_h2" || r[5] != wantIfindex[r[1]] {
			t.Errorf("fields %q: want a route of the capture, dev r1_h2, ifindex %s", r[1:], wantIfindex[r[1]])
		}
		comment := r[0]
		c := commentFields(comment)
		hook, cookie := c["hook"], c["cookie"]
		// tshark prints the hex fields zero-padded: 0x000000000000beef, 0x00000000.
		if r[1] != hook || !hexEqual(r[2], cookie) || r[3] != c["route"] || r[4] != c["dev"] || r[5] != c["ifindex"] || r[6] != c["cpu"] || !hexEqual(r[7], c["mark"]) {
			t.Errorf("fields %q do not match the comment %q", r[1:], comment)
		}
		if hook == "lwt_xmit" && cookie == "0xbeef" {
			wantSel++
		}
	}
	sel := tsharkFields(t, out, append(lua, "-Y", `lwtdump.hook == "lwt_xmit" && lwtdump.cookie == 0xbeef`), "frame.comment")
	if len(sel) != wantSel || wantSel != 3 {
		t.Fatalf("filter selected %d packets, %d comments say hook=lwt_xmit cookie=0xbeef (want 3)", len(sel), wantSel)
	}
	for _, r := range sel {
		if !strings.HasPrefix(r[0], "hook=lwt_xmit cookie=0xbeef ") {
			t.Errorf("selected %q", r[0])
		}
	}
}

// commentFields splits an lwtdump packet comment into its key=value fields,
// read here as an analyst would, apart from lwtdump's own parser.
func commentFields(comment string) map[string]string {
	fields := map[string]string{}
	for _, kv := range strings.Fields(comment) {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	return fields
}

// hexEqual compares tshark's zero-padded hex with lwtdump's short hex.
func hexEqual(padded, short string) bool {
	p := strings.TrimLeft(strings.TrimPrefix(padded, "0x"), "0")
	s := strings.TrimLeft(strings.TrimPrefix(short, "0x"), "0")
	return p == s
}

// A capture written by another tool is dissected without a Lua error, and
// no lwtdump tree is added to its packets.
func TestDissectorLeavesOtherCapturesAlone(t *testing.T) {
	requireRoot(t)
	tb := newTestbed(t)
	dir := t.TempDir()
	pcap, pcapng := filepath.Join(dir, "other.pcap"), filepath.Join(dir, "other.pcapng")
	td := exec.Command("ip", "netns", "exec", tb.r1, "tcpdump", "-i", "r1_h2", "-c", "4", "-w", pcap, "icmp6 and ip6[40] == 128")
	if err := td.Start(); err != nil {
		t.Skipf("tcpdump: %v", err)
	}
	for range 20 {
		tb.ping(tb.h1, "2001:db8:20::1", 1)
		if td.ProcessState != nil {
			break
		}
		if exec.Command("pgrep", "-f", pcap).Run() != nil {
			break
		}
	}
	td.Wait()
	if out, err := exec.Command("editcap", "-F", "pcapng", pcap, pcapng).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	cmd := exec.Command("tshark", "-X", "lua_script:"+dissector, "-r", pcapng, "-V")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Lua: Error") || strings.Contains(string(out), "lwtdump") {
		t.Fatalf("unexpected dissection of another tool's capture:\n%s", out)
	}
	if !strings.Contains(string(out), "Echo (ping) request") {
		t.Fatalf("the capture has no echo requests:\n%s", out)
	}
}

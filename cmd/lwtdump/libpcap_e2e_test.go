package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The readers built on libpcap read lwtdump's captures of several
// attachments: tcpdump reads every packet of a capture of one family's
// routes (two routes; several hooks; to a file or through a pipe), and of
// a capture of IPv4 and IPv6 routes written with --one-interface. Without
// it, such a capture says at its start that tcpdump cannot read its file,
// and tcpdump indeed refuses it. tshark and capinfos read every one of
// them whole, and lwtdump -r prints every packet with its hook.
func TestLibpcapReadsCaptures(t *testing.T) {
	for _, tool := range []string{"tcpdump", "tshark", "capinfos"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it)", tool)
		}
	}
	const n = 3
	const mixedLine = "lwtdump: IPv4 and IPv6 routes in one file: Wireshark reads it, tcpdump cannot (one link type per file); --one-interface writes a file both read\n"
	for _, tc := range []struct {
		name     string
		args     []string
		pings    []string // destinations pinged n times from h1
		requests int      // echo requests in the file: each passes every hook of its route once
		ifaces   int      // interfaces in the file
		linkType string   // tcpdump's name of the file's link type; "" when tcpdump refuses the file
		pipe     bool     // -w - | tcpdump -r -
	}{
		{"two IPv6 routes", []string{"-i", "2001:db8:20::/48", "-i", "2001:db8:21::/64@r1_h2"}, []string{"2001:db8:20::1", "2001:db8:21::1"}, 6, 2, "IPV6", false},
		{"in, out and xmit of an IPv6 route", []string{"-i", "2001:db8:20::/48", "--hook", "in,out,xmit"}, []string{"2001:db8:20::1"}, 9, 3, "IPV6", false},
		{"in and xmit of an IPv4 route", []string{"-i", "203.0.113.0/24", "--hook", "in,xmit"}, []string{"203.0.113.1"}, 6, 2, "IPV4", false},
		{"in, out and xmit through a pipe", []string{"-i", "2001:db8:20::/48", "--hook", "in,out,xmit"}, []string{"2001:db8:20::1"}, 9, 3, "IPV6", true},
		{"IPv4 and IPv6", []string{"-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--hook", "in,xmit"}, []string{"2001:db8:20::1", "203.0.113.1"}, 12, 4, "", false},
		{"IPv4 and IPv6, one interface", []string{"-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--hook", "in,xmit", "--one-interface"}, []string{"2001:db8:20::1", "203.0.113.1"}, 12, 1, "RAW", false},
		{"IPv4 and IPv6, one interface, through a pipe", []string{"-i", "2001:db8:20::/48", "-i", "203.0.113.0/24", "--one-interface"}, []string{"2001:db8:20::1", "203.0.113.1"}, 6, 1, "RAW", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			dir := t.TempDir()
			file := filepath.Join(dir, "out.pcapng")
			want := tc.requests

			l := tb.launch()
			args := append(tc.args, "--netns", tb.r1, "-w", file)
			var tcpdump *exec.Cmd
			var tcpdumpOut strings.Builder
			if tc.pipe {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				tcpdump = exec.Command("tcpdump", "-n", "-r", "-")
				tcpdump.Stdin, tcpdump.Stdout, tcpdump.Stderr = r, &tcpdumpOut, &tcpdumpOut
				if err := tcpdump.Start(); err != nil {
					t.Fatal(err)
				}
				r.Close()
				defer w.Close()
				l.stdout = w
				args[len(args)-1] = "-"
			}
			p := startLwtdump(t, l, args...)
			if l.stdout != nil {
				l.stdout.(*os.File).Close()
			}
			for _, dst := range tc.pings {
				if got := tb.ping(tb.h1, dst, n); got != n {
					t.Fatalf("%d of %d pings to %s answered", got, n, dst)
				}
			}
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			if said := strings.Contains(p.stderr.String(), mixedLine); said != (tc.linkType == "") {
				t.Errorf("said that tcpdump cannot read the file: %v\nstderr: %s", said, p.stderr.String())
			}

			echo := regexp.MustCompile(`(?m)^\S+ (IP6 2001:db8:1::1|IP 192\.0\.2\.1) > \S+: ICMP6?,? echo request`)
			var out string
			if tc.pipe {
				err := tcpdump.Wait()
				out = tcpdumpOut.String()
				if err != nil {
					t.Fatalf("tcpdump -r -: %v\n%s", err, out)
				}
			} else {
				b, err := exec.Command("tcpdump", "-n", "-r", file).CombinedOutput()
				out = string(b)
				if tc.linkType == "" {
					if err == nil || !strings.Contains(out, "an interface has a type 101 different from the type of the first interface") {
						t.Errorf("tcpdump read a capture of IPv4 and IPv6 routes (then README and the line at the start say too much): %v\n%s", err, out)
					}
					out = ""
				} else if err != nil {
					t.Fatalf("tcpdump -r: %v\n%s", err, out)
				}
			}
			if tc.linkType != "" {
				if !strings.Contains(out, ", link-type "+tc.linkType+" ") {
					t.Errorf("tcpdump: link type is not %s:\n%s", tc.linkType, out)
				}
				if got := len(echo.FindAllString(out, -1)); got != want {
					t.Errorf("tcpdump read %d echo requests, want %d:\n%s", got, want, out)
				}
			}
			if tc.pipe {
				return // the file is stdout
			}

			// Wireshark's readers, and lwtdump's own, read every capture whole.
			info := capinfos(t, file, "-M")
			for _, s := range []string{fmt.Sprintf("Number of interfaces in file: %d\n", tc.ifaces), fmt.Sprintf("Number of packets:   %d\n", want)} {
				if !strings.Contains(info, s) {
					t.Errorf("capinfos lacks %q:\n%s", s, info)
				}
			}
			rows := tsharkFields(t, file, []string{"-Y", "icmp.type == 8 || icmpv6.type == 128"}, "frame.comment")
			if len(rows) != want {
				t.Errorf("tshark read %d echo requests, want %d", len(rows), want)
			}
			for _, r := range rows {
				if !strings.HasPrefix(r[0], "hook=lwt_") {
					t.Errorf("tshark: comment %q", r[0])
				}
			}
			code, stdout, stderr := runLwtdump(t, inProcess, "-r", file, "icmp[0] == 8 or icmp6[0] == 128")
			if code != 0 || strings.Count(stdout, " echo request") != want || strings.Count(stdout, " lwt_") != want {
				t.Errorf("lwtdump -r: exit %d, %d echo requests, want %d:\n%s%s", code, strings.Count(stdout, " echo request"), want, stdout, stderr)
			}
		})
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lwtdump/lwtdump/bpf/filter/filtertest"
)

// lwtdump -d, -dd and -ddd print what tcpdump -d, -dd and -ddd -y RAW
// print, byte for byte, for every expression of the filter oracle's table,
// and exit 0 without capturing: no route, no privilege needed.
func TestDumpLikeTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed: it is the reference (apt-get install tcpdump)")
	}
	for _, expr := range filtertest.Expressions(t) {
		for _, d := range []string{"-d", "-dd", "-ddd"} {
			t.Run(d+"/"+expr, func(t *testing.T) {
				want, err := exec.Command("tcpdump", d, "-y", "RAW", "--", expr).Output()
				if err != nil {
					t.Fatalf("tcpdump %s -y RAW %q: %v", d, expr, err)
				}
				code, stdout, stderr := runLwtdump(t, inProcess, d, expr)
				if code != 0 || stderr != "" {
					t.Fatalf("exit code %d, stderr %q", code, stderr)
				}
				if stdout != string(want) {
					t.Fatalf("lwtdump %s %q\n%s--- tcpdump\n%s", d, expr, stdout, want)
				}
			})
		}
	}
}

// The other ways to give -d and its expression, and what is refused.
func TestDumpCommandLines(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed: it is the reference (apt-get install tcpdump)")
	}
	tcpdump := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tcpdump", append([]string{"-y", "RAW"}, args...)...).Output()
		if err != nil {
			t.Fatalf("tcpdump %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	dir := t.TempDir()
	ff := filepath.Join(dir, "filter")
	if err := os.WriteFile(ff, []byte("# web\ntcp port 443\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(dir, "c.pcapng")
	if err := os.WriteFile(capture, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // stdout; exit code 0
		err  string // the one line on stderr; exit code 2
	}{
		{name: "no expression", args: []string{"-d"}, want: tcpdump("-d")},
		{name: "snaplen", args: []string{"-d", "-s", "100", "udp"}, want: tcpdump("-d", "-s", "100", "udp")},
		{name: "snaplen 0", args: []string{"-dd", "-s", "0", "udp"}, want: tcpdump("-dd", "-s", "0", "udp")},
		{name: "-dddd is -ddd", args: []string{"-dddd", "udp"}, want: tcpdump("-ddd", "udp")},
		{name: "-d -d", args: []string{"-d", "-d", "udp"}, want: tcpdump("-dd", "udp")},
		{name: "grouped with -n", args: []string{"-nd", "udp"}, want: tcpdump("-d", "udp")},
		{name: "-F", args: []string{"-d", "-F", ff}, want: tcpdump("-d", "tcp port 443")},
		{name: "capture flags", args: []string{"-d", "-i", "2001:db8:99::/48", "--netns", "lwtdump-no-such-netns", "-w", filepath.Join(dir, "x"), "icmp6"}, want: tcpdump("-d", "icmp6")},
		{name: "-r", args: []string{"-d", "-r", capture, "icmp6"}, want: tcpdump("-d", "icmp6")},
		{name: "bad expression", args: []string{"-d", "tcp prot 80"}, err: `lwtdump: filter expression "tcp prot 80": can't parse filter expression: syntax error`},
		{name: "rejects all", args: []string{"-d", "tcp and udp"}, err: `lwtdump: filter expression "tcp and udp": expression rejects all packets`},
		{name: "bad snaplen", args: []string{"-d", "-s", "300000", "udp"}, err: "lwtdump: -s 300000: snaplen must be 1 to 262144"},
		{name: "flag after the expression", args: []string{"-d", "udp", "-v"}, err: "lwtdump: -v after the filter expression"},
		{name: "eBPF without expression", args: []string{"--dump-ebpf"}, err: "lwtdump: --dump-ebpf: no filter expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLwtdump(t, inProcess, tc.args...)
			if tc.err != "" {
				if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, tc.err) {
					t.Fatalf("exit code %d, stdout %q, stderr %q; want 2 and one line %q", code, stdout, stderr, tc.err)
				}
				return
			}
			if code != 0 || stderr != "" || stdout != tc.want {
				t.Fatalf("exit code %d, stderr %q\n%s--- want\n%s", code, stderr, stdout, tc.want)
			}
		})
	}
}

// --dump-ebpf prints the eBPF function of the filter as cilium/ebpf lists
// it: the function's name, then the translation of each classic
// instruction under a label with its number, down to the exits; with -d
// too, the classic program comes first.
func TestDumpEBPF(t *testing.T) {
	code, stdout, stderr := runLwtdump(t, inProcess, "--dump-ebpf", "tcp port 443")
	if code != 0 || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if lines[0] != "lwtdump_filter:" || !strings.Contains(stdout, "\nlwtdump_filter_21:\n") || !strings.Contains(stdout, "Call FnSkbLoadBytes") ||
		!strings.Contains(stdout, "MovImm32 dst: r0 imm: 262144") || !strings.HasSuffix(lines[len(lines)-1], ": Exit") {
		t.Fatalf("listing:\n%s", stdout)
	}
	_, both, _ := runLwtdump(t, inProcess, "-d", "--dump-ebpf", "tcp port 443")
	_, classic, _ := runLwtdump(t, inProcess, "-d", "tcp port 443")
	if both != classic+stdout {
		t.Fatalf("-d --dump-ebpf:\n%s", both)
	}
}

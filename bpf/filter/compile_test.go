package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// compileCases are compared instruction for instruction with what
// tcpdump's libpcap compiles for DLT_RAW, optimized and not, and error
// for error.
var compileCases = []string{
	// Protocols.
	"", "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp", "igrp", "pim", "vrrp", "carp",
	"ah", "esp", "arp or ip", "not ip", "not tcp", "ip and not udp", "tcp or udp or icmp6",
	"ip proto 17", "ip6 proto 17", "proto 50", "ip proto \\tcp", "ip6 proto \\udp", "proto \\icmp",
	"ip proto ospf", "ip6 proto ipv6-frag", "proto gre",
	"ether proto \\ip", "ether proto \\ip6", "ether proto \\ip and udp", "ether proto 0x800", "ether proto 0x86dd",
	"not ether proto \\ip6", "ether proto \\ip or ether proto \\arp",
	// Hosts and networks.
	"host 192.0.2.1", "src host 192.0.2.1", "dst host 198.51.100.7", "ip host 192.0.2.1",
	"src or dst host 192.0.2.1", "src and dst host 192.0.2.1", "dst or src 192.0.2.1",
	"host 2001:db8::1", "ip6 src host 2001:db8::1", "dst host 2001:db8:20::1", "host ::1",
	"host ::ffff:192.0.2.1", "host 1:2:3:4:5:6:7:8",
	"net 192.0.2.0/24", "src net 198.51.100.0/24", "dst net 203.0.113.0 mask 255.255.255.0",
	"net 192.0.2", "net 10", "net 0.0.0.0/0", "host 10.1", "net 2001:db8::/32",
	"ip6 net 2001:db8:20::/48", "dst net 2001:db8:1::/64", "src net ::/0",
	"host 192.0.2.1 or 198.51.100.1", "host 192.0.2.1 and not 192.0.2.2",
	"host 192.0.2.1 or (198.51.100.1 and 203.0.113.1)", "src host 2001:db8::1 or 2001:db8::2",
	"host 16909060", "net 0x0a",
	// Ports.
	"port 53", "tcp port 443", "udp port 53", "sctp port 9", "src port 1024", "dst port 80",
	"tcp dst port 80", "udp src or dst port 53", "tcp src and dst port 7", "port 80 or 443",
	"tcp port 80 or 443 or 8080", "port domain", "tcp port http", "udp port domain",
	"port https", "portrange 1-1023", "tcp portrange 8000-8080", "udp dst portrange 33434-33534",
	"portrange 20-ftp", "portrange ftp-ssh", "portrange 5", "src portrange 10-5", "tcp port 0",
	"tcp port 65535", "port 1 and not port 2",
	// Lengths.
	"len > 100", "len <= 64", "len = 1280", "length >= 1500", "less 100", "greater 1000",
	"len - 20 > 80", "len != 84",
	// Packet data.
	"ip[9] = 6", "ip[0] & 0xf != 5", "ip[6:2] & 0x1fff != 0", "ip[2:2] > 576", "ip6[6] = 58",
	"ip6[0:4] & 0x0ff00000 != 0", "tcp[13] = 2", "tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn|tcp-ack", "tcp[tcpflags] & tcp-rst != 0",
	"tcp[12] >> 4 > 5", "tcp[0:2] = 443", "udp[0:2] = 53 or udp[2:2] = 53", "udp[4:2] > 100",
	"icmp[icmptype] = icmp-echo", "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"icmp[0] = 8", "icmp6[icmp6type] = icmp6-echo", "icmp6[0] = 129", "icmp6[icmp6code] = 0",
	"icmp6[icmp6type] = icmp6-neighborsolicit", "link[0] = 0x45", "ether[0] & 0xf0 = 0x60",
	"ip[ip[0] & 0xf] = 0", "tcp[(tcp[12] >> 4) * 4] = 0x47", "ip[2:2] - ((ip[0] & 0xf) << 2) > 100",
	"ip[1 + 1:2] > 100", "ip[8] < 64", "ip[8] <= 64", "ip[8] >= 64", "ip6[7] == 1",
	"udp[8:4] = 0x12345678", "sctp[0:2] = 9", "igmp[0] = 0x11", "pim[0] = 0x20",
	"ip[0] % 16 = 5", "ip[0] ^ 0x45 = 0", "ip[0] % 2 + 1 = 2", "2 * ip[0] = 0x8a", "ip[0] / 16 = 4",
	"-ip[0] = -69", "ip[0] - 1 - 1 = 67", "ip[0] | 1 = 0x45", "1 + 2 * 3 = len", "len % 7 = 3",
	"ip[100:2] = 3 or ip", "ip[100] = 1", "tcp[0:2] = tcp[2:2]", "tcp[0] + udp[0] = 0",
	"(ip[9] = 6)", "(1 + 2) = 3", "ip[0] = (0x45)", "ip[0:4] = 0x45000054", "len = ip[2:2]",
	"ip6[40] = 0x11", "ip6[6] = 0 and ip6[40] = 17",
	// Multicast and broadcast.
	"ip multicast", "ip6 multicast", "ip broadcast", "byte 9 = 6", "byte 0 < 0x50", "byte 0 > 0x40",
	// Combinations.
	"tcp port 443 or icmp6", "udp and not port 53", "ip6 and tcp and dst port 80",
	"(tcp or udp) and port 53", "not (tcp or udp)", "!tcp && !udp", "tcp || udp",
	"host 192.0.2.1 and (tcp port 80 or udp port 53)", "ip6 or ip and tcp",
	"tcp and (tcp[tcpflags] & tcp-fin != 0 or tcp[tcpflags] & tcp-rst != 0)",
	"icmp or icmp6 or (udp and len > 200)", "not host 2001:db8::1 and not host 192.0.2.1",
	"src net 2001:db8:1::/64 and dst net 2001:db8:20::/48 and udp",
	"ip and ip[6:2] & 0x3fff != 0", "ip6 and ip6[6] = 44", "ip6[6] = 43 and ip6[42] = 4",
	"ip6 proto 0 or ip6 proto 60 or ip6 proto 43", "tcp and not tcp port 22",
	"host 192.0.2.1 and host 198.51.100.1", "udp port 53 and len < 100", "ip and len > 100 and tcp",
	"not not ip", "tcp and tcp and tcp", "port 80 and port 80",
	"host 192.0.2.1 and ((198.51.100.1))", "host 192.0.2.1 and ((5))", "((tcp))",
	"host (192.0.2.1 or (198.51.100.1 and 203.0.113.1))", "tcp port (80 or 443)",
	"not host 192.0.2.1 or 198.51.100.1", "host 192.0.2.1 or not 198.51.100.1",
	"ip and (udp or tcp) and not (port 53 or port 123)", "src 192.0.2.1", "dst 2001:db8::1",
	"src 192.0.2.0/24", "dst net 10 or 192.0.2", "ip6 src net 2001:db8::/16 and ip6 dst net ::/0",
	"tcp[tcpflags] == tcp-syn", "ip[0] & 0xf0 == 0x40 && ip[9] == 17 || ip6[6] == 17",
	"len >= 0", "ip[0:1] = 0x45", "ip[0:4] & 0xff == 0", "(ip[0]) = 0x45", "-(ip[0]) = -0x45",
	"ip[0] - -1 = 0x46", "ip[0] << 1 >> 1 = 0x45", "ip[0] & 0xf0 | 5 = 0x45", "2 + 3 * 4 - 1 = 13",
	"20 / 4 % 3 = 2", "ip[0] % 16 * 4 = 20", "ip[0] ^ 5 - 1 = 0x41", "-1 * -1 = 1",
	// Errors.
	"host", "tcp port", "ip[", "#", "port 99999", "host 1.2.3.256", "foo", "1.2.3.4",
	"port foo", "0x1ffffffff = 1", "09 = 1", "net 10.0.0.1/8", "ip[0:3]=1", "proto foo",
	"tcp proto 6", "ip6 host 1.2.3.4", "ip host ::1", "src or 1.2.3.4", "ip[1/0]=0",
	"ip[0] >> 32 = 0", "host 1.2.3.4 or tcp port 80 or 5.6.7.8", "1:2:3", "icmp6 and ip",
	"tcp and udp", "arp", "vlan", "mpls", "llc", "radio[0]=1", "broadcast", "multicast",
	"ether host 1:2:3:4:5:6", "tcp port 80 and", "(tcp", "tcp)", "udp port 2-4", "port -1",
	"host 2001:db8::/32", "net 2001:db8::1/32", "net 192.0.2.0/33", "ip6 net 2001:db8::/129",
	"udp port ssh", "tcp port ntp", "ip6 broadcast", "icmp[0:4:2] = 1", "ah[0] = 1",
	"host 192.0.2.1 mask 255.255.255.0", "gateway foo", "ip proto 1.2.3.4",
	"dst port 1.2.3.4", "port 80 or host", "not", "()", "len", "ip[0] = 1 = 2",
	"ether proto \\arp", "ether proto \\iso", "ether proto \\stp", "ether proto \\loopback",
	"ether proto \\foo", "ether proto ip", "ether proto 0x806",
}

// tcpdumpDD returns tcpdump's program for expr, or its error message.
func tcpdumpDD(t *testing.T, expr string, optimize bool) ([]bpf.RawInstruction, string) {
	t.Helper()
	args := []string{"-dd", "-y", "RAW"}
	if !optimize {
		args = append(args, "-O")
	}
	cmd := exec.Command("tcpdump", append(args, "--", expr)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			t.Fatalf("tcpdump %q: %v", expr, err)
		}
		return nil, strings.TrimPrefix(msg, "tcpdump: ")
	}
	var prog []bpf.RawInstruction
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ins bpf.RawInstruction
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "{ 0x%x, %d, %d, 0x%x },", &ins.Op, &ins.Jt, &ins.Jf, &ins.K); err != nil {
			t.Fatalf("tcpdump %q: line %q: %v", expr, line, err)
		}
		prog = append(prog, ins)
	}
	return prog, ""
}

func requireTcpdump(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed: it is the reference these tests compare with (apt-get install tcpdump)")
	}
}

func dump(prog []bpf.RawInstruction) string {
	var b strings.Builder
	for i, ins := range prog {
		fmt.Fprintf(&b, "(%03d) %#04x jt %d jf %d k %#x\n", i, ins.Op, ins.Jt, ins.Jf, ins.K)
	}
	return b.String()
}

// The compiler produces libpcap's program for every case, optimized and
// not, or libpcap's error.
func TestCompileMatchesLibpcap(t *testing.T) {
	requireTcpdump(t)
	for _, optimize := range []bool{true, false} {
		for _, expr := range compileCases {
			t.Run(fmt.Sprintf("O=%v/%s", optimize, expr), func(t *testing.T) {
				want, wantErr := tcpdumpDD(t, expr, optimize)
				got, err := compile(expr, optimize, lookupHost)
				switch {
				case wantErr != "" && err == nil:
					t.Fatalf("compiled, tcpdump says %q:\n%s", wantErr, dump(got))
				case wantErr == "" && err != nil:
					t.Fatalf("error %q, tcpdump compiles:\n%s", err, dump(want))
				case wantErr != "":
					if err.Error() != wantErr {
						t.Fatalf("error %q, tcpdump's %q", err, wantErr)
					}
				case dump(got) != dump(want):
					t.Fatalf("program differs\n--- got\n%s--- tcpdump\n%s", dump(got), dump(want))
				}
			})
		}
	}
}

func noLookup(name string) ([]netip.Addr, error) { return nil, errors.New("no lookups while fuzzing") }

// Compile never panics, and what it compiles runs on any packet.
func FuzzCompile(f *testing.F) {
	for _, expr := range compileCases {
		f.Add(expr)
	}
	pkts := [][]byte{nil, {0x45}, make([]byte, 60), append([]byte{0x60}, make([]byte, 80)...)}
	f.Fuzz(func(t *testing.T, expr string) {
		prog, err := compile(expr, true, noLookup)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		for _, p := range pkts {
			Run(prog, p, len(p))
		}
	})
}

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/cmd/internal/pcapread"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// GSO and GRO super-packets longer than 65,535 bytes (BIG TCP for IPv4,
// whose total length field is 0 then) are captured whole through the ring
// buffer, up to the snaplen as tcpdump captures them, and cut at 65,279
// bytes through the perf buffer, whose interfaces say that snaplen; lwtdump
// -r prints them as tcpdump -r does.
func TestSuperPackets(t *testing.T) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 is not installed (make deps installs it)")
	}
	tb := newTestbed(t)
	// BIG TCP for IPv4 (Linux 6.3 and later) on every link, as a router
	// with big-TCP NICs has it. Under bbr TCP sends at most 64 KiB at a
	// time: iperf3 uses cubic.
	const size = 185000
	for _, l := range [][2]string{{tb.h1, "h1_r1"}, {tb.r1, "r1_h1"}, {tb.r1, "r1_h2"}, {tb.h2, "h2_r1"}} {
		if err := setBigTCP(l[0], l[1], size); err != nil {
			t.Skipf("BIG TCP for IPv4 on %s: %v (Linux 6.3 and later have it)", l[1], err)
		}
	}
	for _, tc := range []struct {
		transport string
		snaplen   int
		want      uint32 // bytes captured of a packet longer than it
	}{
		{"ringbuf", bpf.MaxSnaplen, bpf.MaxSnaplen},
		{"ringbuf", 100000, 100000},
		{"perf", bpf.MaxSnaplen, bpf.PerfMaxCaplen},
	} {
		t.Run(tc.transport+" -s "+strconv.Itoa(tc.snaplen), func(t *testing.T) {
			tb := tb.in(t)
			before := tb.routes(tb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			p := startLwtdump(t, tb.launch(), "-i", "203.0.113.0/24", "--netns", tb.r1, "-w", out, "--transport", tc.transport, "-s", strconv.Itoa(tc.snaplen))
			iperf3(t, tb, "203.0.113.1")
			if code := p.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)

			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcapread.NewReader(f, out)
			if err != nil {
				t.Fatal(err)
			}
			var super, largest uint32
			for {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Kind == pcapread.KindInterface && rec.Interface.SnapLen != min(uint32(tc.snaplen), tc.want) {
					t.Errorf("interface snaplen %d, want %d", rec.Interface.SnapLen, min(uint32(tc.snaplen), tc.want))
				}
				if rec.Kind != pcapread.KindPacket {
					continue
				}
				if rec.Interface.ID != 0 || len(rec.Data) == 0 || rec.Data[0] != 0x45 {
					t.Fatalf("a packet of %d bytes on interface %d starts with %x, not an IPv4 header", rec.OrigLen, rec.Interface.ID, rec.Data[:min(len(rec.Data), 4)])
				}
				largest = max(largest, rec.OrigLen)
				if want := min(rec.OrigLen, tc.want, uint32(tc.snaplen)); uint32(len(rec.Data)) != want {
					t.Errorf("a packet of %d bytes: %d captured, want %d", rec.OrigLen, len(rec.Data), want)
				}
				if rec.OrigLen > 65535 {
					super++
				}
			}
			t.Logf("%s, -s %d: %d packets longer than 65535 bytes, the largest %d bytes", tc.transport, tc.snaplen, super, largest)
			if super == 0 {
				t.Fatalf("no packet longer than 65535 bytes (the largest: %d): BIG TCP did not happen", largest)
			}
			if tc.transport != "ringbuf" || tc.snaplen != bpf.MaxSnaplen {
				return
			}
			// lwtdump -r prints the super-packets as tcpdump -r does.
			want, err := exec.Command("tcpdump", "-S", "-n", "-r", out, "greater", "65536").Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			code, got, stderr := runLwtdump(t, utcIn(""), "-r", out, "greater 65536")
			hook := regexp.MustCompile(`(?m)^(\S+) lwt_xmit `)
			if code != 0 || hook.ReplaceAllString(got, "$1 ") != string(want) {
				t.Errorf("lwtdump -r: exit %d\n%s%s\ntcpdump -r:\n%s", code, got, stderr, want)
			}
		})
	}
}

// setBigTCP sets the largest IPv4 GSO and GRO packet of a device in a
// network namespace.
func setBigTCP(ns, dev string, size int) error {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return err
	}
	defer nl.Close()
	l, err := nl.LinkByName(dev)
	if err != nil {
		return err
	}
	if err := nl.LinkSetGSOIPv4MaxSize(l, size); err != nil {
		return err
	}
	return nl.LinkSetGROIPv4MaxSize(l, size)
}

// iperf3 sends TCP from h1 to dst on h2 for a second.
func iperf3(t *testing.T, tb *testbed, dst string) {
	t.Helper()
	server := exec.Command("ip", "netns", "exec", tb.h2, "iperf3", "-s", "-1", "--forceflush", "-B", dst)
	stdout, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		server.Process.Signal(syscall.SIGTERM)
		server.Wait()
	}()
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server listening") {
				listening <- true
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("iperf3 server not listening after 10 s")
	}
	if out, err := exec.Command("ip", "netns", "exec", tb.h1, "iperf3", "-c", dst, "-t", "1", "-C", "cubic").CombinedOutput(); err != nil {
		t.Fatalf("iperf3 -c %s: %v\n%s", dst, err, out)
	}
}

// Package filtertest gives tests the filter oracle's data, kept in package
// filter's testdata: the capture mixed.pcap, the table of expressions
// expressions.txt, and what tcpdump selects in the capture. Package filter
// checks its compiler against it, package bpf the same programs in the
// kernel.
package filtertest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// Epoch is the time stamp of the capture's first packet; packet i is at
// Epoch + i seconds, which is how a packet tcpdump selects is told.
var Epoch = time.Unix(1700000000, 0)

// Pcap is the path of mixed.pcap.
var Pcap = testdata("mixed.pcap")

// testdata is the path of name in package filter's testdata.
func testdata(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// Packet is a packet of the capture.
type Packet struct {
	Data    []byte // as captured
	OrigLen int    // its length on the wire; more than len(Data) when cut short
}

// Whole reports whether the packet was captured whole.
func (p Packet) Whole() bool { return p.OrigLen == len(p.Data) }

// Packets reads the packets of mixed.pcap.
func Packets(t testing.TB) []Packet {
	t.Helper()
	f, err := os.Open(Pcap)
	if err != nil {
		t.Fatalf("%v (go test ./bpf/filter -run TestMixedPcap -update writes it)", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ps []Packet
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return ps
		}
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, Packet{append([]byte(nil), data...), ci.Length})
	}
}

// Expressions reads the oracle's table of filter expressions.
func Expressions(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(testdata("expressions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var exprs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			exprs = append(exprs, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return exprs
}

// TcpdumpSelect returns, for each of the n packets of a capture stamped
// from Epoch one second apart (such as Pcap), whether
// `tcpdump -r FILE -w - EXPR` selects it.
func TcpdumpSelect(t testing.TB, file, expr string, n int) []bool {
	t.Helper()
	cmd := exec.Command("tcpdump", "-r", file, "-w", "-", "--", expr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tcpdump -r %s %q: %v: %s", file, expr, err, stderr.String())
	}
	r, err := pcapgo.NewReader(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("read tcpdump's output: %v", err)
	}
	sel := make([]bool, n)
	for {
		_, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return sel
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(ci.Timestamp.Sub(Epoch).Seconds())
		if i < 0 || i >= n {
			t.Fatalf("tcpdump selected a packet at %v, not one of the capture's", ci.Timestamp)
		}
		sel[i] = true
	}
}

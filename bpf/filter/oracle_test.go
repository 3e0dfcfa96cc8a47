package filter

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// readExpressions reads the oracle's table, testdata/expressions.txt.
func readExpressions(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/expressions.txt")
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
	return exprs
}

// tcpdumpSelect returns, for each of the n packets of a capture written
// by writePcap, whether `tcpdump -r FILE -w - EXPR` selects it.
func tcpdumpSelect(t *testing.T, file, expr string, n int) []bool {
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
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(ci.Timestamp.Sub(mixedEpoch).Seconds())
		if i < 0 || i >= n {
			t.Fatalf("tcpdump selected a packet at %v, not one of mixed.pcap's", ci.Timestamp)
		}
		sel[i] = true
	}
	return sel
}

// The oracle: for every expression of the table, the compiled program
// selects exactly the packets of mixed.pcap that tcpdump selects, in this
// package's interpreter and in golang.org/x/net/bpf's VM.
func TestOracle(t *testing.T) {
	requireTcpdump(t)
	pkts := readMixed(t)
	names := mixedPackets(t)
	exprs := readExpressions(t)
	if len(exprs) < 30 {
		t.Fatalf("%d expressions in the table, want at least 30", len(exprs))
	}
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			want := tcpdumpSelect(t, mixedPcap, expr, len(pkts))
			selected := 0
			for _, w := range want {
				if w {
					selected++
				}
			}
			if selected == 0 || selected == len(pkts) {
				t.Fatalf("tcpdump selects %d of %d packets: pick an expression that tells packets apart", selected, len(pkts))
			}
			m, err := NewMatcher(expr)
			if err != nil {
				t.Fatal(err)
			}
			insns, ok := bpf.Disassemble(m.Program())
			if !ok {
				t.Fatalf("x/net/bpf cannot decode the program:\n%s", dump(m.Program()))
			}
			vm, err := bpf.NewVM(insns)
			if err != nil {
				t.Fatalf("x/net/bpf refuses the program: %v", err)
			}
			for i, p := range pkts {
				orig := len(p.data)
				if p.origLen != 0 {
					orig = p.origLen
				}
				if got := m.MatchCaptured(p.data, orig); got != want[i] {
					t.Errorf("packet %d (%s): match %v, tcpdump %v", i, names[i].name, got, want[i])
				}
				if p.origLen != 0 {
					continue // the VM knows no original length
				}
				if n, err := vm.Run(p.data); err != nil || (n != 0) != want[i] {
					t.Errorf("packet %d (%s): x/net/bpf VM returns %d, %v; tcpdump %v", i, names[i].name, n, err, want[i])
				}
			}
		})
	}
}

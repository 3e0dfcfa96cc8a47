package filter

import (
	"testing"

	"github.com/lwtdump/lwtdump/bpf/filter/filtertest"
	"golang.org/x/net/bpf"
)

// The oracle: for every expression of the table, the compiled program
// selects exactly the packets of mixed.pcap that tcpdump selects, in this
// package's interpreter and in golang.org/x/net/bpf's VM.
func TestOracle(t *testing.T) {
	requireTcpdump(t)
	pkts := filtertest.Packets(t)
	names := mixedPackets(t)
	exprs := filtertest.Expressions(t)
	if len(exprs) < 30 {
		t.Fatalf("%d expressions in the table, want at least 30", len(exprs))
	}
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			want := filtertest.TcpdumpSelect(t, mixedPcap, expr, len(pkts))
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
				if got := m.MatchCaptured(p.Data, p.OrigLen); got != want[i] {
					t.Errorf("packet %d (%s): match %v, tcpdump %v", i, names[i].name, got, want[i])
				}
				if !p.Whole() {
					continue // the VM knows no original length
				}
				if n, err := vm.Run(p.Data); err != nil || (n != 0) != want[i] {
					t.Errorf("packet %d (%s): x/net/bpf VM returns %d, %v; tcpdump %v", i, names[i].name, n, err, want[i])
				}
			}
		})
	}
}

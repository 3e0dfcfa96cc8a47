package filter

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/lwtdump/lwtdump/bpf/filter/filtertest"
	"golang.org/x/net/bpf"
)

// Programs the translation refuses, each with the error it gives.
func TestToEBPFRefuses(t *testing.T) {
	ret := bpf.RawInstruction{Op: bpfRET | bpfK, K: 1}
	for _, tc := range []struct {
		name string
		prog []bpf.RawInstruction
		want string
	}{
		{"empty", nil, "translate filter: empty program"},
		{"jump out", []bpf.RawInstruction{{Op: bpfJMP | bpfJA, K: 1}, ret}, "translate filter: instruction 0 jumps out of the program"},
		{"branch out", []bpf.RawInstruction{{Op: bpfJMP | bpfJEQ | bpfK, Jf: 1}, ret}, "translate filter: instruction 0 jumps out of the program"},
		{"load of X from the packet", []bpf.RawInstruction{{Op: bpfLDX | bpfW | bpfABS}, ret}, "translate filter: unsupported load 0x21"},
		{"load of a bad size", []bpf.RawInstruction{{Op: bpfLD | 0x18 | bpfABS}, ret}, "translate filter: bad load 0x38"},
		{"load of a scratch cell out of range", []bpf.RawInstruction{{Op: bpfLD | bpfMEM, K: memWords}, ret}, "translate filter: unsupported load 0x60"},
		{"store out of range", []bpf.RawInstruction{{Op: bpfST, K: memWords}, ret}, "translate filter: scratch cell 16"},
		{"store of X out of range", []bpf.RawInstruction{{Op: bpfSTX, K: 99}, ret}, "translate filter: scratch cell 99"},
		{"unknown ALU operation", []bpf.RawInstruction{{Op: bpfALU | 0xb0}, ret}, "translate filter: unsupported ALU operation 0xb4"},
		{"unknown jump", []bpf.RawInstruction{{Op: bpfJMP | 0x50}, ret}, "translate filter: unsupported jump 0x55"},
		{"return of X", []bpf.RawInstruction{{Op: bpfRET | 0x08}}, "translate filter: unsupported return 0xe"},
		{"unknown instruction", []bpf.RawInstruction{{Op: bpfMISC | 0x08}, ret}, "translate filter: unsupported instruction 0xf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ToEBPF(tc.prog, EBPFOptions{})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Every expression of the oracle's table compiles to a program the
// translation takes; the two ways of loading packet bytes differ only in
// the loads.
func TestToEBPFTable(t *testing.T) {
	for _, expr := range filtertest.Expressions(t) {
		prog, err := Compile(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		direct, err := ToEBPF(prog, EBPFOptions{})
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		helper, err := ToEBPF(prog, EBPFOptions{HelperLoads: true})
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if calls(helper) != loads(prog) || calls(direct) != loads(prog) {
			t.Errorf("%q: %d packet loads, %d helper calls with direct reads, %d without", expr, loads(prog), calls(direct), calls(helper))
		}
	}
}

// loads counts the packet loads of a classic program.
func loads(prog []bpf.RawInstruction) int {
	n := 0
	for _, ins := range prog {
		switch mode := bpfMode(int(ins.Op)); {
		case bpfClass(int(ins.Op)) == bpfLD && (mode == bpfABS || mode == bpfIND),
			bpfClass(int(ins.Op)) == bpfLDX && mode == bpfMSH:
			n++
		}
	}
	return n
}

// calls counts the calls of bpf_skb_load_bytes.
func calls(insns asm.Instructions) int {
	n := 0
	for _, ins := range insns {
		if ins.IsBuiltinCall() && ins.Constant == int64(asm.FnSkbLoadBytes) {
			n++
		}
	}
	return n
}

// The translation in the kernel: for every expression of the table, the
// translated program, loaded on its own as an lwt_xmit program and run on
// each whole packet of the capture, returns exactly what the classic
// program returns in Run, with direct reads and with the helper alone.
// (Package bpf runs the same translation inside the capture program.)
func TestToEBPFInKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel test: needs root to load eBPF programs (run `sudo make test`)")
	}
	var pkts []filtertest.Packet
	for _, p := range filtertest.Packets(t) {
		if p.Whole() { // the kernel sees whole packets only
			pkts = append(pkts, p)
		}
	}
	for _, expr := range filtertest.Expressions(t) {
		t.Run(expr, func(t *testing.T) {
			prog, err := Compile(expr)
			if err != nil {
				t.Fatal(err)
			}
			for _, helper := range []bool{false, true} {
				insns, err := ToEBPF(prog, EBPFOptions{HelperLoads: helper})
				if err != nil {
					t.Fatal(err)
				}
				p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.LWTXmit, Instructions: insns, License: "GPL"})
				if err != nil {
					t.Fatalf("helper loads %v: load: %v", helper, err)
				}
				defer p.Close()
				for i, pkt := range pkts {
					got, err := p.Run(&ebpf.RunOptions{Data: ethernet(pkt.Data)})
					if err != nil {
						t.Fatalf("packet %d: test run: %v", i, err)
					}
					if want := Run(prog, pkt.Data, len(pkt.Data)); got != want {
						t.Errorf("helper loads %v, packet %d: kernel returns %d, Run %d", helper, i, got, want)
					}
				}
			}
		})
	}
}

// ethernet puts an Ethernet header in front of a raw IP packet:
// BPF_PROG_TEST_RUN takes one and removes it for LWT programs, whose skb
// starts at the network header.
func ethernet(pkt []byte) []byte {
	eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		eth[12], eth[13] = 0x86, 0xdd
	}
	return append(eth, pkt...)
}

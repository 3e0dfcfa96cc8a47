package filter

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/lwtdump/lwtdump/bpf/filter/filtertest"
	"golang.org/x/net/bpf"
)

// Dump prints every program of the compile cases and of the oracle's table
// as tcpdump -d, -dd and -ddd -y RAW print it, byte for byte, optimized and
// not (-O), and with the snaplen of -s in its return instructions.
func TestDumpMatchesTcpdump(t *testing.T) {
	requireTcpdump(t)
	exprs := append(append([]string{}, compileCases...), filtertest.Expressions(t)...)
	slices.Sort(exprs)
	for _, expr := range slices.Compact(exprs) {
		for _, tc := range []struct {
			format   DumpFormat
			optimize bool
			snaplen  uint32 // 0: tcpdump's default
		}{
			{DumpReadable, true, 0},
			{DumpReadable, false, 0},
			{DumpC, true, 0},
			{DumpDecimal, true, 0},
			{DumpReadable, true, 100},
			{DumpDecimal + 1, false, 0}, // -dddd is -ddd
		} {
			name := fmt.Sprintf("%s/O=%v/s=%d/%s", strings.Repeat("d", int(tc.format)), tc.optimize, tc.snaplen, expr)
			t.Run(name, func(t *testing.T) {
				prog, err := compile(expr, tc.optimize, lookupHost)
				if err != nil {
					t.Skipf("not compiled: %v (TestCompileMatchesLibpcap compares the errors)", err)
				}
				args := []string{"-" + strings.Repeat("d", int(tc.format)), "-y", "RAW"}
				if !tc.optimize {
					args = append(args, "-O")
				}
				if tc.snaplen != 0 {
					args = append(args, "-s", fmt.Sprint(tc.snaplen))
					prog = WithSnaplen(prog, tc.snaplen)
				}
				want, err := exec.Command("tcpdump", append(args, "--", expr)...).Output()
				if err != nil {
					t.Fatalf("tcpdump %s %q: %v", strings.Join(args, " "), expr, err)
				}
				var got bytes.Buffer
				if err := Dump(&got, prog, tc.format); err != nil {
					t.Fatal(err)
				}
				if got.String() != string(want) {
					t.Fatalf("differs from tcpdump %s\n--- got\n%s--- tcpdump\n%s", strings.Join(args, " "), got.String(), want)
				}
			})
		}
	}
}

// Image names every classic instruction as libpcap's bpf_image does,
// those the compiler never emits for raw IP included.
func TestImage(t *testing.T) {
	for _, tc := range []struct {
		op     int
		jt, jf uint8
		k      uint32
		n      int
		want   string
	}{
		{bpfRET | bpfA, 0, 0, 0, 7, "(007) ret      "},
		{bpfLD | bpfW | bpfABS, 0, 0, 4, 0, "(000) ld       [4]"},
		{bpfLDX | bpfW | bpfLEN, 0, 0, 0, 1, "(001) ldx      #pktlen"},
		{bpfLD | bpfW | bpfIND, 0, 0, 2, 1, "(001) ld       [x + 2]"},
		{bpfLD | bpfIMM, 0, 0, 0x2a, 1, "(001) ld       #0x2a"},
		{bpfLDX | bpfIMM, 0, 0, 0x2a, 1, "(001) ldx      #0x2a"},
		{bpfSTX, 0, 0, 3, 12, "(012) stx      M[3]"},
		{bpfJMP | bpfJA, 0, 0, 5, 10, "(010) ja       16"},
		{bpfJMP | bpfJGE | bpfX, 1, 2, 0, 3, "(003) jge      x                jt 5\tjf 6"},
		{bpfJMP | bpfJSET | bpfK, 0, 1, 0x1fff, 3, "(003) jset     #0x1fff          jt 4\tjf 5"},
		{bpfALU | bpfSUB | bpfK, 0, 0, 0xffffffff, 2, "(002) sub      #-1"},
		{bpfALU | bpfXOR | bpfK, 0, 0, 0xff, 2, "(002) xor      #0xff"},
		{bpfALU | bpfMOD | bpfX, 0, 0, 0, 2, "(002) mod      x"},
		{bpfALU | bpfNEG, 0, 0, 0, 2, "(002) neg      "},
		{bpfMISC | bpfTXA, 0, 0, 0, 2, "(002) txa      "},
		{0xff, 0, 0, 0, 2, "(002) unimp    0xff"},
	} {
		if got := Image(bpf.RawInstruction{Op: uint16(tc.op), Jt: tc.jt, Jf: tc.jf, K: tc.k}, tc.n); got != tc.want {
			t.Errorf("%#x: %q, want %q", tc.op, got, tc.want)
		}
	}
}

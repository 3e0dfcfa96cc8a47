package filter

import (
	"bufio"
	"fmt"
	"io"

	"golang.org/x/net/bpf"
)

// DumpFormat is one of the ways tcpdump prints a compiled program.
type DumpFormat int

// The formats of tcpdump's -d, -dd and -ddd (libpcap's bpf_dump).
const (
	DumpReadable DumpFormat = 1 // -d: one instruction per line, as people read it
	DumpC        DumpFormat = 2 // -dd: a C array of struct bpf_insn
	DumpDecimal  DumpFormat = 3 // -ddd: the length, then each instruction as four decimal numbers
)

// Dump writes prog as tcpdump -d (DumpReadable), -dd (DumpC) or -ddd
// (DumpDecimal) prints it; a format beyond DumpDecimal is DumpDecimal, as
// tcpdump's -dddd is -ddd.
func Dump(w io.Writer, prog []bpf.RawInstruction, format DumpFormat) error {
	b := bufio.NewWriter(w)
	switch {
	case format >= DumpDecimal:
		fmt.Fprintf(b, "%d\n", len(prog))
		for _, ins := range prog {
			fmt.Fprintf(b, "%d %d %d %d\n", ins.Op, ins.Jt, ins.Jf, ins.K)
		}
	case format == DumpC:
		for _, ins := range prog {
			fmt.Fprintf(b, "{ 0x%x, %d, %d, 0x%08x },\n", ins.Op, ins.Jt, ins.Jf, ins.K)
		}
	default:
		for i, ins := range prog {
			b.WriteString(Image(ins, i))
			b.WriteByte('\n')
		}
	}
	return b.Flush()
}

// Image is instruction n of a program as tcpdump -d prints it (libpcap's
// bpf_image), such as "(002) jeq      #0x60            jt 3	jf 13":
// jump targets are instruction numbers, and the operand of an instruction
// that has none is empty (the line then ends with spaces).
func Image(ins bpf.RawInstruction, n int) string {
	code := int(ins.Op)
	k := ins.K
	signed := fmt.Sprint(int32(k)) // libpcap's "%d" of a bpf_u_int32
	hex := fmt.Sprintf("#0x%x", k)
	var op, operand string
	switch code {
	case bpfRET | bpfK:
		op, operand = "ret", "#"+signed
	case bpfRET | bpfA:
		op = "ret"
	case bpfLD | bpfW | bpfABS:
		op, operand = "ld", "["+signed+"]"
	case bpfLD | bpfH | bpfABS:
		op, operand = "ldh", "["+signed+"]"
	case bpfLD | bpfB | bpfABS:
		op, operand = "ldb", "["+signed+"]"
	case bpfLD | bpfW | bpfLEN:
		op, operand = "ld", "#pktlen"
	case bpfLDX | bpfW | bpfLEN:
		op, operand = "ldx", "#pktlen"
	case bpfLD | bpfW | bpfIND:
		op, operand = "ld", "[x + "+signed+"]"
	case bpfLD | bpfH | bpfIND:
		op, operand = "ldh", "[x + "+signed+"]"
	case bpfLD | bpfB | bpfIND:
		op, operand = "ldb", "[x + "+signed+"]"
	case bpfLD | bpfIMM:
		op, operand = "ld", hex
	case bpfLDX | bpfIMM:
		op, operand = "ldx", hex
	case bpfLDX | bpfMSH | bpfB:
		op, operand = "ldxb", "4*(["+signed+"]&0xf)"
	case bpfLD | bpfMEM:
		op, operand = "ld", "M["+signed+"]"
	case bpfLDX | bpfMEM:
		op, operand = "ldx", "M["+signed+"]"
	case bpfST:
		op, operand = "st", "M["+signed+"]"
	case bpfSTX:
		op, operand = "stx", "M["+signed+"]"
	case bpfJMP | bpfJA:
		op, operand = "ja", fmt.Sprint(int32(uint32(n)+1+k))
	case bpfJMP | bpfJGT | bpfK, bpfJMP | bpfJGE | bpfK, bpfJMP | bpfJEQ | bpfK, bpfJMP | bpfJSET | bpfK:
		op, operand = jumpNames[bpfOp(code)], hex
	case bpfJMP | bpfJGT | bpfX, bpfJMP | bpfJGE | bpfX, bpfJMP | bpfJEQ | bpfX, bpfJMP | bpfJSET | bpfX:
		op, operand = jumpNames[bpfOp(code)], "x"
	case bpfALU | bpfNEG:
		op = "neg"
	case bpfMISC | bpfTAX:
		op = "tax"
	case bpfMISC | bpfTXA:
		op = "txa"
	default:
		name, isALU := aluNames[bpfOp(code)]
		switch {
		case bpfClass(code) == bpfALU && isALU && bpfSrc(code) == bpfX:
			op, operand = name, "x"
		case bpfClass(code) == bpfALU && isALU && (bpfOp(code) == bpfAND || bpfOp(code) == bpfOR || bpfOp(code) == bpfXOR):
			op, operand = name, hex
		case bpfClass(code) == bpfALU && isALU:
			op, operand = name, "#"+signed
		default:
			op, operand = "unimp", fmt.Sprintf("0x%x", code)
		}
	}
	if bpfClass(code) == bpfJMP && bpfOp(code) != bpfJA {
		return fmt.Sprintf("(%03d) %-8s %-16s jt %d\tjf %d", n, op, operand, n+1+int(ins.Jt), n+1+int(ins.Jf))
	}
	return fmt.Sprintf("(%03d) %-8s %s", n, op, operand)
}

var jumpNames = map[int]string{bpfJGT: "jgt", bpfJGE: "jge", bpfJEQ: "jeq", bpfJSET: "jset"}

var aluNames = map[int]string{
	bpfADD: "add", bpfSUB: "sub", bpfMUL: "mul", bpfDIV: "div", bpfMOD: "mod",
	bpfAND: "and", bpfOR: "or", bpfXOR: "xor", bpfLSH: "lsh", bpfRSH: "rsh",
}

// WithSnaplen returns a copy of prog whose matches return snaplen, as
// libpcap compiles a program for a capture of that snaplen (tcpdump -s);
// Compile's programs return 262144, tcpdump's default. Only the value
// differs: lwtdump applies its snaplen apart from the filter.
func WithSnaplen(prog []bpf.RawInstruction, snaplen uint32) []bpf.RawInstruction {
	out := make([]bpf.RawInstruction, len(prog))
	for i, ins := range prog {
		if int(ins.Op) == bpfRET|bpfK && ins.K == snaplenResult {
			ins.K = snaplen
		}
		out[i] = ins
	}
	return out
}

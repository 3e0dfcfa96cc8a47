package filter

import "golang.org/x/net/bpf"

// Classic BPF opcodes (linux/filter.h, pcap/bpf.h), for the code
// generator, the optimizer, the interpreter and the translation to eBPF.
// golang.org/x/net/bpf exports the ALU operations; the other parts of an
// opcode it keeps to itself.
const (
	bpfLD   = 0x00
	bpfLDX  = 0x01
	bpfST   = 0x02
	bpfSTX  = 0x03
	bpfALU  = 0x04
	bpfJMP  = 0x05
	bpfRET  = 0x06
	bpfMISC = 0x07

	bpfW = 0x00
	bpfH = 0x08
	bpfB = 0x10

	bpfIMM = 0x00
	bpfABS = 0x20
	bpfIND = 0x40
	bpfMEM = 0x60
	bpfLEN = 0x80
	bpfMSH = 0xa0

	bpfADD = int(bpf.ALUOpAdd)
	bpfSUB = int(bpf.ALUOpSub)
	bpfMUL = int(bpf.ALUOpMul)
	bpfDIV = int(bpf.ALUOpDiv)
	bpfOR  = int(bpf.ALUOpOr)
	bpfAND = int(bpf.ALUOpAnd)
	bpfLSH = int(bpf.ALUOpShiftLeft)
	bpfRSH = int(bpf.ALUOpShiftRight)
	bpfNEG = 0x80 // not exported by x/net/bpf, whose NegateA is its own instruction
	bpfMOD = int(bpf.ALUOpMod)
	bpfXOR = int(bpf.ALUOpXor)

	bpfJA   = 0x00
	bpfJEQ  = 0x10
	bpfJGT  = 0x20
	bpfJGE  = 0x30
	bpfJSET = 0x40

	bpfK = 0x00
	bpfX = 0x08
	bpfA = 0x10 // BPF_RET's source: the accumulator

	bpfTAX = 0x00
	bpfTXA = 0x80

	memWords = 16 // BPF_MEMWORDS: scratch memory cells
)

func bpfClass(code int) int  { return code & 0x07 }
func bpfSize(code int) int   { return code & 0x18 }
func bpfMode(code int) int   { return code & 0xe0 }
func bpfOp(code int) int     { return code & 0xf0 }
func bpfSrc(code int) int    { return code & 0x08 }
func bpfRval(code int) int   { return code & 0x18 }
func bpfMiscOp(code int) int { return code & 0xf8 }
func jmpK(op int) int        { return bpfJMP | op | bpfK }

package filter

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/net/bpf"
)

// The kernel runs a filter expression as eBPF: ToEBPF translates the
// classic program that Compile produces into the body of a function that
// package bpf splices into the capture program.
//
// The translation maps classic A to R7 and X to R8 (32-bit operations
// throughout, as classic BPF is 32-bit), keeps the skb in R6 and the 16
// scratch cells on the stack. A packet load reads the packet directly when
// the bytes lie in the skb's linear part (skb->data .. skb->data_end, a
// bounds check the verifier accepts), and otherwise calls
// bpf_skb_load_bytes, which also reads non-linear skbs; a load beyond the
// packet ends the filter with "no match", as in classic BPF. (Direct reads
// matter: a program that rejects an IPv6 datagram after 4 to 9 loads ran in
// 37-39 ns with them and 66-111 ns with the helper alone; see package bpf's
// BenchmarkCaptureFilter.) Helpers clobber R1-R5 only, so A and X survive
// them. Division by a zero X, which classic BPF treats as "no match", is
// tested before dividing, and shifts by 32 or more give 0 as in libpcap's
// interpreter.

const (
	// labelPrefix starts every label of the translated body; no symbol
	// of the program it goes into may start with it.
	labelPrefix = "lwtdump_filter"

	regSkb = asm.R6
	regA   = asm.R7
	regX   = asm.R8

	memOff = -64 // scratch cell M[i] is at R10 + memOff + 4*i
	bufOff = -72 // bpf_skb_load_bytes writes here

	skbLen     = 0  // offsetof(struct __sk_buff, len)
	skbData    = 76 // offsetof(struct __sk_buff, data)
	skbDataEnd = 80 // offsetof(struct __sk_buff, data_end)

	// maxDirect bounds the offsets read directly; the verifier refuses
	// packet offsets of 64 KiB or more, and the bytes beyond the linear
	// part go through bpf_skb_load_bytes anyway.
	maxDirect = 0x7fff
)

// EBPFOptions tune ToEBPF.
type EBPFOptions struct {
	// HelperLoads makes every packet load call bpf_skb_load_bytes, even
	// for bytes in the skb's linear part, which are otherwise read
	// directly. Tests use it to run that path on linear skbs.
	HelperLoads bool
}

// ToEBPF translates a classic BPF program, such as Compile returns, to the
// body of an eBPF function that takes a struct __sk_buff in R1 and returns
// in R0 the classic program's result: 0 for no match. The body uses 72
// bytes of stack below R10.
func ToEBPF(prog []bpf.RawInstruction, opts EBPFOptions) (asm.Instructions, error) {
	if len(prog) == 0 {
		return nil, errors.New("translate filter: empty program")
	}
	b := &ebpfBuilder{alias: map[string]string{}, direct: !opts.HelperLoads}
	b.emit(
		asm.Mov.Reg(regSkb, asm.R1),
		asm.Mov.Imm32(regA, 0),
		asm.Mov.Imm32(regX, 0),
	)
	// Classic scratch memory starts out as zeros.
	read := map[uint32]bool{}
	for _, ins := range prog {
		if op := int(ins.Op); op == bpfLD|bpfMEM || op == bpfLDX|bpfMEM {
			read[ins.K] = true
		}
	}
	for k := range uint32(memWords) {
		if read[k] {
			b.emit(asm.StoreImm(asm.R10, memOff+4*int16(k), 0, asm.Word))
		}
	}
	targets := map[int]bool{}
	for i, ins := range prog {
		switch op := int(ins.Op); {
		case op == bpfJMP|bpfJA:
			targets[i+1+int(ins.K)] = true
		case bpfClass(op) == bpfJMP:
			targets[i+1+int(ins.Jt)] = true
			targets[i+1+int(ins.Jf)] = true
		}
	}
	for i, ins := range prog {
		if targets[i] {
			b.label(insLabel(i))
		}
		if err := b.classic(i, ins, len(prog)); err != nil {
			return nil, err
		}
	}
	// The verifier refuses unreachable code: add the "no match" exit only
	// when something jumps there.
	for _, ins := range b.insns {
		if ins.Reference() == noMatch {
			b.label(noMatch)
			b.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
			break
		}
	}
	for i := range b.insns {
		if ref := b.insns[i].Reference(); ref != "" {
			if to, ok := b.alias[ref]; ok {
				b.insns[i] = b.insns[i].WithReference(to)
			}
		}
	}
	return b.insns, nil
}

// ebpfBuilder emits instructions and labels. A label names the next
// instruction emitted; several labels of one instruction become aliases.
type ebpfBuilder struct {
	insns   asm.Instructions
	pending []string
	alias   map[string]string
	direct  bool // read the linear part of the packet directly
}

func (b *ebpfBuilder) label(name string) { b.pending = append(b.pending, name) }

func (b *ebpfBuilder) emit(ins ...asm.Instruction) {
	for _, in := range ins {
		if len(b.pending) > 0 {
			in = in.WithSymbol(b.pending[0])
			for _, other := range b.pending[1:] {
				b.alias[other] = b.pending[0]
			}
			b.pending = b.pending[:0]
		}
		b.insns = append(b.insns, in)
	}
}

func insLabel(i int) string { return fmt.Sprintf("%s_%d", labelPrefix, i) }

const noMatch = labelPrefix + "_nomatch"

var classicALU = map[int]asm.ALUOp{
	bpfADD: asm.Add, bpfSUB: asm.Sub, bpfMUL: asm.Mul, bpfDIV: asm.Div, bpfOR: asm.Or,
	bpfAND: asm.And, bpfLSH: asm.LSh, bpfRSH: asm.RSh, bpfMOD: asm.Mod, bpfXOR: asm.Xor,
}

var classicJump = map[int]asm.JumpOp{
	bpfJEQ: asm.JEq, bpfJGT: asm.JGT, bpfJGE: asm.JGE, bpfJSET: asm.JSet,
}

var invertedJump = map[asm.JumpOp]asm.JumpOp{asm.JEq: asm.JNE, asm.JGT: asm.JLE, asm.JGE: asm.JLT}

// classic emits the translation of instruction i of a program of n.
func (b *ebpfBuilder) classic(i int, ins bpf.RawInstruction, n int) error {
	op, k := int(ins.Op), ins.K
	target := func(skip int) (string, error) {
		t := i + 1 + skip
		if t >= n {
			return "", fmt.Errorf("translate filter: instruction %d jumps out of the program", i)
		}
		return insLabel(t), nil
	}
	switch bpfClass(op) {
	case bpfLD, bpfLDX:
		dst := regA
		if bpfClass(op) == bpfLDX {
			dst = regX
		}
		switch mode := bpfMode(op); {
		case mode == bpfIMM && bpfSize(op) == bpfW:
			b.emit(asm.Mov.Imm32(dst, int32(k)))
		case mode == bpfMEM && bpfSize(op) == bpfW && k < memWords:
			b.emit(asm.LoadMem(dst, asm.R10, memOff+4*int16(k), asm.Word))
		case mode == bpfLEN && bpfSize(op) == bpfW:
			b.emit(asm.LoadMem(dst, regSkb, skbLen, asm.Word))
		case (mode == bpfABS || mode == bpfIND) && dst == regA:
			size := map[int]int{bpfW: 4, bpfH: 2, bpfB: 1}[bpfSize(op)]
			if size == 0 {
				return fmt.Errorf("translate filter: bad load %#x", op)
			}
			b.load(i, regA, size, mode == bpfIND, k)
		case mode == bpfMSH && bpfSize(op) == bpfB && dst == regX:
			b.load(i, regX, 1, false, k)
			b.emit(asm.And.Imm32(regX, 0xf), asm.LSh.Imm32(regX, 2))
		default:
			return fmt.Errorf("translate filter: unsupported load %#x", op)
		}
	case bpfST:
		if k >= memWords {
			return fmt.Errorf("translate filter: scratch cell %d", k)
		}
		b.emit(asm.StoreMem(asm.R10, memOff+4*int16(k), regA, asm.Word))
	case bpfSTX:
		if k >= memWords {
			return fmt.Errorf("translate filter: scratch cell %d", k)
		}
		b.emit(asm.StoreMem(asm.R10, memOff+4*int16(k), regX, asm.Word))
	case bpfALU:
		aop := bpfOp(op)
		if aop == bpfNEG {
			b.emit(asm.Neg.Imm32(regA, 0))
			return nil
		}
		alu, ok := classicALU[aop]
		if !ok {
			return fmt.Errorf("translate filter: unsupported ALU operation %#x", op)
		}
		if bpfSrc(op) == bpfK {
			switch {
			case (aop == bpfDIV || aop == bpfMOD) && k == 0:
				b.emit(asm.Ja.Label(noMatch))
			case (aop == bpfLSH || aop == bpfRSH) && k >= 32:
				b.emit(asm.Mov.Imm32(regA, 0))
			default:
				b.emit(alu.Imm32(regA, int32(k)))
			}
			return nil
		}
		switch aop {
		case bpfDIV, bpfMOD:
			b.emit(asm.JEq.Imm32(regX, 0, noMatch), alu.Reg32(regA, regX))
		case bpfLSH, bpfRSH:
			small, done := fmt.Sprintf("%s_%d_shift", labelPrefix, i), fmt.Sprintf("%s_%d_done", labelPrefix, i)
			b.emit(asm.JLT.Imm32(regX, 32, small), asm.Mov.Imm32(regA, 0), asm.Ja.Label(done))
			b.label(small)
			b.emit(alu.Reg32(regA, regX))
			b.label(done)
		default:
			b.emit(alu.Reg32(regA, regX))
		}
	case bpfJMP:
		if op == bpfJMP|bpfJA {
			t, err := target(int(k))
			if err != nil {
				return err
			}
			b.emit(asm.Ja.Label(t))
			return nil
		}
		jop, ok := classicJump[bpfOp(op)]
		if !ok {
			return fmt.Errorf("translate filter: unsupported jump %#x", op)
		}
		tt, err := target(int(ins.Jt))
		if err != nil {
			return err
		}
		tf, err := target(int(ins.Jf))
		if err != nil {
			return err
		}
		// A branch whose true target is the next instruction becomes
		// the opposite test to the false target, where there is one.
		if inv, ok := invertedJump[jop]; ok && ins.Jt == 0 && ins.Jf != 0 {
			jop, tt, tf = inv, tf, tt
			ins.Jt, ins.Jf = ins.Jf, 0
		}
		if bpfSrc(op) == bpfX {
			b.emit(jop.Reg32(regA, regX, tt))
		} else {
			b.emit(jop.Imm32(regA, int32(k), tt))
		}
		if ins.Jf != 0 {
			b.emit(asm.Ja.Label(tf))
		}
	case bpfRET:
		switch bpfRval(op) {
		case bpfK:
			b.emit(asm.Mov.Imm32(asm.R0, int32(k)))
		case bpfA:
			b.emit(asm.Mov.Reg32(asm.R0, regA))
		default:
			return fmt.Errorf("translate filter: unsupported return %#x", op)
		}
		b.emit(asm.Return())
	case bpfMISC:
		switch bpfMiscOp(op) {
		case bpfTAX:
			b.emit(asm.Mov.Reg32(regX, regA))
		case bpfTXA:
			b.emit(asm.Mov.Reg32(regA, regX))
		default:
			return fmt.Errorf("translate filter: unsupported instruction %#x", op)
		}
	}
	return nil
}

// load emits the load of size bytes at k (or X+k when indirect) into dst,
// big-endian as in classic BPF, or a jump to noMatch when the packet is
// shorter.
func (b *ebpfBuilder) load(i int, dst asm.Register, size int, indirect bool, k uint32) {
	sz := map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word}[size]
	slow, done := fmt.Sprintf("%s_%d_slow", labelPrefix, i), fmt.Sprintf("%s_%d_done", labelPrefix, i)
	swap := func() {
		if size > 1 {
			b.emit(asm.HostTo(asm.BE, dst, sz))
		}
	}
	if !indirect {
		if b.direct && uint64(k)+uint64(size) <= maxDirect {
			b.emit(
				asm.LoadMem(asm.R2, regSkb, skbData, asm.Word),
				asm.LoadMem(asm.R3, regSkb, skbDataEnd, asm.Word),
				asm.Mov.Reg(asm.R4, asm.R2),
				asm.Add.Imm(asm.R4, int32(k)+int32(size)),
				asm.JGT.Reg(asm.R4, asm.R3, slow),
				asm.LoadMem(dst, asm.R2, int16(k), sz),
			)
			swap()
			b.emit(asm.Ja.Label(done))
			b.label(slow)
		}
		b.emit(asm.Mov.Imm32(asm.R2, int32(k))) // zero-extended: k as unsigned
	} else {
		// R2 = X + k, computed in 64 bits so that it cannot wrap.
		b.emit(asm.Mov.Reg32(asm.R2, regX))
		if k <= 0x7fffffff {
			b.emit(asm.Add.Imm(asm.R2, int32(k)))
		} else {
			b.emit(asm.Mov.Imm32(asm.R3, int32(k)), asm.Add.Reg(asm.R2, asm.R3))
		}
		if b.direct {
			b.emit(
				asm.JGT.Imm(asm.R2, maxDirect, slow),
				asm.LoadMem(asm.R3, regSkb, skbData, asm.Word),
				asm.Add.Reg(asm.R3, asm.R2),
				asm.Mov.Reg(asm.R4, asm.R3),
				asm.Add.Imm(asm.R4, int32(size)),
				asm.LoadMem(asm.R5, regSkb, skbDataEnd, asm.Word),
				asm.JGT.Reg(asm.R4, asm.R5, slow),
				asm.LoadMem(dst, asm.R3, 0, sz),
			)
			swap()
			b.emit(asm.Ja.Label(done))
			b.label(slow)
		}
		// bpf_skb_load_bytes takes a 32-bit offset: refuse larger ones.
		b.emit(
			asm.LoadMem(asm.R4, regSkb, skbLen, asm.Word),
			asm.JGT.Reg(asm.R2, asm.R4, noMatch),
		)
	}
	b.emit(
		asm.Mov.Reg(asm.R1, regSkb),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, bufOff),
		asm.Mov.Imm(asm.R4, int32(size)),
		asm.FnSkbLoadBytes.Call(),
		asm.JNE.Imm(asm.R0, 0, noMatch),
		asm.LoadMem(dst, asm.R10, bufOff, sz),
	)
	swap()
	b.label(done)
}

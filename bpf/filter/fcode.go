package filter

import "golang.org/x/net/bpf"

// The conversion of the flow graph to instructions is optimize.c's
// icode_to_fcode: blocks are laid out depth first, false branch before
// true branch, from the end of the program backwards; a branch too long
// for the 8-bit jump offsets goes through an added "ja".

func countStmts(ic *icode, p *block) int {
	if p == nil || ic.isMarked(p) {
		return 0
	}
	ic.markBlock(p)
	n := countStmts(ic, jt(p)) + countStmts(ic, jf(p))
	return slength(p.stmts) + n + 1 + p.longjt + p.longjf
}

type convState struct {
	prog []bpf.RawInstruction
	tail int
}

// convertCodeR lays out p and what follows it; false means a branch was
// too long and has been marked, so the layout must start again.
func (cs *convState) convertCodeR(ic *icode, p *block) bool {
	if p == nil || ic.isMarked(p) {
		return true
	}
	ic.markBlock(p)
	if !cs.convertCodeR(ic, jf(p)) {
		return false
	}
	if !cs.convertCodeR(ic, jt(p)) {
		return false
	}
	slen := slength(p.stmts)
	cs.tail -= slen + 1 + p.longjt + p.longjf
	dst := cs.tail
	p.offset = dst
	for src := p.stmts; src != nil; src = src.next {
		if src.s.code == nop {
			continue
		}
		cs.prog[dst] = bpf.RawInstruction{Op: uint16(src.s.code), K: src.s.k}
		dst++
	}
	cs.prog[dst] = bpf.RawInstruction{Op: uint16(p.s.code), K: p.s.k}
	if jt(p) == nil {
		return true
	}
	extra := 0
	off := jt(p).offset - (p.offset + slen) - 1
	if off >= 256 {
		if p.longjt == 0 {
			p.longjt++
			return false
		}
		cs.prog[dst].Jt = uint8(extra)
		extra++
		cs.prog[dst+extra] = bpf.RawInstruction{Op: bpfJMP | bpfJA, K: uint32(off - extra)}
	} else {
		cs.prog[dst].Jt = uint8(off)
	}
	off = jf(p).offset - (p.offset + slen) - 1
	if off >= 256 {
		if p.longjf == 0 {
			p.longjf++
			return false
		}
		cs.prog[dst].Jf = uint8(extra)
		extra++
		cs.prog[dst+extra] = bpf.RawInstruction{Op: bpfJMP | bpfJA, K: uint32(off - extra)}
	} else {
		cs.prog[dst].Jf = uint8(off)
	}
	return true
}

// icodeToFcode converts the flow graph from its root to instructions.
func icodeToFcode(ic *icode) []bpf.RawInstruction {
	for {
		ic.unMarkAll()
		n := countStmts(ic, ic.root)
		cs := &convState{prog: make([]bpf.RawInstruction, n), tail: n}
		ic.unMarkAll()
		if cs.convertCodeR(ic, ic.root) {
			return cs.prog
		}
	}
}

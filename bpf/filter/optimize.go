package filter

import "math/bits"

// The optimizer is a translation of libpcap's optimize.c (1.10): value
// numbering over the acyclic flow graph, peephole rules, dead-store
// elimination, branch folding along dominating edges and the "pull-up" of
// repeated tests, iterated to a fixed point; then identical blocks are
// merged. Its output is the program `tcpdump -d` prints, which also fixes
// the program's behaviour in the corner cases where the optimizer removes
// a load that could have failed (for example "ip[100] = 1 or ip").

const (
	aAtom  = memWords     // the accumulator
	xAtom  = memWords + 1 // the index register
	axAtom = nAtoms       // both, in use-def computations
	nAtoms = memWords + 2
)

func atomMask(n int) uint32            { return 1 << uint(n) }
func atomElem(d uint32, n int) bool    { return d&atomMask(n) != 0 }
func setMember(p []uint32, a int) bool { return p[a/32]&(1<<uint(a%32)) != 0 }
func setInsert(p []uint32, a int)      { p[a/32] |= 1 << uint(a%32) }

func setIntersect(a, b []uint32) {
	for i := range a {
		a[i] &= b[i]
	}
}

// icode is a flow graph with the mark used by its traversals.
type icode struct {
	root    *block
	curMark int
}

func (ic *icode) unMarkAll()             { ic.curMark++ }
func (ic *icode) isMarked(b *block) bool { return b.mark == ic.curMark }
func (ic *icode) markBlock(b *block)     { b.mark = ic.curMark }

type valKey struct {
	code   int
	v0, v1 uint32
}

type vmapInfo struct {
	isConst  bool
	constVal uint32
}

type optState struct {
	done                       bool
	nonBranchMovementPerformed bool
	nBlocks                    int
	blocks                     []*block
	nEdges                     int
	edges                      []*edge
	nodewords, edgewords       int
	levels                     []*block
	values                     map[valKey]uint32
	curval                     uint32
	vmap                       []vmapInfo
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func (o *optState) findLevelsR(ic *icode, b *block) {
	if ic.isMarked(b) {
		return
	}
	ic.markBlock(b)
	b.link = nil
	level := 0
	if jt(b) != nil {
		o.findLevelsR(ic, jt(b))
		o.findLevelsR(ic, jf(b))
		level = maxInt(jt(b).level, jf(b).level) + 1
	}
	b.level = level
	b.link = o.levels[level]
	o.levels[level] = b
}

func (o *optState) findLevels(ic *icode) {
	clear(o.levels)
	ic.unMarkAll()
	o.findLevelsR(ic, ic.root)
}

func (o *optState) findDom(root *block) {
	for _, b := range o.blocks {
		for i := range b.dom {
			b.dom[i] = 0xffffffff
		}
	}
	clear(root.dom)
	for level := root.level; level >= 0; level-- {
		for b := o.levels[level]; b != nil; b = b.link {
			setInsert(b.dom, b.id)
			if jt(b) == nil {
				continue
			}
			setIntersect(jt(b).dom, b.dom)
			setIntersect(jf(b).dom, b.dom)
		}
	}
}

func propedom(ep *edge) {
	setInsert(ep.edom, ep.id)
	if ep.succ != nil {
		setIntersect(ep.succ.et.edom, ep.edom)
		setIntersect(ep.succ.ef.edom, ep.edom)
	}
}

func (o *optState) findEdom(root *block) {
	for _, e := range o.edges {
		for i := range e.edom {
			e.edom[i] = 0xffffffff
		}
	}
	clear(root.et.edom)
	clear(root.ef.edom)
	for level := root.level; level >= 0; level-- {
		for b := o.levels[level]; b != nil; b = b.link {
			propedom(&b.et)
			propedom(&b.ef)
		}
	}
}

// atomuse returns the register a statement uses: a scratch cell, aAtom,
// xAtom, axAtom for both, or -1.
func atomuse(s *stmt) int {
	c := s.code
	if c == nop {
		return -1
	}
	switch bpfClass(c) {
	case bpfRET:
		switch bpfRval(c) {
		case bpfA:
			return aAtom
		case bpfX:
			return xAtom
		}
		return -1
	case bpfLD, bpfLDX:
		switch bpfMode(c) {
		case bpfIND:
			return xAtom
		case bpfMEM:
			return int(s.k)
		}
		return -1
	case bpfST:
		return aAtom
	case bpfSTX:
		return xAtom
	case bpfJMP, bpfALU:
		if bpfSrc(c) == bpfX {
			return axAtom
		}
		return aAtom
	case bpfMISC:
		if bpfMiscOp(c) == bpfTXA {
			return xAtom
		}
		return aAtom
	}
	panic("filter: bad opcode")
}

// atomdef returns the register a statement defines, or -1.
func atomdef(s *stmt) int {
	if s.code == nop {
		return -1
	}
	switch bpfClass(s.code) {
	case bpfLD, bpfALU:
		return aAtom
	case bpfLDX:
		return xAtom
	case bpfST, bpfSTX:
		return int(s.k)
	case bpfMISC:
		if bpfMiscOp(s.code) == bpfTAX {
			return xAtom
		}
		return aAtom
	}
	return -1
}

func useAtom(atom int, def uint32, use *uint32) {
	if atom == axAtom {
		if !atomElem(def, xAtom) {
			*use |= atomMask(xAtom)
		}
		if !atomElem(def, aAtom) {
			*use |= atomMask(aAtom)
		}
	} else if atom < nAtoms {
		if !atomElem(def, atom) {
			*use |= atomMask(atom)
		}
	}
}

func computeLocalUD(b *block) {
	var def, use, killed uint32
	for s := b.stmts; s != nil; s = s.next {
		if s.s.code == nop {
			continue
		}
		if atom := atomuse(&s.s); atom >= 0 {
			useAtom(atom, def, &use)
		}
		if atom := atomdef(&s.s); atom >= 0 {
			if !atomElem(use, atom) {
				killed |= atomMask(atom)
			}
			def |= atomMask(atom)
		}
	}
	if bpfClass(b.s.code) == bpfJMP {
		if atom := atomuse(&b.s); atom >= 0 {
			useAtom(atom, def, &use)
		}
	}
	b.def = def
	b.kill = killed
	b.inUse = use
}

func (o *optState) findUD(root *block) {
	maxlevel := root.level
	for i := maxlevel; i >= 0; i-- {
		for p := o.levels[i]; p != nil; p = p.link {
			computeLocalUD(p)
			p.outUse = 0
		}
	}
	for i := 1; i <= maxlevel; i++ {
		for p := o.levels[i]; p != nil; p = p.link {
			p.outUse |= jt(p).inUse | jf(p).inUse
			p.inUse |= p.outUse &^ p.kill
		}
	}
}

func (o *optState) initVal() {
	o.curval = 0
	o.values = map[valKey]uint32{}
	o.vmap = o.vmap[:0]
	o.vmap = append(o.vmap, vmapInfo{}) // value 0 is VAL_UNKNOWN
}

// f returns the value number of an operation on value numbers (or
// constants), allocating a new one the first time.
func (o *optState) f(code int, v0, v1 uint32) uint32 {
	k := valKey{code, v0, v1}
	if v, ok := o.values[k]; ok {
		return v
	}
	o.curval++
	val := o.curval
	o.vmap = append(o.vmap, vmapInfo{})
	if bpfMode(code) == bpfIMM && (bpfClass(code) == bpfLD || bpfClass(code) == bpfLDX) {
		o.vmap[val] = vmapInfo{isConst: true, constVal: v0}
	}
	o.values[k] = val
	return val
}

// k is the value number of a constant.
func (o *optState) k(i uint32) uint32 { return o.f(bpfLD|bpfIMM|bpfW, i, 0) }

func vstore(s *stmt, valp *uint32, newval uint32, alter bool) {
	if alter && newval != 0 && *valp == newval {
		s.code = nop
	} else {
		*valp = newval
	}
}

func (o *optState) changed() {
	o.nonBranchMovementPerformed = true
	o.done = false
}

func (o *optState) foldOp(s *stmt, v0, v1 uint32) {
	a := o.vmap[v0].constVal
	b := o.vmap[v1].constVal
	switch bpfOp(s.code) {
	case bpfADD:
		a += b
	case bpfSUB:
		a -= b
	case bpfMUL:
		a *= b
	case bpfDIV:
		if b == 0 {
			fail("division by zero")
		}
		a /= b
	case bpfMOD:
		if b == 0 {
			fail("modulus by zero")
		}
		a %= b
	case bpfAND:
		a &= b
	case bpfOR:
		a |= b
	case bpfXOR:
		a ^= b
	case bpfLSH:
		if b < 32 {
			a <<= b
		} else {
			a = 0
		}
	case bpfRSH:
		if b < 32 {
			a >>= b
		} else {
			a = 0
		}
	default:
		panic("filter: bad fold")
	}
	s.k = a
	s.code = bpfLD | bpfIMM
	o.changed()
}

func thisOp(s *slist) *slist {
	for s != nil && s.s.code == nop {
		s = s.next
	}
	return s
}

func optNot(b *block) { b.et.succ, b.ef.succ = b.ef.succ, b.et.succ }

func (o *optState) optPeep(b *block) {
	s := b.stmts
	if s == nil {
		return
	}
	last := s
	var next *slist
	for ; ; s = next {
		s = thisOp(s)
		if s == nil {
			break
		}
		next = thisOp(s.next)
		if next == nil {
			break
		}
		last = next

		// st M[k]; ldx M[k] -> st M[k]; tax
		if s.s.code == bpfST && next.s.code == bpfLDX|bpfMEM && s.s.k == next.s.k {
			o.changed()
			next.s.code = bpfMISC | bpfTAX
		}
		// ld #k; tax -> ldx #k; txa
		if s.s.code == bpfLD|bpfIMM && next.s.code == bpfMISC|bpfTAX {
			s.s.code = bpfLDX | bpfIMM
			next.s.code = bpfMISC | bpfTXA
			o.changed()
		}
		// ld #k; [ldxms]; addx; tax; ild [x+j] -> [ldxms]; ild [x+k+j]
		if s.s.code == bpfLD|bpfIMM {
			if atomElem(b.outUse, xAtom) {
				continue
			}
			var add *slist
			if next.s.code != bpfLDX|bpfMSH|bpfB {
				add = next
			} else {
				add = thisOp(next.next)
			}
			if add == nil || add.s.code != bpfALU|bpfADD|bpfX {
				continue
			}
			tax := thisOp(add.next)
			if tax == nil || tax.s.code != bpfMISC|bpfTAX {
				continue
			}
			ild := thisOp(tax.next)
			if ild == nil || bpfClass(ild.s.code) != bpfLD || bpfMode(ild.s.code) != bpfIND {
				continue
			}
			ild.s.k += s.s.k
			s.s.code = nop
			add.s.code = nop
			tax.s.code = nop
			o.changed()
		}
	}
	if b.s.code == bpfJMP|bpfJEQ|bpfK && !atomElem(b.outUse, aAtom) {
		if last.s.code == bpfALU|bpfSUB|bpfX {
			val := b.val[xAtom]
			if o.vmap[val].isConst {
				// sub x; jeq #y -> jeq #(x+y)
				b.s.k += o.vmap[val].constVal
				last.s.code = nop
				o.changed()
			} else if b.s.k == 0 {
				// sub x; jeq #0 -> jeq x
				last.s.code = nop
				b.s.code = bpfJMP | bpfJEQ | bpfX
				o.changed()
			}
		} else if last.s.code == bpfALU|bpfSUB|bpfK {
			// sub #x; jeq #y -> jeq #(x+y)
			last.s.code = nop
			b.s.k += last.s.k
			o.changed()
		} else if last.s.code == bpfALU|bpfAND|bpfK && b.s.k == 0 {
			// and #k; jeq #0 -> jset #k, branches swapped
			b.s.k = last.s.k
			b.s.code = bpfJMP | bpfK | bpfJSET
			last.s.code = nop
			o.changed()
			optNot(b)
		}
	}
	// jset #0 never, jset #ffffffff always
	if b.s.code == bpfJMP|bpfK|bpfJSET {
		if b.s.k == 0 {
			b.et.succ = b.ef.succ
		}
		if b.s.k == 0xffffffff {
			b.ef.succ = b.et.succ
		}
	}
	// A comparison against X when X is a known constant.
	val := b.val[xAtom]
	if o.vmap[val].isConst && bpfSrc(b.s.code) == bpfX {
		v := o.vmap[val].constVal
		b.s.code &^= bpfX
		b.s.k = v
	}
	// A comparison of a known constant: the branch is decided.
	val = b.val[aAtom]
	if o.vmap[val].isConst && bpfSrc(b.s.code) == bpfK {
		v := o.vmap[val].constVal
		switch bpfOp(b.s.code) {
		case bpfJEQ:
			v = b2u(v == b.s.k)
		case bpfJGT:
			v = b2u(v > b.s.k)
		case bpfJGE:
			v = b2u(v >= b.s.k)
		case bpfJSET:
			v &= b.s.k
		default:
			panic("filter: bad branch")
		}
		if jf(b) != jt(b) {
			o.changed()
		}
		if v != 0 {
			b.ef.succ = b.et.succ
		} else {
			b.et.succ = b.ef.succ
		}
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// optStmt computes the symbolic value of s and updates val; with alter,
// it also simplifies s.
func (o *optState) optStmt(s *stmt, val *[nAtoms]uint32, alter bool) {
	switch s.code {
	case bpfLD | bpfABS | bpfW, bpfLD | bpfABS | bpfH, bpfLD | bpfABS | bpfB:
		v := o.f(s.code, s.k, 0)
		vstore(s, &val[aAtom], v, alter)

	case bpfLD | bpfIND | bpfW, bpfLD | bpfIND | bpfH, bpfLD | bpfIND | bpfB:
		v := val[xAtom]
		if alter && o.vmap[v].isConst {
			s.code = bpfLD | bpfABS | bpfSize(s.code)
			s.k += o.vmap[v].constVal
			v = o.f(s.code, s.k, 0)
			o.changed()
		} else {
			v = o.f(s.code, s.k, v)
		}
		vstore(s, &val[aAtom], v, alter)

	case bpfLD | bpfLEN:
		v := o.f(s.code, 0, 0)
		vstore(s, &val[aAtom], v, alter)

	case bpfLD | bpfIMM:
		v := o.k(s.k)
		vstore(s, &val[aAtom], v, alter)

	case bpfLDX | bpfIMM:
		v := o.k(s.k)
		vstore(s, &val[xAtom], v, alter)

	case bpfLDX | bpfMSH | bpfB:
		v := o.f(s.code, s.k, 0)
		vstore(s, &val[xAtom], v, alter)

	case bpfALU | bpfNEG:
		if alter && o.vmap[val[aAtom]].isConst {
			s.code = bpfLD | bpfIMM
			s.k = 0 - o.vmap[val[aAtom]].constVal
			val[aAtom] = o.k(s.k)
		} else {
			val[aAtom] = o.f(s.code, val[aAtom], 0)
		}

	case bpfALU | bpfADD | bpfK, bpfALU | bpfSUB | bpfK, bpfALU | bpfMUL | bpfK,
		bpfALU | bpfDIV | bpfK, bpfALU | bpfMOD | bpfK, bpfALU | bpfAND | bpfK,
		bpfALU | bpfOR | bpfK, bpfALU | bpfXOR | bpfK, bpfALU | bpfLSH | bpfK,
		bpfALU | bpfRSH | bpfK:
		op := bpfOp(s.code)
		if alter {
			if s.k == 0 {
				// Operations with a zero constant; "sub #0" is kept,
				// it may be needed to fix up generated math code.
				if op == bpfADD || op == bpfLSH || op == bpfRSH || op == bpfOR || op == bpfXOR {
					s.code = nop
					break
				}
				if op == bpfMUL || op == bpfAND {
					s.code = bpfLD | bpfIMM
					val[aAtom] = o.k(s.k)
					break
				}
				if op == bpfDIV {
					fail("division by zero")
				}
				if op == bpfMOD {
					fail("modulus by zero")
				}
			}
			if o.vmap[val[aAtom]].isConst {
				o.foldOp(s, val[aAtom], o.k(s.k))
				val[aAtom] = o.k(s.k)
				break
			}
		}
		val[aAtom] = o.f(s.code, val[aAtom], o.k(s.k))

	case bpfALU | bpfADD | bpfX, bpfALU | bpfSUB | bpfX, bpfALU | bpfMUL | bpfX,
		bpfALU | bpfDIV | bpfX, bpfALU | bpfMOD | bpfX, bpfALU | bpfAND | bpfX,
		bpfALU | bpfOR | bpfX, bpfALU | bpfXOR | bpfX, bpfALU | bpfLSH | bpfX,
		bpfALU | bpfRSH | bpfX:
		op := bpfOp(s.code)
		if alter && o.vmap[val[xAtom]].isConst {
			if o.vmap[val[aAtom]].isConst {
				o.foldOp(s, val[aAtom], val[xAtom])
				val[aAtom] = o.k(s.k)
			} else {
				s.code = bpfALU | bpfK | op
				s.k = o.vmap[val[xAtom]].constVal
				if (op == bpfLSH || op == bpfRSH) && s.k > 31 {
					fail("shift by more than 31 bits")
				}
				o.changed()
				val[aAtom] = o.f(s.code, val[aAtom], o.k(s.k))
			}
			break
		}
		// An operation on an accumulator known to be 0.
		if alter && o.vmap[val[aAtom]].isConst && o.vmap[val[aAtom]].constVal == 0 {
			if op == bpfADD || op == bpfOR || op == bpfXOR {
				s.code = bpfMISC | bpfTXA
				vstore(s, &val[aAtom], val[xAtom], alter)
				break
			} else if op == bpfMUL || op == bpfDIV || op == bpfMOD || op == bpfAND || op == bpfLSH || op == bpfRSH {
				s.code = bpfLD | bpfIMM
				s.k = 0
				vstore(s, &val[aAtom], o.k(s.k), alter)
				break
			} else if op == bpfNEG {
				s.code = nop
				break
			}
		}
		val[aAtom] = o.f(s.code, val[aAtom], val[xAtom])

	case bpfMISC | bpfTXA:
		vstore(s, &val[aAtom], val[xAtom], alter)

	case bpfLD | bpfMEM:
		v := val[s.k]
		if alter && o.vmap[v].isConst {
			s.code = bpfLD | bpfIMM
			s.k = o.vmap[v].constVal
			o.changed()
		}
		vstore(s, &val[aAtom], v, alter)

	case bpfMISC | bpfTAX:
		vstore(s, &val[xAtom], val[aAtom], alter)

	case bpfLDX | bpfMEM:
		v := val[s.k]
		if alter && o.vmap[v].isConst {
			s.code = bpfLDX | bpfIMM
			s.k = o.vmap[v].constVal
			o.changed()
		}
		vstore(s, &val[xAtom], v, alter)

	case bpfST:
		vstore(s, &val[s.k], val[aAtom], alter)

	case bpfSTX:
		vstore(s, &val[s.k], val[xAtom], alter)
	}
}

func (o *optState) deadstmt(s *stmt, last *[nAtoms]*stmt) {
	if atom := atomuse(s); atom >= 0 {
		if atom == axAtom {
			last[xAtom] = nil
			last[aAtom] = nil
		} else {
			last[atom] = nil
		}
	}
	if atom := atomdef(s); atom >= 0 {
		if last[atom] != nil {
			o.changed()
			last[atom].code = nop
		}
		last[atom] = s
	}
}

func (o *optState) optDeadstores(b *block) {
	var last [nAtoms]*stmt
	for s := b.stmts; s != nil; s = s.next {
		o.deadstmt(&s.s, &last)
	}
	o.deadstmt(&b.s, &last)
	for atom := range nAtoms {
		if last[atom] != nil && !atomElem(b.outUse, atom) {
			last[atom].code = nop
			o.changed()
		}
	}
}

func (o *optState) optBlk(b *block, doStmts bool) {
	p := b.inEdges
	if p == nil {
		b.val = [nAtoms]uint32{}
	} else {
		b.val = p.pred.val
		for p = p.next; p != nil; p = p.next {
			for i := range nAtoms {
				if b.val[i] != p.pred.val[i] {
					b.val[i] = 0
				}
			}
		}
	}
	aval := b.val[aAtom]
	xval := b.val[xAtom]
	for s := b.stmts; s != nil; s = s.next {
		o.optStmt(&s.s, &b.val, doStmts)
	}
	if doStmts && ((b.outUse == 0 && aval != 0 && b.val[aAtom] == aval && xval != 0 && b.val[xAtom] == xval) ||
		bpfClass(b.s.code) == bpfRET) {
		if b.stmts != nil {
			b.stmts = nil
			o.changed()
		}
	} else {
		o.optPeep(b)
		o.optDeadstores(b)
	}
	if bpfSrc(b.s.code) == bpfK {
		b.oval = o.k(b.s.k)
	} else {
		b.oval = b.val[xAtom]
	}
	b.et.code = b.s.code
	b.ef.code = -b.s.code
}

// useConflict reports whether a register used on exit from succ has a
// different value there than on exit from b.
func useConflict(b, succ *block) bool {
	use := succ.outUse
	if use == 0 {
		return false
	}
	for atom := range nAtoms {
		if atomElem(use, atom) && b.val[atom] != succ.val[atom] {
			return true
		}
	}
	return false
}

func foldEdge(child *block, ep *edge) *block {
	code := ep.code
	sense := true
	if code < 0 {
		code = -code
		sense = false
	}
	if child.s.code != code {
		return nil
	}
	aval0 := child.val[aAtom]
	oval0 := child.oval
	aval1 := ep.pred.val[aAtom]
	oval1 := ep.pred.oval
	if aval0 != aval1 {
		return nil
	}
	if oval0 == oval1 {
		if sense {
			return jt(child)
		}
		return jf(child)
	}
	if sense && code == bpfJMP|bpfJEQ|bpfK {
		return jf(child)
	}
	return nil
}

func (o *optState) optJ(ep *edge) {
	if jt(ep.succ) == nil {
		return
	}
	if jt(ep.succ) == jf(ep.succ) {
		// Common branch targets can be eliminated, provided there
		// is no data dependency.
		if !useConflict(ep.pred, jt(ep.succ)) {
			o.changed()
			ep.succ = jt(ep.succ)
		}
	}
top:
	for i := 0; i < o.edgewords; i++ {
		x := ep.edom[i]
		for x != 0 {
			k := bits.TrailingZeros32(x)
			x &^= 1 << uint(k)
			k += i * 32
			target := foldEdge(ep.succ, o.edges[k])
			if target != nil && !useConflict(ep.pred, target) {
				o.done = false
				ep.succ = target
				if jt(target) != nil {
					goto top
				}
				return
			}
		}
	}
}

func succField(pred, b *block) **block {
	if jt(pred) == b {
		return &pred.et.succ
	}
	return &pred.ef.succ
}

func (o *optState) orPullup(b *block) {
	ep := b.inEdges
	if ep == nil {
		return
	}
	val := ep.pred.val[aAtom]
	for ep = ep.next; ep != nil; ep = ep.next {
		if val != ep.pred.val[aAtom] {
			return
		}
	}
	diffp := succField(b.inEdges.pred, b)
	atTop := true
	for {
		if *diffp == nil {
			return
		}
		if jt(*diffp) != jt(b) {
			return
		}
		if !setMember((*diffp).dom, b.id) {
			return
		}
		if (*diffp).val[aAtom] != val {
			break
		}
		diffp = &(*diffp).ef.succ
		atTop = false
	}
	samep := &(*diffp).ef.succ
	for {
		if *samep == nil {
			return
		}
		if jt(*samep) != jt(b) {
			return
		}
		if !setMember((*samep).dom, b.id) {
			return
		}
		if (*samep).val[aAtom] == val {
			break
		}
		samep = &(*samep).ef.succ
	}
	pull := *samep
	*samep = jf(pull)
	pull.ef.succ = *diffp
	if atTop {
		for ep := b.inEdges; ep != nil; ep = ep.next {
			if jt(ep.pred) == b {
				ep.pred.et.succ = pull
			} else {
				ep.pred.ef.succ = pull
			}
		}
	} else {
		*diffp = pull
	}
	o.done = false
}

func (o *optState) andPullup(b *block) {
	ep := b.inEdges
	if ep == nil {
		return
	}
	val := ep.pred.val[aAtom]
	for ep = ep.next; ep != nil; ep = ep.next {
		if val != ep.pred.val[aAtom] {
			return
		}
	}
	diffp := succField(b.inEdges.pred, b)
	atTop := true
	for {
		if *diffp == nil {
			return
		}
		if jf(*diffp) != jf(b) {
			return
		}
		if !setMember((*diffp).dom, b.id) {
			return
		}
		if (*diffp).val[aAtom] != val {
			break
		}
		diffp = &(*diffp).et.succ
		atTop = false
	}
	samep := &(*diffp).et.succ
	for {
		if *samep == nil {
			return
		}
		if jf(*samep) != jf(b) {
			return
		}
		if !setMember((*samep).dom, b.id) {
			return
		}
		if (*samep).val[aAtom] == val {
			break
		}
		samep = &(*samep).et.succ
	}
	pull := *samep
	*samep = jt(pull)
	pull.et.succ = *diffp
	if atTop {
		for ep := b.inEdges; ep != nil; ep = ep.next {
			if jt(ep.pred) == b {
				ep.pred.et.succ = pull
			} else {
				ep.pred.ef.succ = pull
			}
		}
	} else {
		*diffp = pull
	}
	o.done = false
}

func (o *optState) optBlks(ic *icode, doStmts bool) {
	o.initVal()
	maxlevel := ic.root.level
	o.findInedges(ic.root)
	for i := maxlevel; i >= 0; i-- {
		for p := o.levels[i]; p != nil; p = p.link {
			o.optBlk(p, doStmts)
		}
	}
	if doStmts {
		return
	}
	for i := 1; i <= maxlevel; i++ {
		for p := o.levels[i]; p != nil; p = p.link {
			o.optJ(&p.et)
			o.optJ(&p.ef)
		}
	}
	o.findInedges(ic.root)
	for i := 1; i <= maxlevel; i++ {
		for p := o.levels[i]; p != nil; p = p.link {
			o.orPullup(p)
			o.andPullup(p)
		}
	}
}

func linkInedge(parent *edge, child *block) {
	parent.next = child.inEdges
	child.inEdges = parent
}

func (o *optState) findInedges(root *block) {
	for _, b := range o.blocks {
		b.inEdges = nil
	}
	for level := root.level; level > 0; level-- {
		for b := o.levels[level]; b != nil; b = b.link {
			linkInedge(&b.et, jt(b))
			linkInedge(&b.ef, jf(b))
		}
	}
}

func optRoot(b **block) {
	s := (*b).stmts
	(*b).stmts = nil
	for bpfClass((*b).s.code) == bpfJMP && jt(*b) == jf(*b) {
		*b = jt(*b)
	}
	tmp := (*b).stmts
	if tmp != nil {
		if s == nil {
			s = tmp
		} else {
			sappend(s, tmp)
		}
	}
	(*b).stmts = s
	// A root that returns needs no statements: BPF has no side effects.
	if bpfClass((*b).s.code) == bpfRET {
		(*b).stmts = nil
	}
}

func (o *optState) optLoop(ic *icode, doStmts bool) {
	loopCount := 0
	for {
		o.done = true
		o.nonBranchMovementPerformed = false
		o.findLevels(ic)
		o.findDom(ic.root)
		o.findUD(ic.root)
		o.findEdom(ic.root)
		o.optBlks(ic, doStmts)
		if o.done {
			break
		}
		// Passes that only move branches may cycle; stop after 100 of them.
		if o.nonBranchMovementPerformed {
			loopCount = 0
		} else {
			loopCount++
			if loopCount >= 100 {
				o.done = true
				break
			}
		}
	}
}

// optimize is bpf_optimize.
func optimize(ic *icode) {
	o := &optState{}
	o.init(ic)
	o.optLoop(ic, false)
	o.optLoop(ic, true)
	o.internBlocks(ic)
	optRoot(&ic.root)
}

func makeMarks(ic *icode, p *block) {
	if !ic.isMarked(p) {
		ic.markBlock(p)
		if bpfClass(p.s.code) != bpfRET {
			makeMarks(ic, jt(p))
			makeMarks(ic, jf(p))
		}
	}
}

func markCode(ic *icode) {
	ic.curMark++
	makeMarks(ic, ic.root)
}

func eqSlist(x, y *slist) bool {
	for {
		for x != nil && x.s.code == nop {
			x = x.next
		}
		for y != nil && y.s.code == nop {
			y = y.next
		}
		if x == nil {
			return y == nil
		}
		if y == nil {
			return false
		}
		if x.s.code != y.s.code || x.s.k != y.s.k {
			return false
		}
		x = x.next
		y = y.next
	}
}

func eqBlk(b0, b1 *block) bool {
	if b0.s.code == b1.s.code && b0.s.k == b1.s.k && b0.et.succ == b1.et.succ && b0.ef.succ == b1.ef.succ {
		return eqSlist(b0.stmts, b1.stmts)
	}
	return false
}

func (o *optState) internBlocks(ic *icode) {
	for {
		done := true
		for _, b := range o.blocks {
			b.link = nil
		}
		markCode(ic)
		for i := o.nBlocks - 1; i != 0; {
			i--
			if !ic.isMarked(o.blocks[i]) {
				continue
			}
			for j := i + 1; j < o.nBlocks; j++ {
				if !ic.isMarked(o.blocks[j]) {
					continue
				}
				if eqBlk(o.blocks[i], o.blocks[j]) {
					if o.blocks[j].link != nil {
						o.blocks[i].link = o.blocks[j].link
					} else {
						o.blocks[i].link = o.blocks[j]
					}
					break
				}
			}
		}
		for _, p := range o.blocks {
			if jt(p) == nil {
				continue
			}
			if jt(p).link != nil {
				done = false
				p.et.succ = jt(p).link
			}
			if jf(p).link != nil {
				done = false
				p.ef.succ = jf(p).link
			}
		}
		if done {
			return
		}
	}
}

func slength(s *slist) int {
	n := 0
	for ; s != nil; s = s.next {
		if s.s.code != nop {
			n++
		}
	}
	return n
}

func countBlocks(ic *icode, p *block) int {
	if p == nil || ic.isMarked(p) {
		return 0
	}
	ic.markBlock(p)
	return countBlocks(ic, jt(p)) + countBlocks(ic, jf(p)) + 1
}

func (o *optState) numberBlksR(ic *icode, p *block) {
	if p == nil || ic.isMarked(p) {
		return
	}
	ic.markBlock(p)
	p.id = o.nBlocks
	o.blocks = append(o.blocks, p)
	o.nBlocks++
	o.numberBlksR(ic, jt(p))
	o.numberBlksR(ic, jf(p))
}

func (o *optState) init(ic *icode) {
	ic.unMarkAll()
	n := countBlocks(ic, ic.root)
	o.blocks = make([]*block, 0, n)
	ic.unMarkAll()
	o.numberBlksR(ic, ic.root)
	o.nEdges = 2 * o.nBlocks
	o.edges = make([]*edge, o.nEdges)
	o.levels = make([]*block, o.nBlocks)
	o.edgewords = o.nEdges/32 + 1
	o.nodewords = o.nBlocks/32 + 1
	for i, b := range o.blocks {
		b.dom = make([]uint32, o.nodewords)
		b.et.edom = make([]uint32, o.edgewords)
		b.ef.edom = make([]uint32, o.edgewords)
		b.et.id = i
		o.edges[i] = &b.et
		b.ef.id = o.nBlocks + i
		o.edges[o.nBlocks+i] = &b.ef
		b.et.pred = b
		b.ef.pred = b
	}
}

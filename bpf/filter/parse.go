package filter

import "errors"

// The parser accepts the language of libpcap's grammar.y (1.10) and builds
// a tree; the code generator then walks the tree in the order in which
// grammar.y's actions run (operands before their operator, left before
// right), so that it makes the same calls to the same generators in the
// same order as libpcap, and so allocates the same scratch registers.
//
// grammar.y is LALR(1) with 38 shift/reduce conflicts that bison resolves
// by shifting; this recursive-descent parser tries the alternatives in the
// order that reproduces those choices, backtracking where one token of
// lookahead is not enough (a "(" may open an arithmetic expression, a
// boolean expression, or a list of addresses).

var errSyntax = errors.New("can't parse filter expression: syntax error")

// qual is a qualifier triple: address type, protocol and direction.
type qual struct{ addr, proto, dir uint8 }

// qerr is the qualifier of a term that cannot be inherited by the bare
// addresses after it: using it is a syntax error.
var qerr = qual{qUndef, qUndef, qUndef}

// Boolean-valued nodes.
type (
	andNode struct{ l, r node }
	orNode  struct{ l, r node }
	notNode struct{ x node }
	// scodeNode is a name: a host, network, port, port range or protocol name.
	scodeNode struct {
		name string
		q    qual
	}
	// ncodeNode is a number, or an IPv4 address (hid) given without a mask.
	ncodeNode struct {
		s   string // the address; "" for a number
		v   uint32
		hid bool
		q   qual
	}
	// mcodeNode is an IPv4 network with a mask length (s2 == "") or a mask.
	mcodeNode struct {
		s1, s2  string
		masklen uint32
		q       qual
	}
	// mcode6Node is an IPv6 address with a prefix length.
	mcode6Node struct {
		s       string
		masklen uint32
		q       qual
	}
	// ecodeNode is an Ethernet (or ARCnet, arcnet) address.
	ecodeNode struct {
		s      string
		q      qual
		arcnet bool
	}
	protoAbbrevNode struct{ proto uint8 }
	relationNode    struct {
		code     int // bpfJEQ, bpfJGT or bpfJGE
		a0, a1   arthNode
		reversed bool
	}
	broadcastNode struct{ proto uint8 }
	multicastNode struct{ proto uint8 }
	lenNode       struct {
		greater bool // greater N (len >= N); else less N (len <= N)
		n       uint32
	}
	byteNode struct {
		op  byte
		idx uint32
		val uint32
	}
	// errNode is a primitive that parses but has no meaning for raw IP.
	errNode struct{ msg string }
)

type node any

// Arithmetic nodes.
type (
	loadINode   struct{ v uint32 }
	loadLenNode struct{}
	loadNode    struct {
		proto uint8
		idx   arthNode
		size  uint32
	}
	arithNode struct {
		op     int
		a0, a1 arthNode
	}
	negNode struct{ a arthNode }
)

type arthNode any

type parser struct {
	toks []token
	i    int
}

// parse parses a whole expression; nil means an empty expression.
func parse(toks []token) (node, error) {
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	n, _, ok := p.expr(qerr)
	if !ok || p.peek().kind != tEOF {
		return nil, errSyntax
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) punct(c byte) bool {
	t := p.peek()
	return t.kind == tPunct && t.ch == c
}

func (p *parser) accept(c byte) bool {
	if p.punct(c) {
		p.i++
		return true
	}
	return false
}

// expr: term | expr and term | expr and id | expr or term | expr or id.
func (p *parser) expr(q0 qual) (node, qual, bool) {
	left, q, ok := p.term(q0)
	if !ok {
		return nil, q, false
	}
	for k := p.peek().kind; k == tAnd || k == tOr; k = p.peek().kind {
		p.next()
		save := p.i
		r, rq, ok := p.term(q)
		if !ok {
			p.i = save
			if r, rq, ok = p.id(q); !ok {
				return nil, q, false
			}
		}
		left, q = boolOp(k, left, r), rq
	}
	return left, q, true
}

func boolOp(k tokKind, l, r node) node {
	if k == tAnd {
		return andNode{l, r}
	}
	return orNode{l, r}
}

// term: rterm | not term.
func (p *parser) term(q0 qual) (node, qual, bool) {
	if p.peek().kind == tNot {
		p.next()
		x, q, ok := p.term(q0)
		return notNode{x}, q, ok
	}
	return p.rterm(q0)
}

// rterm: head id | paren expr ')' | pname | arth relop arth | arth irelop arth | other.
func (p *parser) rterm(q0 qual) (node, qual, bool) {
	save := p.i
	if rel, ok := p.relation(); ok {
		return rel, qerr, true
	}
	p.i = save

	t := p.peek()
	switch {
	case t.kind == tPunct && t.ch == '(':
		p.next()
		e, _, ok := p.expr(q0)
		if !ok || !p.accept(')') {
			return nil, q0, false
		}
		return e, q0, true
	case t.kind == tPname:
		switch n := p.peekAt(1); {
		case isHeadStart(n.kind):
		case n.kind == tBroadcast || n.kind == tMulticast || n.kind == tType || n.kind == tSubtype || n.kind == tDir:
			p.next()
			return p.other(uint8(t.val))
		default:
			p.next()
			return protoAbbrevNode{uint8(t.val)}, qerr, true
		}
	case isHeadStart(t.kind):
	default:
		return p.other(qDefault)
	}
	q, ok := p.head()
	if !ok {
		return nil, q0, false
	}
	id, q, ok := p.id(q)
	return id, q, ok
}

func isHeadStart(k tokKind) bool {
	switch k {
	case tSrc, tDst, tAddr1, tAddr2, tAddr3, tAddr4, tRA, tTA,
		tHost, tNet, tPort, tPortrange, tProto, tProtochain, tGateway:
		return true
	}
	return false
}

// head: pqual dqual aqual | pqual dqual | pqual aqual | pqual PROTO |
// pqual PROTOCHAIN | pqual ndaqual.
func (p *parser) head() (qual, bool) {
	q := qual{addr: qDefault, proto: qDefault, dir: qDefault}
	if p.peek().kind == tPname {
		q.proto = uint8(p.next().val)
	}
	hasDir := true
	switch p.peek().kind {
	case tSrc, tDst:
		first := p.next().kind
		q.dir = qSrc
		if first == tDst {
			q.dir = qDst
		}
		if k := p.peek().kind; k == tOr || k == tAnd {
			// bison shifts here: "src or" must go on with "dst".
			p.next()
			other := tDst
			if first == tDst {
				other = tSrc
			}
			if p.next().kind != other {
				return q, false
			}
			q.dir = qOr
			if k == tAnd {
				q.dir = qAnd
			}
		}
	case tAddr1:
		p.next()
		q.dir = qAddr1
	case tAddr2:
		p.next()
		q.dir = qAddr2
	case tAddr3:
		p.next()
		q.dir = qAddr3
	case tAddr4:
		p.next()
		q.dir = qAddr4
	case tRA:
		p.next()
		q.dir = qRA
	case tTA:
		p.next()
		q.dir = qTA
	default:
		hasDir = false
	}
	switch p.peek().kind {
	case tHost:
		q.addr = qHost
	case tNet:
		q.addr = qNet
	case tPort:
		q.addr = qPort
	case tPortrange:
		q.addr = qPortrange
	case tProto, tProtochain, tGateway:
		if hasDir {
			return q, true
		}
		q.addr = map[tokKind]uint8{tProto: qProto, tProtochain: qProtochain, tGateway: qGateway}[p.peek().kind]
	default:
		return q, hasDir
	}
	p.next()
	return q, true
}

// id: nid | pnum | paren pid ')'.
func (p *parser) id(q qual) (node, qual, bool) {
	if p.punct('(') {
		save := p.i
		p.next()
		if n, ok := p.pid(q); ok && p.accept(')') {
			return n, q, true
		}
		p.i = save
	}
	if v, ok := p.pnum(); ok {
		return ncodeNode{v: v, q: q}, q, true
	}
	return p.nid(q)
}

// nid: ID | HID '/' NUM | HID NETMASK HID | HID | HID6 '/' NUM | HID6 | EID | AID | not id.
func (p *parser) nid(q qual) (node, qual, bool) {
	t := p.peek()
	switch t.kind {
	case tID:
		p.next()
		return scodeNode{t.text, q}, q, true
	case tHID:
		p.next()
		if p.accept('/') {
			n := p.next()
			if n.kind != tNum {
				return nil, q, false
			}
			return mcodeNode{s1: t.text, masklen: n.val, q: q}, q, true
		}
		if p.peek().kind == tNetmask {
			p.next()
			m := p.next()
			if m.kind != tHID {
				return nil, q, false
			}
			return mcodeNode{s1: t.text, s2: m.text, q: q}, q, true
		}
		return ncodeNode{s: t.text, hid: true, q: q}, q, true
	case tHID6:
		p.next()
		if p.accept('/') {
			n := p.next()
			if n.kind != tNum {
				return nil, q, false
			}
			return mcode6Node{t.text, n.val, q}, q, true
		}
		return mcode6Node{t.text, 128, q}, q, true
	case tEID, tAID:
		p.next()
		return ecodeNode{t.text, q, t.kind == tAID}, q, true
	case tNot:
		p.next()
		x, q, ok := p.id(q)
		return notNode{x}, q, ok
	}
	return nil, q, false
}

// pid: nid | qid and id | qid or id, where qid: pnum | pid.
func (p *parser) pid(q qual) (node, bool) {
	var left node
	hasNid := false
	if v, ok := p.pnum(); ok {
		left = ncodeNode{v: v, q: q}
	} else {
		n, _, ok := p.nid(q)
		if !ok {
			return nil, false
		}
		left, hasNid = n, true
	}
	ops := 0
	for k := p.peek().kind; k == tAnd || k == tOr; k = p.peek().kind {
		p.next()
		r, _, ok := p.id(q)
		if !ok {
			return nil, false
		}
		left = boolOp(k, left, r)
		ops++
	}
	return left, hasNid || ops > 0
}

// pnum: NUM | paren pnum ')'.
func (p *parser) pnum() (uint32, bool) {
	save := p.i
	if t := p.peek(); t.kind == tNum {
		p.next()
		return t.val, true
	}
	if p.accept('(') {
		if v, ok := p.pnum(); ok && p.accept(')') {
			return v, true
		}
	}
	p.i = save
	return 0, false
}

// relation: arth relop arth | arth irelop arth.
func (p *parser) relation() (node, bool) {
	a0, ok := p.arth(0)
	if !ok {
		return nil, false
	}
	var code int
	reversed := false
	t := p.next()
	switch {
	case t.kind == tPunct && t.ch == '>':
		code = bpfJGT
	case t.kind == tGEQ:
		code = bpfJGE
	case t.kind == tPunct && t.ch == '=':
		code = bpfJEQ
	case t.kind == tLEQ:
		code, reversed = bpfJGT, true
	case t.kind == tPunct && t.ch == '<':
		code, reversed = bpfJGE, true
	case t.kind == tNEQ:
		code, reversed = bpfJEQ, true
	default:
		return nil, false
	}
	a1, ok := p.arth(0)
	if !ok {
		return nil, false
	}
	return relationNode{code, a0, a1, reversed}, true
}

// Binding powers of grammar.y's %left declarations. '%' and '^' have none:
// bison always shifts them, so they take the operand just before them on
// the left and all that follows on the right.
var arthPrec = map[byte]int{'|': 1, '&': 2, '+': 4, '-': 4, '*': 5, '/': 5}

var arthOps = map[byte]int{
	'+': bpfADD, '-': bpfSUB, '*': bpfMUL, '/': bpfDIV, '%': bpfMOD,
	'&': bpfAND, '|': bpfOR, '^': bpfXOR,
}

func (p *parser) binop() (int, int, bool) {
	t := p.peek()
	switch t.kind {
	case tLSH:
		return bpfLSH, 3, true
	case tRSH:
		return bpfRSH, 3, true
	case tPunct:
		if prec, ok := arthPrec[t.ch]; ok {
			return arthOps[t.ch], prec, true
		}
	}
	return 0, 0, false
}

// arth parses an arithmetic expression whose operators bind at least as
// tightly as minPrec.
func (p *parser) arth(minPrec int) (arthNode, bool) {
	left, ok := p.unary()
	if !ok {
		return nil, false
	}
	for {
		op, prec, ok := p.binop()
		if !ok || prec < minPrec {
			return left, true
		}
		p.next()
		right, ok := p.arth(prec + 1)
		if !ok {
			return nil, false
		}
		left = arithNode{op, left, right}
	}
}

// unary: '-' arth (binding tighter than any binary operator), or a primary
// followed by any '%' or '^' operations.
func (p *parser) unary() (arthNode, bool) {
	if p.accept('-') {
		a, ok := p.unary()
		return negNode{a}, ok
	}
	a, ok := p.primary()
	if !ok {
		return nil, false
	}
	for p.punct('%') || p.punct('^') {
		op := arthOps[p.next().ch]
		r, ok := p.arth(0)
		if !ok {
			return nil, false
		}
		a = arithNode{op, a, r}
	}
	return a, true
}

// primary: pnum | pname '[' arth ']' | pname '[' arth ':' NUM ']' | paren narth ')' | LEN.
func (p *parser) primary() (arthNode, bool) {
	t := p.peek()
	switch {
	case t.kind == tNum:
		p.next()
		return loadINode{t.val}, true
	case t.kind == tLen:
		p.next()
		return loadLenNode{}, true
	case t.kind == tPunct && t.ch == '(':
		p.next()
		a, ok := p.arth(0)
		if !ok || !p.accept(')') {
			return nil, false
		}
		return a, true
	case t.kind == tPname && p.peekAt(1).kind == tPunct && p.peekAt(1).ch == '[':
		p.next()
		p.next()
		idx, ok := p.arth(0)
		if !ok {
			return nil, false
		}
		size := uint32(1)
		if p.accept(':') {
			n := p.next()
			if n.kind != tNum {
				return nil, false
			}
			size = n.val
		}
		if !p.accept(']') {
			return nil, false
		}
		return loadNode{uint8(t.val), idx, size}, true
	}
	return nil, false
}

// other: the primitives that are neither qualified ids nor comparisons.
// pqual, when not qDefault, is the protocol already read before
// broadcast, multicast or an 802.11 keyword.
func (p *parser) other(pqual uint8) (node, qual, bool) {
	t := p.next()
	num := func() (uint32, bool) {
		n := p.next()
		return n.val, n.kind == tNum
	}
	optPnum := func() {
		save := p.i
		if _, ok := p.pnum(); !ok {
			p.i = save
		}
	}
	switch t.kind {
	case tBroadcast:
		return broadcastNode{pqual}, qerr, true
	case tMulticast:
		return multicastNode{pqual}, qerr, true
	case tLess, tGreater:
		n, ok := num()
		return lenNode{t.kind == tGreater, n}, qerr, ok
	case tByte:
		idx, ok := num()
		if !ok {
			return nil, qerr, false
		}
		op := p.next()
		if op.kind != tPunct || !containsByte("&|<>=", op.ch) {
			return nil, qerr, false
		}
		val, ok := num()
		return byteNode{op.ch, idx, val}, qerr, ok
	case tInbound, tOutbound:
		return errNode{"inbound and outbound are not supported on raw IP"}, qerr, true
	case tIfindex:
		_, ok := num()
		return errNode{"ifindex is not supported on raw IP"}, qerr, ok
	case tVlan:
		optPnum()
		return errNode{"no VLAN support for Raw IP"}, qerr, true
	case tMpls:
		optPnum()
		return errNode{"no MPLS support for Raw IP"}, qerr, true
	case tPppoed:
		return errNode{"pppoed is not supported on raw IP"}, qerr, true
	case tPppoes:
		optPnum()
		return errNode{"pppoes is not supported on raw IP"}, qerr, true
	case tGeneve:
		optPnum()
		return errNode{"geneve is not supported on raw IP"}, qerr, true
	case tLlc:
		if k := p.peek().kind; k == tID || (k == tPF && (p.peek().text == "rnr")) {
			p.next()
		}
		return errNode{"'llc' not supported for Raw IP"}, qerr, true
	case tPF:
		if k := p.next().kind; k != tID && k != tNum {
			return nil, qerr, false
		}
		return errNode{"'" + t.text + "' supported only on PF linktype"}, qerr, true
	case tType, tSubtype, tDir:
		p.next()
		if t.kind == tType && p.peek().kind == tSubtype {
			p.next()
			p.next()
		}
		return errNode{"802.11 link-layer types supported only on 802.11"}, qerr, true
	case tOther:
		return errNode{"'" + t.text + "' supported only on ATM and SS7 link types"}, qerr, true
	}
	return nil, qerr, false
}

func containsByte(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}

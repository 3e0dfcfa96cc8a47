package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// ErrRejectsAll is returned for an expression that no packet can match,
// such as "tcp and udp" or "arp" on raw IP; tcpdump refuses those too.
var ErrRejectsAll = errors.New("expression rejects all packets")

// Compile compiles a filter expression for raw IP packets (LINKTYPE_RAW:
// each packet starts at its IPv4 or IPv6 header) into classic BPF, the
// program `tcpdump -dd -y RAW EXPR` prints. The program returns 262144
// for a packet that matches and 0 for one that does not; a load beyond
// the end of the packet also returns 0. An empty expression compiles to
// a program that accepts every packet.
//
// Errors are one line, worded as libpcap words them. Host names are
// resolved with the system's resolver; port and protocol names come from
// /etc/services and /etc/protocols.
func Compile(expr string) ([]bpf.RawInstruction, error) {
	return compile(expr, true, lookupHost)
}

// compile compiles expr, optimized or not as tcpdump -O does, resolving
// host names with lookup.
func compile(expr string, optimizeCode bool, lookup func(string) ([]netip.Addr, error)) (prog []bpf.RawInstruction, err error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	n, err := parse(toks)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			ge, ok := r.(genError)
			if !ok {
				panic(r)
			}
			prog, err = nil, errors.New(ge.msg)
		}
	}()
	c := &compiler{lookup: lookup}
	ic := &icode{}
	if n == nil {
		ic.root = retBlock(snaplenResult)
	} else {
		ic.root = finishParse(c.gen(n))
	}
	if optimizeCode {
		optimize(ic)
		if ic.root == nil || (ic.root.s.code == bpfRET|bpfK && ic.root.s.k == 0) {
			return nil, ErrRejectsAll
		}
	}
	return icodeToFcode(ic), nil
}

// Matcher selects raw IP packets with a compiled filter expression, in
// user space, with the semantics of libpcap's interpreter.
type Matcher struct {
	expr string
	prog []bpf.RawInstruction
}

// NewMatcher compiles expr; see Compile.
func NewMatcher(expr string) (*Matcher, error) {
	prog, err := Compile(expr)
	if err != nil {
		return nil, err
	}
	return &Matcher{expr: expr, prog: prog}, nil
}

// Expr is the expression the matcher was compiled from.
func (m *Matcher) Expr() string { return m.expr }

// Program is the matcher's classic BPF program.
func (m *Matcher) Program() []bpf.RawInstruction { return m.prog }

// Match reports whether a whole packet, starting at its IP header, matches.
func (m *Matcher) Match(pkt []byte) bool { return Run(m.prog, pkt, len(pkt)) != 0 }

// MatchCaptured reports whether a packet matches when only data, its first
// bytes, were captured of the origLen bytes it had: "len" is origLen, and
// a load beyond data fails, as when tcpdump reads a file.
func (m *Matcher) MatchCaptured(data []byte, origLen int) bool {
	return Run(m.prog, data, origLen) != 0
}

// Run runs a classic BPF program on a packet of which data was captured
// and wireLen is the original length, as libpcap's pcap_filter does: a
// load outside data, or a division by zero, ends the program with 0.
// golang.org/x/net/bpf's VM cannot tell the two lengths apart, which a
// capture cut short by its snaplen needs, hence this interpreter.
func Run(prog []bpf.RawInstruction, data []byte, wireLen int) uint32 {
	var a, x uint32
	var mem [memWords]uint32
	buflen := uint32(len(data))
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		k := ins.K
		switch int(ins.Op) {
		case bpfRET | bpfK:
			return k
		case bpfRET | bpfA:
			return a
		case bpfLD | bpfW | bpfABS:
			if k > buflen || 4 > buflen-k {
				return 0
			}
			a = binary.BigEndian.Uint32(data[k:])
		case bpfLD | bpfH | bpfABS:
			if k > buflen || 2 > buflen-k {
				return 0
			}
			a = uint32(binary.BigEndian.Uint16(data[k:]))
		case bpfLD | bpfB | bpfABS:
			if k >= buflen {
				return 0
			}
			a = uint32(data[k])
		case bpfLD | bpfW | bpfLEN:
			a = uint32(wireLen)
		case bpfLDX | bpfW | bpfLEN:
			x = uint32(wireLen)
		case bpfLD | bpfW | bpfIND:
			if k > buflen || x > buflen-k || 4 > buflen-(x+k) {
				return 0
			}
			a = binary.BigEndian.Uint32(data[x+k:])
		case bpfLD | bpfH | bpfIND:
			if x > buflen || k > buflen-x || 2 > buflen-(x+k) {
				return 0
			}
			a = uint32(binary.BigEndian.Uint16(data[x+k:]))
		case bpfLD | bpfB | bpfIND:
			if k >= buflen || x >= buflen-k {
				return 0
			}
			a = uint32(data[x+k])
		case bpfLDX | bpfMSH | bpfB:
			if k >= buflen {
				return 0
			}
			x = uint32(data[k]&0xf) << 2
		case bpfLD | bpfIMM:
			a = k
		case bpfLDX | bpfIMM:
			x = k
		case bpfLD | bpfMEM:
			a = mem[k%memWords]
		case bpfLDX | bpfMEM:
			x = mem[k%memWords]
		case bpfST:
			mem[k%memWords] = a
		case bpfSTX:
			mem[k%memWords] = x
		case bpfJMP | bpfJA:
			pc += int(int32(k))
		case bpfJMP | bpfJGT | bpfK:
			pc += branch(a > k, ins)
		case bpfJMP | bpfJGE | bpfK:
			pc += branch(a >= k, ins)
		case bpfJMP | bpfJEQ | bpfK:
			pc += branch(a == k, ins)
		case bpfJMP | bpfJSET | bpfK:
			pc += branch(a&k != 0, ins)
		case bpfJMP | bpfJGT | bpfX:
			pc += branch(a > x, ins)
		case bpfJMP | bpfJGE | bpfX:
			pc += branch(a >= x, ins)
		case bpfJMP | bpfJEQ | bpfX:
			pc += branch(a == x, ins)
		case bpfJMP | bpfJSET | bpfX:
			pc += branch(a&x != 0, ins)
		case bpfALU | bpfDIV | bpfX, bpfALU | bpfMOD | bpfX:
			if x == 0 {
				return 0
			}
			a = alu(ins.Op, a, x)
		case bpfALU | bpfADD | bpfX, bpfALU | bpfSUB | bpfX, bpfALU | bpfMUL | bpfX,
			bpfALU | bpfAND | bpfX, bpfALU | bpfOR | bpfX, bpfALU | bpfXOR | bpfX,
			bpfALU | bpfLSH | bpfX, bpfALU | bpfRSH | bpfX:
			a = alu(ins.Op, a, x)
		case bpfALU | bpfADD | bpfK, bpfALU | bpfSUB | bpfK, bpfALU | bpfMUL | bpfK,
			bpfALU | bpfDIV | bpfK, bpfALU | bpfMOD | bpfK, bpfALU | bpfAND | bpfK,
			bpfALU | bpfOR | bpfK, bpfALU | bpfXOR | bpfK, bpfALU | bpfLSH | bpfK,
			bpfALU | bpfRSH | bpfK:
			if k == 0 && (bpfOp(int(ins.Op)) == bpfDIV || bpfOp(int(ins.Op)) == bpfMOD) {
				return 0
			}
			a = alu(ins.Op, a, k)
		case bpfALU | bpfNEG:
			a = 0 - a
		case bpfMISC | bpfTAX:
			x = a
		case bpfMISC | bpfTXA:
			a = x
		default:
			panic(fmt.Sprintf("filter: unknown instruction %#x", ins.Op))
		}
	}
	return 0
}

func branch(cond bool, ins bpf.RawInstruction) int {
	if cond {
		return int(ins.Jt)
	}
	return int(ins.Jf)
}

// alu applies an ALU operation; shifts by 32 or more give 0.
func alu(op uint16, a, v uint32) uint32 {
	switch bpfOp(int(op)) {
	case bpfADD:
		return a + v
	case bpfSUB:
		return a - v
	case bpfMUL:
		return a * v
	case bpfDIV:
		return a / v
	case bpfMOD:
		return a % v
	case bpfAND:
		return a & v
	case bpfOR:
		return a | v
	case bpfXOR:
		return a ^ v
	case bpfLSH:
		if v >= 32 {
			return 0
		}
		return a << v
	case bpfRSH:
		if v >= 32 {
			return 0
		}
		return a >> v
	}
	panic(fmt.Sprintf("filter: unknown ALU operation %#x", op))
}

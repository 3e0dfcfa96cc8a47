package filter

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// The code generator is a translation of libpcap's gencode.c (1.10) for
// one link type, DLT_RAW: the packet starts at the IPv4 or IPv6 header,
// and the version nibble tells the two apart. It builds the same
// control-flow graph of blocks as libpcap, so that the optimizer (a
// translation of optimize.c) and the conversion to instructions produce
// the same program as `tcpdump -d -y RAW`.

// Address qualifiers.
const (
	qHost       = 1
	qNet        = 2
	qPort       = 3
	qGateway    = 4
	qProto      = 5
	qProtochain = 6
	qPortrange  = 7
)

// Protocol qualifiers.
const (
	qLink      = 1
	qIP        = 2
	qARP       = 3
	qRARP      = 4
	qSCTP      = 5
	qTCP       = 6
	qUDP       = 7
	qICMP      = 8
	qIGMP      = 9
	qIGRP      = 10
	qAtalk     = 11
	qDecnet    = 12
	qLAT       = 13
	qSCA       = 14
	qMOPRC     = 15
	qMOPDL     = 16
	qIPv6      = 17
	qICMPv6    = 18
	qAH        = 19
	qESP       = 20
	qPIM       = 21
	qVRRP      = 22
	qAARP      = 23
	qISO       = 24
	qESIS      = 25
	qISIS      = 26
	qCLNP      = 27
	qSTP       = 28
	qIPX       = 29
	qNetbeui   = 30
	qISISL1    = 31
	qISISL2    = 32
	qISISIIH   = 33
	qISISSNP   = 34
	qISISCSNP  = 35
	qISISPSNP  = 36
	qISISLSP   = 37
	qRadio     = 38
	qCARP      = 39
	qDefault   = 0
	qUndef     = 255
	protoUndef = -1
)

// Direction qualifiers.
const (
	qSrc   = 1
	qDst   = 2
	qOr    = 3
	qAnd   = 4
	qAddr1 = 5
	qAddr2 = 6
	qAddr3 = 7
	qAddr4 = 8
	qRA    = 9
	qTA    = 10
)

// Protocol numbers and EtherTypes used by the generator.
const (
	ipprotoHopopts  = 0
	ipprotoICMP     = 1
	ipprotoIGMP     = 2
	ipprotoTCP      = 6
	ipprotoIGRP     = 9
	ipprotoUDP      = 17
	ipprotoRouting  = 43
	ipprotoFragment = 44
	ipprotoESP      = 50
	ipprotoAH       = 51
	ipprotoICMPv6   = 58
	ipprotoDstopts  = 60
	ipprotoPIM      = 103
	ipprotoVRRP     = 112
	ipprotoCARP     = 112
	ipprotoSCTP     = 132

	ethertypeIP       = 0x0800
	ethertypeARP      = 0x0806
	ethertypeREVARP   = 0x8035
	ethertypeIPv6     = 0x86dd
	ethertypeAtalk    = 0x809b
	ethertypeAARP     = 0x80f3
	ethertypeDN       = 0x6003
	ethertypeSCA      = 0x6007
	ethertypeLAT      = 0x6004
	ethertypeMOPDL    = 0x6001
	ethertypeMOPRC    = 0x6002
	ethertypeLoopback = 0x9000

	llcsapISONS   = 0xfe
	llcsap8021D   = 0x42
	llcsapIPX     = 0xe0
	llcsapNetbeui = 0xf0

	iso8473CLNP   = 0x81
	iso9542ESIS   = 0x82
	iso10589ISIS  = 0x83
	isisL1LanIIH  = 15
	isisL2LanIIH  = 16
	isisPtpIIH    = 17
	isisL1LSP     = 18
	isisL2LSP     = 20
	isisL1CSNP    = 24
	isisL2CSNP    = 25
	isisL1PSNP    = 26
	isisL2PSNP    = 27
	snaplenResult = 262144 // what a match returns, as tcpdump's default snaplen
)

// Offsets relative to which a load is made.
const (
	orPacket = iota
	orLinkhdr
	orLinkpl
	orLinkplNosnap
	orTranIPv4
	orTranIPv6
)

type stmt struct {
	code int // nop (-1) once the optimizer deleted it
	k    uint32
}

const nop = -1

type slist struct {
	s    stmt
	next *slist
}

type edge struct {
	id   int
	code int
	edom []uint32
	succ *block
	pred *block
	next *edge
}

type block struct {
	id             int
	stmts          *slist
	s              stmt
	mark           int
	longjt, longjf int
	level          int
	offset         int
	sense          bool
	et, ef         edge
	head           *block
	link           *block
	dom            []uint32
	inEdges        *edge
	def, kill      uint32
	inUse, outUse  uint32
	oval           uint32
	val            [nAtoms]uint32
}

func jt(b *block) *block { return b.et.succ }
func jf(b *block) *block { return b.ef.succ }

type arth struct {
	b     *block
	s     *slist
	regno int
}

// genError stops code generation with an error; compile recovers it.
type genError struct{ msg string }

func fail(format string, args ...any) {
	panic(genError{fmt.Sprintf(format, args...)})
}

// compiler holds the state of one compilation.
type compiler struct {
	regused [memWords]bool
	curreg  int
	netmask uint32
	lookup  func(name string) ([]netip.Addr, error)
}

func newBlock(code int) *block {
	b := &block{s: stmt{code: code}}
	b.head = b
	return b
}

func newStmt(code int) *slist { return &slist{s: stmt{code: code}} }

func newStmtK(code int, k uint32) *slist { return &slist{s: stmt{code: code, k: k}} }

func retBlock(v uint32) *block {
	b := newBlock(bpfRET | bpfK)
	b.s.k = v
	return b
}

// backpatch points the unresolved branches of list at target. The sense
// field says which of jt and jf is the link to the next unresolved block.
func backpatch(list, target *block) {
	for list != nil {
		var next *block
		if !list.sense {
			next = list.et.succ
			list.et.succ = target
		} else {
			next = list.ef.succ
			list.ef.succ = target
		}
		list = next
	}
}

func merge(b0, b1 *block) {
	p := &b0
	for *p != nil {
		if !(*p).sense {
			p = &(*p).et.succ
		} else {
			p = &(*p).ef.succ
		}
	}
	*p = b1
}

func genAnd(b0, b1 *block) {
	backpatch(b0, b1.head)
	b0.sense = !b0.sense
	b1.sense = !b1.sense
	merge(b1, b0)
	b1.sense = !b1.sense
	b1.head = b0.head
}

func genOr(b0, b1 *block) {
	b0.sense = !b0.sense
	backpatch(b0, b1.head)
	b0.sense = !b0.sense
	merge(b1, b0)
	b1.head = b0.head
}

func genNot(b *block) { b.sense = !b.sense }

func sappend(s0, s1 *slist) {
	for s0.next != nil {
		s0 = s0.next
	}
	s0.next = s1
}

func (c *compiler) cmp(offrel, offset, size int, v uint32) *block {
	return c.ncmp(offrel, offset, size, 0xffffffff, bpfJEQ, false, v)
}

func (c *compiler) cmpGT(offrel, offset, size int, v uint32) *block {
	return c.ncmp(offrel, offset, size, 0xffffffff, bpfJGT, false, v)
}

func (c *compiler) cmpGE(offrel, offset, size int, v uint32) *block {
	return c.ncmp(offrel, offset, size, 0xffffffff, bpfJGE, false, v)
}

func (c *compiler) cmpLT(offrel, offset, size int, v uint32) *block {
	return c.ncmp(offrel, offset, size, 0xffffffff, bpfJGE, true, v)
}

func (c *compiler) cmpLE(offrel, offset, size int, v uint32) *block {
	return c.ncmp(offrel, offset, size, 0xffffffff, bpfJGT, true, v)
}

func (c *compiler) mcmp(offrel, offset, size int, v, mask uint32) *block {
	return c.ncmp(offrel, offset, size, mask, bpfJEQ, false, v)
}

func (c *compiler) ncmp(offrel, offset, size int, mask uint32, jtype int, reverse bool, v uint32) *block {
	s := c.loadA(offrel, offset, size)
	if mask != 0xffffffff {
		sappend(s, newStmtK(bpfALU|bpfAND|bpfK, mask))
	}
	b := newBlock(jmpK(jtype))
	b.stmts = s
	b.s.k = v
	if reverse && (jtype == bpfJGT || jtype == bpfJGE) {
		genNot(b)
	}
	return b
}

// loadA loads a value relative to a header. For raw IP every header
// starts at a constant offset but the transport header of IPv4.
func (c *compiler) loadA(offrel, offset, size int) *slist {
	switch offrel {
	case orTranIPv4:
		s := c.loadxIPHdrLen()
		sappend(s, newStmtK(bpfLD|bpfIND|size, uint32(offset)))
		return s
	case orTranIPv6:
		return newStmtK(bpfLD|bpfABS|size, uint32(40+offset))
	}
	return newStmtK(bpfLD|bpfABS|size, uint32(offset))
}

func (c *compiler) loadxIPHdrLen() *slist {
	return newStmtK(bpfLDX|bpfMSH|bpfB, 0)
}

func uncond(rsense bool) *block {
	k := uint32(1)
	if rsense {
		k = 0
	}
	s := newStmtK(bpfLD|bpfIMM, k)
	b := newBlock(jmpK(bpfJEQ))
	b.stmts = s
	return b
}

func genFalse() *block { return uncond(false) }

// linktype tests the network protocol: the IP version for IPv4 and IPv6;
// raw IP carries nothing else.
func (c *compiler) linktype(llProto uint32) *block {
	switch llProto {
	case ethertypeIP:
		return c.mcmp(orLinkhdr, 0, bpfB, 0x40, 0xf0)
	case ethertypeIPv6:
		return c.mcmp(orLinkhdr, 0, bpfB, 0x60, 0xf0)
	}
	return genFalse()
}

func (c *compiler) hostop(addr, mask uint32, dir int, llProto uint32, srcOff, dstOff int) *block {
	var offset int
	switch dir {
	case qSrc:
		offset = srcOff
	case qDst:
		offset = dstOff
	case qAnd:
		b0 := c.hostop(addr, mask, qSrc, llProto, srcOff, dstOff)
		b1 := c.hostop(addr, mask, qDst, llProto, srcOff, dstOff)
		genAnd(b0, b1)
		return b1
	case qDefault, qOr:
		b0 := c.hostop(addr, mask, qSrc, llProto, srcOff, dstOff)
		b1 := c.hostop(addr, mask, qDst, llProto, srcOff, dstOff)
		genOr(b0, b1)
		return b1
	default:
		failDirQual(dir, "addresses other than 802.11 MAC addresses")
	}
	b0 := c.linktype(llProto)
	b1 := c.mcmp(orLinkpl, offset, bpfW, addr, mask)
	genAnd(b0, b1)
	return b1
}

func failDirQual(dir int, what string) {
	switch dir {
	case qAddr1, qAddr2, qAddr3, qAddr4:
		n := dir - qAddr1 + 1
		fail("'addr%d' and 'address%d' are not valid qualifiers for %s", n, n, what)
	case qRA:
		fail("'ra' is not a valid qualifier for %s", what)
	case qTA:
		fail("'ta' is not a valid qualifier for %s", what)
	}
	fail("bad direction qualifier %d", dir)
}

func (c *compiler) hostop6(addr, mask [16]byte, dir int, llProto uint32, srcOff, dstOff int) *block {
	var offset int
	switch dir {
	case qSrc:
		offset = srcOff
	case qDst:
		offset = dstOff
	case qAnd:
		b0 := c.hostop6(addr, mask, qSrc, llProto, srcOff, dstOff)
		b1 := c.hostop6(addr, mask, qDst, llProto, srcOff, dstOff)
		genAnd(b0, b1)
		return b1
	case qDefault, qOr:
		b0 := c.hostop6(addr, mask, qSrc, llProto, srcOff, dstOff)
		b1 := c.hostop6(addr, mask, qDst, llProto, srcOff, dstOff)
		genOr(b0, b1)
		return b1
	default:
		failDirQual(dir, "addresses other than 802.11 MAC addresses")
	}
	word := func(b [16]byte, i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	// this order is important
	b1 := c.mcmp(orLinkpl, offset+12, bpfW, word(addr, 3), word(mask, 3))
	b0 := c.mcmp(orLinkpl, offset+8, bpfW, word(addr, 2), word(mask, 2))
	genAnd(b0, b1)
	b0 = c.mcmp(orLinkpl, offset+4, bpfW, word(addr, 1), word(mask, 1))
	genAnd(b0, b1)
	b0 = c.mcmp(orLinkpl, offset+0, bpfW, word(addr, 0), word(mask, 0))
	genAnd(b0, b1)
	b0 = c.linktype(llProto)
	genAnd(b0, b1)
	return b1
}

// protoNames are the names libpcap uses in "'X' modifier applied to ..." messages.
var protoNames = map[int]string{
	qSCTP: "sctp", qTCP: "tcp", qUDP: "udp", qICMP: "icmp", qIGMP: "igmp", qIGRP: "igrp",
	qICMPv6: "icmp6", qAH: "ah", qESP: "esp", qPIM: "pim", qVRRP: "vrrp", qESIS: "esis",
	qISIS: "isis", qCLNP: "clnp", qSTP: "stp", qNetbeui: "netbeui", qISISL1: "l1", qISISL2: "l2",
	qISISIIH: "iih", qISISSNP: "snp", qISISCSNP: "csnp", qISISPSNP: "psnp", qISISLSP: "lsp",
	qRadio: "radio", qCARP: "carp", qIP: "ip", qRARP: "rarp", qARP: "arp", qAtalk: "atalk",
	qDecnet: "decnet", qLAT: "lat", qSCA: "sca", qMOPRC: "moprc", qMOPDL: "mopdl", qIPv6: "ip6",
	qAARP: "aarp", qISO: "iso", qIPX: "ipx", qLink: "link",
}

func (c *compiler) host(addr, mask uint32, proto, dir, typ int) *block {
	typestr := "host"
	if typ == qNet {
		typestr = "net"
	}
	switch proto {
	case qDefault:
		b0 := c.host(addr, mask, qIP, dir, typ)
		b1 := c.host(addr, mask, qARP, dir, typ)
		genOr(b0, b1)
		b0 = c.host(addr, mask, qRARP, dir, typ)
		genOr(b1, b0)
		return b0
	case qLink:
		fail("link-layer modifier applied to %s", typestr)
	case qIP:
		return c.hostop(addr, mask, dir, ethertypeIP, 12, 16)
	case qRARP:
		return c.hostop(addr, mask, dir, ethertypeREVARP, 14, 24)
	case qARP:
		return c.hostop(addr, mask, dir, ethertypeARP, 14, 24)
	case qAtalk:
		fail("AppleTalk host filtering not implemented")
	case qDecnet:
		fail("DECnet host filtering is not supported on raw IP")
	case qLAT, qSCA, qMOPRC, qMOPDL, qAARP, qISO, qIPX:
		fail("%s host filtering not implemented", map[int]string{qLAT: "LAT", qSCA: "SCA",
			qMOPRC: "MOPRC", qMOPDL: "MOPDL", qAARP: "AARP", qISO: "ISO", qIPX: "IPX"}[proto])
	case qIPv6:
		fail("'ip6' modifier applied to ip host")
	}
	fail("'%s' modifier applied to %s", protoNames[proto], typestr)
	return nil
}

func (c *compiler) host6(addr, mask [16]byte, proto, dir, typ int) *block {
	typestr := "host"
	if typ == qNet {
		typestr = "net"
	}
	switch proto {
	case qDefault:
		return c.host6(addr, mask, qIPv6, dir, typ)
	case qLink:
		fail("link-layer modifier applied to ip6 %s", typestr)
	case qIPv6:
		return c.hostop6(addr, mask, dir, ethertypeIPv6, 8, 24)
	case qAtalk:
		fail("AppleTalk modifier applied to ip6 %s", typestr)
	}
	fail("'%s' modifier applied to ip6 %s", protoNames[proto], typestr)
	return nil
}

func (c *compiler) protoAbbrev(proto int) *block {
	var b0, b1 *block
	switch proto {
	case qSCTP:
		b1 = c.proto(ipprotoSCTP, qDefault, qDefault)
	case qTCP:
		b1 = c.proto(ipprotoTCP, qDefault, qDefault)
	case qUDP:
		b1 = c.proto(ipprotoUDP, qDefault, qDefault)
	case qICMP:
		b1 = c.proto(ipprotoICMP, qIP, qDefault)
	case qIGMP:
		b1 = c.proto(ipprotoIGMP, qIP, qDefault)
	case qIGRP:
		b1 = c.proto(ipprotoIGRP, qIP, qDefault)
	case qPIM:
		b1 = c.proto(ipprotoPIM, qDefault, qDefault)
	case qVRRP:
		b1 = c.proto(ipprotoVRRP, qIP, qDefault)
	case qCARP:
		b1 = c.proto(ipprotoCARP, qIP, qDefault)
	case qIP:
		b1 = c.linktype(ethertypeIP)
	case qARP:
		b1 = c.linktype(ethertypeARP)
	case qRARP:
		b1 = c.linktype(ethertypeREVARP)
	case qLink:
		fail("link layer applied in wrong context")
	case qAtalk:
		b1 = c.linktype(ethertypeAtalk)
	case qAARP:
		b1 = c.linktype(ethertypeAARP)
	case qDecnet:
		b1 = c.linktype(ethertypeDN)
	case qSCA:
		b1 = c.linktype(ethertypeSCA)
	case qLAT:
		b1 = c.linktype(ethertypeLAT)
	case qMOPDL:
		b1 = c.linktype(ethertypeMOPDL)
	case qMOPRC:
		b1 = c.linktype(ethertypeMOPRC)
	case qIPv6:
		b1 = c.linktype(ethertypeIPv6)
	case qICMPv6:
		b1 = c.proto(ipprotoICMPv6, qIPv6, qDefault)
	case qAH:
		b1 = c.proto(ipprotoAH, qDefault, qDefault)
	case qESP:
		b1 = c.proto(ipprotoESP, qDefault, qDefault)
	case qISO:
		b1 = c.linktype(llcsapISONS)
	case qESIS:
		b1 = c.proto(iso9542ESIS, qISO, qDefault)
	case qISIS:
		b1 = c.proto(iso10589ISIS, qISO, qDefault)
	case qISISL1, qISISL2:
		lan, lsp, csnp, psnp := uint32(isisL1LanIIH), uint32(isisL1LSP), uint32(isisL1CSNP), uint32(isisL1PSNP)
		if proto == qISISL2 {
			lan, lsp, csnp, psnp = isisL2LanIIH, isisL2LSP, isisL2CSNP, isisL2PSNP
		}
		b0 = c.proto(lan, qISIS, qDefault)
		b1 = c.proto(isisPtpIIH, qISIS, qDefault)
		genOr(b0, b1)
		b0 = c.proto(lsp, qISIS, qDefault)
		genOr(b0, b1)
		b0 = c.proto(csnp, qISIS, qDefault)
		genOr(b0, b1)
		b0 = c.proto(psnp, qISIS, qDefault)
		genOr(b0, b1)
	case qISISIIH:
		b0 = c.proto(isisL1LanIIH, qISIS, qDefault)
		b1 = c.proto(isisL2LanIIH, qISIS, qDefault)
		genOr(b0, b1)
		b0 = c.proto(isisPtpIIH, qISIS, qDefault)
		genOr(b0, b1)
	case qISISLSP:
		b0 = c.proto(isisL1LSP, qISIS, qDefault)
		b1 = c.proto(isisL2LSP, qISIS, qDefault)
		genOr(b0, b1)
	case qISISSNP:
		b0 = c.proto(isisL1CSNP, qISIS, qDefault)
		b1 = c.proto(isisL2CSNP, qISIS, qDefault)
		genOr(b0, b1)
		b0 = c.proto(isisL1PSNP, qISIS, qDefault)
		genOr(b0, b1)
		b0 = c.proto(isisL2PSNP, qISIS, qDefault)
		genOr(b0, b1)
	case qISISCSNP:
		b0 = c.proto(isisL1CSNP, qISIS, qDefault)
		b1 = c.proto(isisL2CSNP, qISIS, qDefault)
		genOr(b0, b1)
	case qISISPSNP:
		b0 = c.proto(isisL1PSNP, qISIS, qDefault)
		b1 = c.proto(isisL2PSNP, qISIS, qDefault)
		genOr(b0, b1)
	case qCLNP:
		b1 = c.proto(iso8473CLNP, qISO, qDefault)
	case qSTP:
		b1 = c.linktype(llcsap8021D)
	case qIPX:
		b1 = c.linktype(llcsapIPX)
	case qNetbeui:
		b1 = c.linktype(llcsapNetbeui)
	case qRadio:
		fail("'radio' is not a valid protocol type")
	default:
		fail("unknown protocol %d", proto)
	}
	return b1
}

// ipfrag: not an IPv4 fragment other than the first.
func (c *compiler) ipfrag() *block {
	s := c.loadA(orLinkpl, 6, bpfH)
	b := newBlock(jmpK(bpfJSET))
	b.s.k = 0x1fff
	b.stmts = s
	genNot(b)
	return b
}

// portDirs builds the source/destination test of a port or port range
// from atom(offset): offset 0 is the source port, 2 the destination.
func portDirs(dir int, what string, atom func(off int) *block) *block {
	switch dir {
	case qSrc:
		return atom(0)
	case qDst:
		return atom(2)
	case qAnd:
		tmp := atom(0)
		b1 := atom(2)
		genAnd(tmp, b1)
		return b1
	case qDefault, qOr:
		tmp := atom(0)
		b1 := atom(2)
		genOr(tmp, b1)
		return b1
	}
	failDirQual(dir, what)
	return nil
}

func (c *compiler) portop(port uint32, proto uint32, dir int) *block {
	tmp := c.cmp(orLinkpl, 9, bpfB, proto)
	b0 := c.ipfrag()
	genAnd(tmp, b0)
	b1 := portDirs(dir, "ports", func(off int) *block { return c.cmp(orTranIPv4, off, bpfH, port) })
	genAnd(b0, b1)
	return b1
}

func (c *compiler) port(port uint32, ipProto int, dir int) *block {
	b0 := c.linktype(ethertypeIP)
	var b1 *block
	switch ipProto {
	case ipprotoUDP, ipprotoTCP, ipprotoSCTP:
		b1 = c.portop(port, uint32(ipProto), dir)
	case protoUndef:
		tmp := c.portop(port, ipprotoTCP, dir)
		b1 = c.portop(port, ipprotoUDP, dir)
		genOr(tmp, b1)
		tmp = c.portop(port, ipprotoSCTP, dir)
		genOr(tmp, b1)
	}
	genAnd(b0, b1)
	return b1
}

func (c *compiler) portop6(port uint32, proto uint32, dir int) *block {
	b0 := c.cmp(orLinkpl, 6, bpfB, proto)
	b1 := portDirs(dir, "ports", func(off int) *block { return c.cmp(orTranIPv6, off, bpfH, port) })
	genAnd(b0, b1)
	return b1
}

func (c *compiler) port6(port uint32, ipProto int, dir int) *block {
	b0 := c.linktype(ethertypeIPv6)
	var b1 *block
	switch ipProto {
	case ipprotoUDP, ipprotoTCP, ipprotoSCTP:
		b1 = c.portop6(port, uint32(ipProto), dir)
	case protoUndef:
		tmp := c.portop6(port, ipprotoTCP, dir)
		b1 = c.portop6(port, ipprotoUDP, dir)
		genOr(tmp, b1)
		tmp = c.portop6(port, ipprotoSCTP, dir)
		genOr(tmp, b1)
	}
	genAnd(b0, b1)
	return b1
}

func (c *compiler) portrangeAtom(offrel, off int, v1, v2 uint32) *block {
	if v1 > v2 {
		v1, v2 = v2, v1
	}
	b1 := c.cmpGE(offrel, off, bpfH, v1)
	b2 := c.cmpLE(offrel, off, bpfH, v2)
	genAnd(b1, b2)
	return b2
}

func (c *compiler) portrangeop(port1, port2, proto uint32, dir int) *block {
	tmp := c.cmp(orLinkpl, 9, bpfB, proto)
	b0 := c.ipfrag()
	genAnd(tmp, b0)
	b1 := portDirs(dir, "port ranges", func(off int) *block { return c.portrangeAtom(orTranIPv4, off, port1, port2) })
	genAnd(b0, b1)
	return b1
}

func (c *compiler) portrange(port1, port2 uint32, ipProto int, dir int) *block {
	b0 := c.linktype(ethertypeIP)
	var b1 *block
	switch ipProto {
	case ipprotoUDP, ipprotoTCP, ipprotoSCTP:
		b1 = c.portrangeop(port1, port2, uint32(ipProto), dir)
	case protoUndef:
		tmp := c.portrangeop(port1, port2, ipprotoTCP, dir)
		b1 = c.portrangeop(port1, port2, ipprotoUDP, dir)
		genOr(tmp, b1)
		tmp = c.portrangeop(port1, port2, ipprotoSCTP, dir)
		genOr(tmp, b1)
	}
	genAnd(b0, b1)
	return b1
}

func (c *compiler) portrangeop6(port1, port2, proto uint32, dir int) *block {
	b0 := c.cmp(orLinkpl, 6, bpfB, proto)
	b1 := portDirs(dir, "port ranges", func(off int) *block { return c.portrangeAtom(orTranIPv6, off, port1, port2) })
	genAnd(b0, b1)
	return b1
}

func (c *compiler) portrange6(port1, port2 uint32, ipProto int, dir int) *block {
	b0 := c.linktype(ethertypeIPv6)
	var b1 *block
	switch ipProto {
	case ipprotoUDP, ipprotoTCP, ipprotoSCTP:
		b1 = c.portrangeop6(port1, port2, uint32(ipProto), dir)
	case protoUndef:
		tmp := c.portrangeop6(port1, port2, ipprotoTCP, dir)
		b1 = c.portrangeop6(port1, port2, ipprotoUDP, dir)
		genOr(tmp, b1)
		tmp = c.portrangeop6(port1, port2, ipprotoSCTP, dir)
		genOr(tmp, b1)
	}
	genAnd(b0, b1)
	return b1
}

// etherProtoNames are the names "ether proto \NAME" takes, with libpcap's
// values: its EtherTypes and LLC SAPs.
var etherProtoNames = map[string]int{
	"aarp": ethertypeAARP, "arp": ethertypeARP, "atalk": ethertypeAtalk, "decnet": ethertypeDN,
	"ip": ethertypeIP, "ip6": ethertypeIPv6, "lat": ethertypeLAT, "loopback": ethertypeLoopback,
	"mopdl": ethertypeMOPDL, "moprc": ethertypeMOPRC, "rarp": ethertypeREVARP, "sca": ethertypeSCA,
	"iso": llcsapISONS, "stp": llcsap8021D, "ipx": llcsapIPX, "netbeui": llcsapNetbeui,
}

func lookupProto(name string, proto int) int {
	switch proto {
	case qDefault, qIP, qIPv6:
		v, ok := protocolNumber(name)
		if !ok {
			fail("unknown ip proto '%s'", name)
		}
		return v
	case qLink:
		// libpcap looks the name up among the EtherTypes it knows, then
		// among the LLC SAPs (pcap_nametoeproto, pcap_nametollc). On raw
		// IP only ip and ip6 can match; the others reject every packet.
		if v, ok := etherProtoNames[name]; ok {
			return v
		}
		fail("unknown ether proto '%s'", name)
	case qISO:
		switch name {
		case "esis":
			return iso9542ESIS
		case "isis":
			return iso10589ISIS
		case "clnp":
			return iso8473CLNP
		}
		fail("unknown osi proto '%s'", name)
	}
	return protoUndef
}

func (c *compiler) proto(v uint32, proto, dir int) *block {
	if dir != qDefault {
		fail("direction applied to 'proto'")
	}
	switch proto {
	case qDefault:
		b0 := c.proto(v, qIP, dir)
		b1 := c.proto(v, qIPv6, dir)
		genOr(b0, b1)
		return b1
	case qLink:
		return c.linktype(v)
	case qIP:
		b0 := c.linktype(ethertypeIP)
		b1 := c.cmp(orLinkpl, 9, bpfB, v)
		genAnd(b0, b1)
		return b1
	case qARP, qRARP, qLAT, qSCA, qMOPRC, qMOPDL:
		fail("%s does not encapsulate another protocol", map[int]string{qARP: "arp", qRARP: "rarp",
			qLAT: "LAT", qSCA: "SCA", qMOPRC: "MOPRC", qMOPDL: "MOPDL"}[proto])
	case qAtalk:
		fail("AppleTalk encapsulation is not specifiable")
	case qDecnet:
		fail("DECNET encapsulation is not specifiable")
	case qIPv6:
		b0 := c.linktype(ethertypeIPv6)
		// Also check for a fragment header before the final header.
		b2 := c.cmp(orLinkpl, 6, bpfB, ipprotoFragment)
		b1 := c.cmp(orLinkpl, 40, bpfB, v)
		genAnd(b2, b1)
		b2 = c.cmp(orLinkpl, 6, bpfB, v)
		genOr(b2, b1)
		genAnd(b0, b1)
		return b1
	case qISO:
		b0 := c.linktype(llcsapISONS)
		b1 := c.cmp(orLinkplNosnap, 0, bpfB, v)
		genAnd(b0, b1)
		return b1
	case qISIS:
		b0 := c.proto(iso10589ISIS, qISO, qDefault)
		b1 := c.cmp(orLinkplNosnap, 4, bpfB, v)
		genAnd(b0, b1)
		return b1
	case qCLNP:
		fail("'clnp proto' is not supported")
	}
	fail("'%s proto' is bogus", protoNames[proto])
	return nil
}

func (c *compiler) scode(name string, q qual) *block {
	proto, dir := int(q.proto), int(q.dir)
	switch q.addr {
	case qNet:
		fail("unknown network '%s'", name)
	case qDefault, qHost:
		switch proto {
		case qLink:
			fail("only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel supports link-level host name")
		case qDecnet:
			fail("decnet name support not included, '%s' cannot be translated", name)
		}
		addrs, err := c.lookup(name)
		if err != nil || len(addrs) == 0 {
			fail("unknown host '%s'", name)
		}
		// Raw IP has no link-layer type field, so an unqualified
		// name means IPv4 or IPv6 only (no ARP).
		tproto, tproto6 := proto, proto
		if proto == qDefault {
			tproto, tproto6 = qIP, qIPv6
		}
		var b *block
		for _, a := range addrs {
			var tmp *block
			if a.Is4() || a.Is4In6() {
				if tproto == qIPv6 {
					continue
				}
				tmp = c.host(binary.BigEndian.Uint32(a.Unmap().AsSlice()), 0xffffffff, tproto, dir, int(q.addr))
			} else {
				if tproto6 == qIP {
					continue
				}
				var all [16]byte
				for i := range all {
					all[i] = 0xff
				}
				tmp = c.host6(a.As16(), all, tproto6, dir, int(q.addr))
			}
			if b != nil {
				genOr(b, tmp)
			}
			b = tmp
		}
		if b == nil {
			suffix := ""
			if proto != qDefault {
				suffix = " for specified address family"
			}
			fail("unknown host '%s'%s", name, suffix)
		}
		return b
	case qPort:
		if proto != qDefault && proto != qUDP && proto != qTCP && proto != qSCTP {
			fail("illegal qualifier of 'port'")
		}
		port, realProto, ok := serviceLookup(name)
		if !ok {
			fail("unknown port '%s'", name)
		}
		realProto = checkPortProto(proto, realProto, "port '"+name+"'")
		if port > 65535 {
			fail("illegal port number %d > 65535", port)
		}
		b := c.port(uint32(port), realProto, dir)
		genOr(c.port6(uint32(port), realProto, dir), b)
		return b
	case qPortrange:
		if proto != qDefault && proto != qUDP && proto != qTCP && proto != qSCTP {
			fail("illegal qualifier of 'portrange'")
		}
		port1, port2, realProto, ok := portrangeLookup(name)
		if !ok {
			fail("unknown port in range '%s'", name)
		}
		realProto = checkPortProto(proto, realProto, "port in range '"+name+"'")
		for _, p := range []int{port1, port2} {
			if p < 0 {
				fail("illegal port number %d < 0", p)
			}
			if p > 65535 {
				fail("illegal port number %d > 65535", p)
			}
		}
		b := c.portrange(uint32(port1), uint32(port2), realProto, dir)
		genOr(c.portrange6(uint32(port1), uint32(port2), realProto, dir), b)
		return b
	case qGateway:
		fail("'gateway' not supported in this configuration")
	case qProto:
		realProto := lookupProto(name, proto)
		if realProto < 0 {
			fail("unknown protocol: %s", name)
		}
		return c.proto(uint32(realProto), proto, dir)
	case qProtochain:
		fail("'protochain' is not supported: it needs backward jumps, which the kernel refuses")
	}
	panic(genError{errSyntax.Error()})
}

// checkPortProto checks a port's transport protocol against the qualifier,
// as gen_scode does.
func checkPortProto(proto, realProto int, what string) int {
	name := map[int]string{ipprotoTCP: "tcp", ipprotoUDP: "udp", ipprotoSCTP: "sctp"}
	want := map[int]int{qUDP: ipprotoUDP, qTCP: ipprotoTCP, qSCTP: ipprotoSCTP}[proto]
	if want == 0 {
		return realProto
	}
	if realProto != protoUndef && realProto != want {
		fail("%s is %s", what, name[realProto])
	}
	return want
}

// atoin is __pcap_atoin: a dotted IPv4 address or prefix of one, and its
// length in bits; -1 when a part is above 255.
func atoin(s string) (uint32, int) {
	var addr uint32
	length := 0
	i := 0
	for {
		n := uint32(0)
		for i < len(s) && s[i] != '.' {
			if n > 25 {
				return 0, -1
			}
			n = n*10 + uint32(s[i]-'0')
			i++
		}
		if n > 255 {
			return 0, -1
		}
		addr = addr<<8 | n&0xff
		length += 8
		if i >= len(s) {
			return addr, length
		}
		i++
	}
}

func shl(v uint32, n int) uint32 {
	if n >= 32 {
		return 0
	}
	return v << uint(n)
}

func (c *compiler) mcode(s1, s2 string, masklen uint32, q qual) *block {
	n, nlen := atoin(s1)
	if nlen < 0 {
		fail("invalid IPv4 address '%s'", s1)
	}
	n = shl(n, 32-nlen)
	var m uint32
	if s2 != "" {
		var mlen int
		m, mlen = atoin(s2)
		if mlen < 0 {
			fail("invalid IPv4 address '%s'", s2)
		}
		m = shl(m, 32-mlen)
		if n&^m != 0 {
			fail("non-network bits set in \"%s mask %s\"", s1, s2)
		}
	} else {
		if masklen > 32 {
			fail("mask length must be <= 32")
		}
		if masklen != 0 {
			m = 0xffffffff << (32 - masklen)
		}
		if n&^m != 0 {
			fail("non-network bits set in \"%s/%d\"", s1, masklen)
		}
	}
	if q.addr != qNet {
		fail("Mask syntax for networks only")
	}
	return c.host(n, m, int(q.proto), int(q.dir), int(q.addr))
}

func (c *compiler) ncode(s string, hasS bool, v uint32, q qual) *block {
	proto, dir := int(q.proto), int(q.dir)
	vlen := 32
	if hasS {
		if proto == qDecnet {
			fail("DECnet addresses are not supported on raw IP")
		}
		v, vlen = atoin(s)
		if vlen < 0 {
			fail("invalid IPv4 address '%s'", s)
		}
	}
	switch q.addr {
	case qDefault, qHost, qNet:
		switch proto {
		case qDecnet:
			fail("DECnet addresses are not supported on raw IP")
		case qLink:
			fail("illegal link layer address")
		}
		mask := uint32(0xffffffff)
		if !hasS && q.addr == qNet {
			// Promote short net number.
			for v != 0 && v&0xff000000 == 0 {
				v <<= 8
				mask <<= 8
			}
		} else {
			// Promote short ipaddr.
			v = shl(v, 32-vlen)
			mask = shl(mask, 32-vlen)
		}
		return c.host(v, mask, proto, dir, int(q.addr))
	case qPort, qPortrange:
		what := "port"
		if q.addr == qPortrange {
			what = "portrange"
		}
		var ipProto int
		switch proto {
		case qUDP:
			ipProto = ipprotoUDP
		case qTCP:
			ipProto = ipprotoTCP
		case qSCTP:
			ipProto = ipprotoSCTP
		case qDefault:
			ipProto = protoUndef
		default:
			fail("illegal qualifier of '%s'", what)
		}
		if v > 65535 {
			fail("illegal port number %d > 65535", v)
		}
		if q.addr == qPort {
			b := c.port(v, ipProto, dir)
			genOr(c.port6(v, ipProto, dir), b)
			return b
		}
		b := c.portrange(v, v, ipProto, dir)
		genOr(c.portrange6(v, v, ipProto, dir), b)
		return b
	case qGateway:
		fail("'gateway' requires a name")
	case qProto:
		return c.proto(v, proto, dir)
	case qProtochain:
		fail("'protochain' is not supported: it needs backward jumps, which the kernel refuses")
	}
	panic(genError{errSyntax.Error()})
}

func (c *compiler) mcode6(s string, masklen uint32, q qual) *block {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		fail("invalid ip6 address %s", s)
	}
	if masklen > 128 {
		fail("mask length must be <= 128")
	}
	var mask [16]byte
	for i := 0; i < int(masklen)/8; i++ {
		mask[i] = 0xff
	}
	if masklen%8 != 0 {
		mask[masklen/8] = byte(0xff << (8 - masklen%8))
	}
	addr := a.As16()
	for i := range addr {
		if addr[i]&^mask[i] != 0 {
			fail("non-network bits set in \"%s/%d\"", s, masklen)
		}
	}
	switch q.addr {
	case qDefault, qHost:
		if masklen != 128 {
			fail("Mask syntax for networks only")
		}
		fallthrough
	case qNet:
		return c.host6(addr, mask, int(q.proto), int(q.dir), int(q.addr))
	}
	fail("invalid qualifier against IPv6 address")
	return nil
}

func (c *compiler) allocReg() int {
	for n := memWords; n > 0; n-- {
		if c.regused[c.curreg] {
			c.curreg = (c.curreg + 1) % memWords
		} else {
			c.regused[c.curreg] = true
			return c.curreg
		}
	}
	fail("too many registers needed to evaluate expression")
	return 0
}

func (c *compiler) freeReg(n int) { c.regused[n] = false }

func xferToX(a *arth) *slist { return newStmtK(bpfLDX|bpfMEM, uint32(a.regno)) }
func xferToA(a *arth) *slist { return newStmtK(bpfLD|bpfMEM, uint32(a.regno)) }

func (c *compiler) load(proto int, inst *arth, size uint32) *arth {
	regno := c.allocReg()
	c.freeReg(inst.regno)
	var sizeCode int
	switch size {
	case 1:
		sizeCode = bpfB
	case 2:
		sizeCode = bpfH
	case 4:
		sizeCode = bpfW
	default:
		fail("data size must be 1, 2, or 4")
	}
	switch proto {
	case qRadio:
		fail("radio information not present in capture")
	case qLink:
		s := xferToX(inst)
		sappend(s, newStmtK(bpfLD|bpfIND|sizeCode, 0))
		sappend(inst.s, s)
	case qIP, qARP, qRARP, qAtalk, qDecnet, qSCA, qLAT, qMOPRC, qMOPDL, qIPv6:
		s := xferToX(inst)
		sappend(s, newStmtK(bpfLD|bpfIND|sizeCode, 0))
		sappend(inst.s, s)
		b := c.protoAbbrev(proto)
		if inst.b != nil {
			genAnd(inst.b, b)
		}
		inst.b = b
	case qSCTP, qTCP, qUDP, qICMP, qIGMP, qIGRP, qPIM, qVRRP, qCARP:
		s := c.loadxIPHdrLen()
		sappend(s, xferToA(inst))
		sappend(s, newStmt(bpfALU|bpfADD|bpfX))
		sappend(s, newStmt(bpfMISC|bpfTAX))
		sappend(s, newStmtK(bpfLD|bpfIND|sizeCode, 0))
		sappend(inst.s, s)
		b := c.ipfrag()
		genAnd(c.protoAbbrev(proto), b)
		if inst.b != nil {
			genAnd(inst.b, b)
		}
		genAnd(c.protoAbbrev(qIP), b)
		inst.b = b
	case qICMPv6:
		b := c.protoAbbrev(qIPv6)
		if inst.b != nil {
			genAnd(inst.b, b)
		}
		inst.b = b
		b = c.cmp(orLinkpl, 6, bpfB, ipprotoICMPv6)
		if inst.b != nil {
			genAnd(inst.b, b)
		}
		inst.b = b
		s := xferToX(inst)
		sappend(s, newStmtK(bpfLD|bpfIND|sizeCode, 40))
		sappend(inst.s, s)
	default:
		fail("unsupported index operation")
	}
	inst.regno = regno
	sappend(inst.s, newStmtK(bpfST, uint32(regno)))
	return inst
}

func (c *compiler) relation(code int, a0, a1 *arth, reversed bool) *block {
	s0 := xferToX(a1)
	s1 := xferToA(a0)
	var b *block
	if code == bpfJEQ {
		s2 := newStmt(bpfALU | bpfSUB | bpfX)
		b = newBlock(jmpK(code))
		sappend(s1, s2)
	} else {
		b = newBlock(bpfJMP | code | bpfX)
	}
	if reversed {
		genNot(b)
	}
	sappend(s0, s1)
	sappend(a1.s, s0)
	sappend(a0.s, a1.s)
	b.stmts = a0.s
	c.freeReg(a0.regno)
	c.freeReg(a1.regno)
	// 'and' together protocol checks
	var tmp *block
	if a0.b != nil {
		if a1.b != nil {
			genAnd(a0.b, a1.b)
			tmp = a1.b
		} else {
			tmp = a0.b
		}
	} else {
		tmp = a1.b
	}
	if tmp != nil {
		genAnd(tmp, b)
	}
	return b
}

func (c *compiler) loadLen() *arth {
	regno := c.allocReg()
	s := newStmt(bpfLD | bpfLEN)
	s.next = newStmtK(bpfST, uint32(regno))
	return &arth{s: s, regno: regno}
}

func (c *compiler) loadI(val uint32) *arth {
	reg := c.allocReg()
	s := newStmtK(bpfLD|bpfIMM, val)
	s.next = newStmtK(bpfST, uint32(reg))
	return &arth{s: s, regno: reg}
}

func (c *compiler) neg(a *arth) *arth {
	sappend(a.s, xferToA(a))
	sappend(a.s, newStmt(bpfALU|bpfNEG))
	sappend(a.s, newStmtK(bpfST, uint32(a.regno)))
	return a
}

func (c *compiler) arith(code int, a0, a1 *arth) *arth {
	constant := a1.s.s.code == bpfLD|bpfIMM
	switch {
	case code == bpfDIV && constant && a1.s.s.k == 0:
		fail("division by zero")
	case code == bpfMOD && constant && a1.s.s.k == 0:
		fail("modulus by zero")
	case (code == bpfLSH || code == bpfRSH) && constant && a1.s.s.k > 31:
		fail("shift by more than 31 bits")
	}
	s0 := xferToX(a1)
	s1 := xferToA(a0)
	s2 := newStmt(bpfALU | bpfX | code)
	sappend(s1, s2)
	sappend(s0, s1)
	sappend(a1.s, s0)
	sappend(a0.s, a1.s)
	c.freeReg(a0.regno)
	c.freeReg(a1.regno)
	st := newStmt(bpfST)
	a0.regno = c.allocReg()
	st.s.k = uint32(a0.regno)
	sappend(a0.s, st)
	return a0
}

func (c *compiler) genLen(jmp int, n uint32) *block {
	b := newBlock(jmpK(jmp))
	b.stmts = newStmt(bpfLD | bpfLEN)
	b.s.k = n
	return b
}

func (c *compiler) byteop(op byte, idx, val uint32) *block {
	switch op {
	case '=':
		return c.cmp(orLinkhdr, int(idx), bpfB, val)
	case '<':
		return c.cmpLT(orLinkhdr, int(idx), bpfB, val)
	case '>':
		return c.cmpGT(orLinkhdr, int(idx), bpfB, val)
	}
	// libpcap emits the operation without loading the byte first, so
	// that the result depends on what the accumulator held before.
	fail("'byte %d %c %d' is not supported", idx, op, val)
	return nil
}

func (c *compiler) broadcast(proto int) *block {
	switch proto {
	case qDefault, qLink:
		fail("not a broadcast link")
	case qIP:
		b0 := c.linktype(ethertypeIP)
		hostmask := ^c.netmask
		b1 := c.mcmp(orLinkpl, 16, bpfW, 0, hostmask)
		b2 := c.mcmp(orLinkpl, 16, bpfW, ^uint32(0)&hostmask, hostmask)
		genOr(b1, b2)
		genAnd(b0, b2)
		return b2
	}
	fail("only link-layer/IP broadcast filters supported")
	return nil
}

func (c *compiler) multicast(proto int) *block {
	switch proto {
	case qIP:
		b0 := c.linktype(ethertypeIP)
		b1 := c.cmpGE(orLinkpl, 16, bpfB, 224)
		genAnd(b0, b1)
		return b1
	case qIPv6:
		b0 := c.linktype(ethertypeIPv6)
		b1 := c.cmp(orLinkpl, 24, bpfB, 255)
		genAnd(b0, b1)
		return b1
	}
	fail("link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel")
	return nil
}

// gen generates the blocks of a boolean node, in grammar.y's order.
func (c *compiler) gen(n node) *block {
	switch n := n.(type) {
	case andNode:
		b0 := c.gen(n.l)
		b1 := c.gen(n.r)
		genAnd(b0, b1)
		return b1
	case orNode:
		b0 := c.gen(n.l)
		b1 := c.gen(n.r)
		genOr(b0, b1)
		return b1
	case notNode:
		b := c.gen(n.x)
		genNot(b)
		return b
	case scodeNode:
		return c.scode(n.name, n.q)
	case ncodeNode:
		if n.hid {
			switch n.q.addr {
			case qPort:
				fail("'port' modifier applied to ip host")
			case qPortrange:
				fail("'portrange' modifier applied to ip host")
			case qProto:
				fail("'proto' modifier applied to ip host")
			case qProtochain:
				fail("'protochain' modifier applied to ip host")
			}
		}
		return c.ncode(n.s, n.hid, n.v, n.q)
	case mcodeNode:
		return c.mcode(n.s1, n.s2, n.masklen, n.q)
	case mcode6Node:
		return c.mcode6(n.s, n.masklen, n.q)
	case ecodeNode:
		if n.arcnet {
			fail("ARCnet address used in non-arc expression")
		}
		if (n.q.addr == qHost || n.q.addr == qDefault) && n.q.proto == qLink {
			fail("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel")
		}
		fail("ethernet address used in non-ether expression")
	case protoAbbrevNode:
		return c.protoAbbrev(int(n.proto))
	case relationNode:
		a0 := c.genArth(n.a0)
		a1 := c.genArth(n.a1)
		return c.relation(n.code, a0, a1, n.reversed)
	case broadcastNode:
		return c.broadcast(int(n.proto))
	case multicastNode:
		return c.multicast(int(n.proto))
	case lenNode:
		if n.greater {
			return c.genLen(bpfJGE, n.n)
		}
		b := c.genLen(bpfJGT, n.n)
		genNot(b)
		return b
	case byteNode:
		return c.byteop(n.op, n.idx, n.val)
	case errNode:
		fail("%s", n.msg)
	}
	panic(fmt.Sprintf("filter: unknown node %T", n))
}

// genArth generates an arithmetic node, operands first.
func (c *compiler) genArth(a arthNode) *arth {
	switch a := a.(type) {
	case loadINode:
		return c.loadI(a.v)
	case loadLenNode:
		return c.loadLen()
	case loadNode:
		idx := c.genArth(a.idx)
		return c.load(int(a.proto), idx, a.size)
	case arithNode:
		a0 := c.genArth(a.a0)
		a1 := c.genArth(a.a1)
		return c.arith(a.op, a0, a1)
	case negNode:
		return c.neg(c.genArth(a.a))
	}
	panic(fmt.Sprintf("filter: unknown arithmetic node %T", a))
}

// finishParse appends the two return blocks: snaplen for a match, 0 otherwise.
func finishParse(p *block) *block {
	backpatch(p, retBlock(snaplenResult))
	p.sense = !p.sense
	backpatch(p, retBlock(0))
	return p.head
}

// lookupHost resolves a host name with Go's resolver, within 5 seconds.
func lookupHost(name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.IP); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

package filter

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The lexer follows libpcap's scanner.l (1.10): the same keywords, number
// syntax, address forms and names for constants, and flex's rule to take
// the longest match, the earliest rule on a tie.

type tokKind int

const (
	tEOF tokKind = iota
	tError
	tNum  // a number, or a named constant such as tcp-syn
	tID   // a name
	tHID  // an IPv4 address or network: 10.1, 10.1.2, 10.1.2.3
	tHID6 // an IPv6 address
	tEID  // an Ethernet address
	tAID  // an ARCnet address ($1f)
	tPunct
	tGEQ
	tLEQ
	tNEQ
	tLSH
	tRSH
	tAnd
	tOr
	tNot
	// Keywords.
	tDst
	tSrc
	tHost
	tGateway
	tNet
	tNetmask
	tPort
	tPortrange
	tLess
	tGreater
	tProto
	tProtochain
	tByte
	tPname // a protocol name (ip, tcp, ...); the protocol is in val
	tBroadcast
	tMulticast
	tInbound
	tOutbound
	tIfindex
	tType
	tSubtype
	tDir
	tAddr1
	tAddr2
	tAddr3
	tAddr4
	tRA
	tTA
	tLen
	tVlan
	tMpls
	tPppoed
	tPppoes
	tGeneve
	tLlc
	tPF    // pf keywords: on, ifname, rset, ruleset, rnr, rulenum, srnr, subrulenum, reason, action
	tOther // ATM and SS7 keywords: lane, vpi, fisu, ...
)

type token struct {
	kind tokKind
	text string // the text as written (for names and addresses, the name or address)
	val  uint32 // tNum: the number; tPname: the protocol qualifier
	ch   byte   // tPunct: the character
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tPunct:
		return fmt.Sprintf("%q", string(t.ch))
	}
	return fmt.Sprintf("%q", t.text)
}

// keywords maps each keyword of scanner.l to its token.
var keywords = map[string]token{
	"dst": {kind: tDst}, "src": {kind: tSrc},
	"link": {kind: tPname, val: qLink}, "ether": {kind: tPname, val: qLink}, "ppp": {kind: tPname, val: qLink},
	"slip": {kind: tPname, val: qLink}, "fddi": {kind: tPname, val: qLink}, "tr": {kind: tPname, val: qLink},
	"wlan": {kind: tPname, val: qLink},
	"arp":  {kind: tPname, val: qARP}, "rarp": {kind: tPname, val: qRARP}, "ip": {kind: tPname, val: qIP},
	"sctp": {kind: tPname, val: qSCTP}, "tcp": {kind: tPname, val: qTCP}, "udp": {kind: tPname, val: qUDP},
	"icmp": {kind: tPname, val: qICMP}, "igmp": {kind: tPname, val: qIGMP}, "igrp": {kind: tPname, val: qIGRP},
	"pim": {kind: tPname, val: qPIM}, "vrrp": {kind: tPname, val: qVRRP}, "carp": {kind: tPname, val: qCARP},
	"radio": {kind: tPname, val: qRadio},
	"ip6":   {kind: tPname, val: qIPv6}, "icmp6": {kind: tPname, val: qICMPv6},
	"ah": {kind: tPname, val: qAH}, "esp": {kind: tPname, val: qESP},
	"atalk": {kind: tPname, val: qAtalk}, "aarp": {kind: tPname, val: qAARP}, "decnet": {kind: tPname, val: qDecnet},
	"lat": {kind: tPname, val: qLAT}, "sca": {kind: tPname, val: qSCA}, "moprc": {kind: tPname, val: qMOPRC},
	"mopdl": {kind: tPname, val: qMOPDL},
	"iso":   {kind: tPname, val: qISO}, "esis": {kind: tPname, val: qESIS}, "es-is": {kind: tPname, val: qESIS},
	"isis": {kind: tPname, val: qISIS}, "is-is": {kind: tPname, val: qISIS},
	"l1": {kind: tPname, val: qISISL1}, "l2": {kind: tPname, val: qISISL2}, "iih": {kind: tPname, val: qISISIIH},
	"lsp": {kind: tPname, val: qISISLSP}, "snp": {kind: tPname, val: qISISSNP}, "csnp": {kind: tPname, val: qISISCSNP},
	"psnp": {kind: tPname, val: qISISPSNP},
	"clnp": {kind: tPname, val: qCLNP}, "stp": {kind: tPname, val: qSTP}, "ipx": {kind: tPname, val: qIPX},
	"netbeui": {kind: tPname, val: qNetbeui},
	"host":    {kind: tHost}, "net": {kind: tNet}, "mask": {kind: tNetmask}, "port": {kind: tPort},
	"portrange": {kind: tPortrange}, "proto": {kind: tProto}, "protochain": {kind: tProtochain},
	"gateway": {kind: tGateway},
	"type":    {kind: tType}, "subtype": {kind: tSubtype}, "direction": {kind: tDir}, "dir": {kind: tDir},
	"address1": {kind: tAddr1}, "addr1": {kind: tAddr1}, "address2": {kind: tAddr2}, "addr2": {kind: tAddr2},
	"address3": {kind: tAddr3}, "addr3": {kind: tAddr3}, "address4": {kind: tAddr4}, "addr4": {kind: tAddr4},
	"ra": {kind: tRA}, "ta": {kind: tTA},
	"less": {kind: tLess}, "greater": {kind: tGreater}, "byte": {kind: tByte},
	"broadcast": {kind: tBroadcast}, "multicast": {kind: tMulticast},
	"and": {kind: tAnd}, "&&": {kind: tAnd}, "or": {kind: tOr}, "||": {kind: tOr}, "not": {kind: tNot},
	"len": {kind: tLen}, "length": {kind: tLen},
	"inbound": {kind: tInbound}, "outbound": {kind: tOutbound}, "ifindex": {kind: tIfindex},
	"vlan": {kind: tVlan}, "mpls": {kind: tMpls}, "pppoed": {kind: tPppoed}, "pppoes": {kind: tPppoes},
	"geneve": {kind: tGeneve}, "llc": {kind: tLlc},
	"on": {kind: tPF}, "ifname": {kind: tPF}, "rset": {kind: tPF}, "ruleset": {kind: tPF}, "rnr": {kind: tPF},
	"rulenum": {kind: tPF}, "srnr": {kind: tPF}, "subrulenum": {kind: tPF}, "reason": {kind: tPF}, "action": {kind: tPF},
	"lane": {kind: tOther}, "metac": {kind: tOther}, "bcc": {kind: tOther}, "oam": {kind: tOther},
	"oamf4": {kind: tOther}, "oamf4ec": {kind: tOther}, "oamf4sc": {kind: tOther}, "sc": {kind: tOther},
	"ilmic": {kind: tOther}, "vpi": {kind: tOther}, "vci": {kind: tOther}, "connectmsg": {kind: tOther},
	"metaconnect": {kind: tOther},
	"fisu":        {kind: tOther}, "lssu": {kind: tOther}, "lsu": {kind: tOther}, "msu": {kind: tOther},
	"hfisu": {kind: tOther}, "hlssu": {kind: tOther}, "hmsu": {kind: tOther}, "sio": {kind: tOther},
	"opc": {kind: tOther}, "dpc": {kind: tOther}, "sls": {kind: tOther}, "hsio": {kind: tOther},
	"hopc": {kind: tOther}, "hdpc": {kind: tOther}, "hsls": {kind: tOther},
	">=": {kind: tGEQ}, "<=": {kind: tLEQ}, "!=": {kind: tNEQ}, "==": {kind: tPunct, ch: '='},
	"<<": {kind: tLSH}, ">>": {kind: tRSH},
}

// namedNumbers are the names scanner.l turns into numbers.
var namedNumbers = map[string]uint32{
	"icmptype": 0, "icmpcode": 1,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8,
	"icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12,
	"icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17,
	"icmp-maskreply": 18,
	"icmp6type":      0, "icmp6code": 1,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
	"icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
	"icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
	"icmp6-routerrenum": 138, "icmp6-nodeinformationquery": 139, "icmp6-nodeinformationresponse": 140,
	"icmp6-ineighbordiscoverysolicit": 141, "icmp6-ineighbordiscoveryadvert": 142,
	"icmp6-multicastlistenerreportv2": 143, "icmp6-homeagentdiscoveryrequest": 144,
	"icmp6-homeagentdiscoveryreply": 145, "icmp6-mobileprefixsolicit": 146, "icmp6-mobileprefixadvert": 147,
	"icmp6-certpathsolicit": 148, "icmp6-certpathadvert": 149, "icmp6-multicastrouteradvert": 151,
	"icmp6-multicastroutersolicit": 152, "icmp6-multicastrouterterm": 153,
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10,
	"tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}

// The pattern rules of scanner.l, in its order.
const (
	reN  = `(?:[0-9]+|0[Xx][0-9A-Fa-f]+)`
	reB  = `[0-9A-Fa-f][0-9A-Fa-f]?`
	reB2 = `[0-9A-Fa-f]{4}`
	reW  = `[0-9A-Fa-f]{1,4}`
)

type lexRule struct {
	re   *regexp.Regexp
	kind tokKind
}

var lexRules = func() []lexRule {
	mac := `(?:` + strings.Join([]string{
		reB + `:` + reB + `:` + reB + `:` + reB + `:` + reB + `:` + reB,
		reB + `-` + reB + `-` + reB + `-` + reB + `-` + reB + `-` + reB,
		reB + `\.` + reB + `\.` + reB + `\.` + reB + `\.` + reB + `\.` + reB,
		reB2 + `\.` + reB2 + `\.` + reB2,
		reB2 + reB2 + reB2,
	}, "|") + `)`
	hid := `(?:` + reN + `\.` + reN + `(?:\.` + reN + `(?:\.` + reN + `)?)?)`
	rules := []struct {
		re   string
		kind tokKind
	}{
		{`\$` + reB, tAID},
		{mac, tEID},
		{reN, tNum},
		{hid, tHID},
		{v6Pattern(), tHID6},
		{reB + `:+(?:` + reB + `:+)+`, tError}, // a bogus Ethernet address
		{`[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?`, tID},
		{`\\[^ !()\n\t]+`, tID},
	}
	var out []lexRule
	for _, r := range rules {
		re := regexp.MustCompile(`^(?:` + r.re + `)`)
		re.Longest()
		out = append(out, lexRule{re, r.kind})
	}
	return out
}()

// v6Pattern builds the V6 definition of scanner.l: eight groups, or fewer
// with "::" anywhere, optionally ending in a dotted IPv4 address.
func v6Pattern() string {
	groups := func(n int) []string {
		g := make([]string, n)
		for i := range g {
			g[i] = reW
		}
		return g
	}
	var alts []string
	alts = append(alts, strings.Join(groups(8), ":"))
	for total := 7; total >= 0; total-- {
		for before := 0; before <= total; before++ {
			alts = append(alts, strings.Join(groups(before), ":")+"::"+strings.Join(groups(total-before), ":"))
		}
	}
	v4 := reN + `\.` + reN + `\.` + reN + `\.` + reN
	alts = append(alts, strings.Join(groups(6), ":")+":"+v4)
	for total := 5; total >= 0; total-- {
		for before := 0; before <= total; before++ {
			after := strings.Join(groups(total-before), ":")
			if after != "" {
				after += ":"
			}
			alts = append(alts, strings.Join(groups(before), ":")+"::"+after+v4)
		}
	}
	return `(?:` + strings.Join(alts, "|") + `)`
}

// lex splits an expression into tokens. It fails on the first character
// that starts no token, as libpcap does.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\r', '\n', '\t':
			i++
			continue
		}
		rest := s[i:]
		best, bestLen := token{kind: tError}, 0
		// Keywords and named numbers come first in scanner.l.
		for kw, t := range keywords {
			if len(kw) > bestLen && strings.HasPrefix(rest, kw) {
				best, bestLen = t, len(kw)
				best.text = kw
			}
		}
		for name, v := range namedNumbers {
			if len(name) > bestLen && strings.HasPrefix(rest, name) {
				best, bestLen = token{kind: tNum, val: v, text: name}, len(name)
			}
		}
		if bestLen < 1 && strings.ContainsRune("+-*/%:[]!<>()&|^=", rune(s[i])) {
			best, bestLen = token{kind: tPunct, ch: s[i], text: s[i : i+1]}, 1
			if s[i] == '!' {
				best.kind = tNot
			}
		}
		for _, r := range lexRules {
			if m := r.re.FindString(rest); len(m) > bestLen {
				best, bestLen = token{kind: r.kind, text: m}, len(m)
			}
		}
		if bestLen == 0 {
			return nil, errSyntax // scanner.l's LEX_ERROR
		}
		best.pos = i
		switch best.kind {
		case tError:
			return nil, fmt.Errorf("bogus ethernet address %s", best.text)
		case tNum:
			if _, named := namedNumbers[best.text]; !named {
				v, err := parseNum(best.text)
				if err != nil {
					return nil, err
				}
				best.val = v
			}
		case tID:
			best.text = strings.TrimPrefix(best.text, `\`)
		case tAID:
			best.text = best.text[1:]
		}
		toks = append(toks, best)
		i += bestLen
	}
	return append(toks, token{kind: tEOF, pos: len(s)}), nil
}

// parseNum reads a number as scanner.l's stou does: hex after 0x, octal
// after a leading 0, decimal otherwise, at most 32 bits.
func parseNum(s string) (uint32, error) {
	base, digits := 10, s
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("number %s overflows 32 bits", s)
		}
		return 0, fmt.Errorf("number %s contains non-octal digit", s)
	}
	return uint32(v), nil
}

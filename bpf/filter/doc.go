// Package filter compiles tcpdump filter expressions for raw IP packets to
// classic BPF, and runs them in user space.
//
// The link type is LINKTYPE_RAW: a packet starts at its IPv4 or IPv6
// header, and the IP version tells the two apart. The compiler is a
// translation of libpcap's (1.10) lexer, grammar, code generator and
// optimizer for that link type, in Go, so lwtdump needs neither libpcap nor
// cgo; for the same expression it produces the program that
// `tcpdump -dd -y RAW EXPR` prints, instruction for instruction, and the
// same error messages. What raw IP cannot carry (Ethernet, VLAN, MPLS,
// ARP, ...) is refused as libpcap refuses it, or matches nothing. Not
// supported: "protochain" (its loop needs backward jumps, which no kernel
// BPF accepts), "geneve", "pppoes", "inbound"/"outbound" and "ifindex".
//
// Use:
//
//	prog, err := filter.Compile("tcp port 443 or icmp6") // []bpf.RawInstruction
//
//	m, err := filter.NewMatcher("udp and not port 53")
//	if m.Match(pkt) { ... }                    // a whole packet
//	if m.MatchCaptured(data, origLen) { ... }  // a record cut short by a snaplen
//
//	body, err := filter.ToEBPF(prog, filter.EBPFOptions{}) // asm.Instructions
//
// The programs also run in golang.org/x/net/bpf's VM
// (bpf.Disassemble, then bpf.NewVM); Run is an interpreter with libpcap's
// semantics for records whose captured length is less than their original
// length, which that VM cannot express. ToEBPF translates the programs to
// eBPF, which package bpf splices into the capture program, so that the
// kernel runs them.
package filter

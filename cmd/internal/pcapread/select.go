package pcapread

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// Matcher selects packets by content, as a filter expression does: it
// reports whether a packet whose captured bytes (data) start with a header
// of linkType, and which had origLen bytes on the wire, is selected.
type Matcher func(linkType layers.LinkType, data []byte, origLen uint32) bool

// Selection picks packets by the metadata lwtdump wrote (hook, cookie,
// route) and by content. Within a field any value selects; all fields given
// must select. The zero Selection selects every packet; a packet without
// lwtdump's metadata is not selected by a Selection with any of Hooks,
// Cookies or Routes.
type Selection struct {
	Hooks   []sample.Hook
	Cookies []uint64
	Routes  []netip.Prefix
	Match   Matcher // nil selects every packet
}

// Selects reports whether a record is selected. Records other than packets
// (interfaces, statistics) always are.
func (s *Selection) Selects(rec *Record) bool {
	if rec.Kind != KindPacket {
		return true
	}
	if len(s.Hooks) > 0 || len(s.Cookies) > 0 || len(s.Routes) > 0 {
		m, ok := rec.Meta()
		if !ok {
			return false
		}
		if len(s.Hooks) > 0 && !slices.Contains(s.Hooks, m.Hook) {
			return false
		}
		if len(s.Cookies) > 0 && (!m.HasCookie || !slices.Contains(s.Cookies, m.Cookie)) {
			return false
		}
		if len(s.Routes) > 0 {
			p, err := netip.ParsePrefix(m.Route)
			if err != nil || !slices.Contains(s.Routes, p.Masked()) {
				return false
			}
		}
	}
	var lt layers.LinkType
	if rec.Interface != nil {
		lt = rec.Interface.LinkType
	}
	return s.Match == nil || s.Match(lt, rec.Data, rec.OrigLen)
}

// IPOffset returns where the IP header of a packet starts, for the link
// types whose packets carry IP: raw IP (0), Ethernet with up to two VLAN
// tags, Linux cooked capture (SLL, SLL2) and BSD loopback. It reports false
// for a packet of another link type or another protocol.
func IPOffset(lt layers.LinkType, data []byte) (int, bool) {
	ipType := func(t uint16) bool { return t == 0x0800 || t == 0x86dd }
	switch lt {
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return 0, true
	case layers.LinkTypeEthernet:
		off := 12
		for range 3 {
			if len(data) < off+2 {
				return 0, false
			}
			switch t := binary.BigEndian.Uint16(data[off:]); {
			case ipType(t):
				return off + 2, true
			case t == 0x8100 || t == 0x88a8: // a VLAN tag
				off += 4
			default:
				return 0, false
			}
		}
	case layers.LinkTypeLinuxSLL:
		if len(data) >= 16 && ipType(binary.BigEndian.Uint16(data[14:])) {
			return 16, true
		}
	case layers.LinkTypeLinuxSLL2:
		if len(data) >= 20 && ipType(binary.BigEndian.Uint16(data[0:])) {
			return 20, true
		}
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(data) >= 4 {
			// The address family, in the byte order of the machine that
			// wrote it: AF_INET is 2, AF_INET6 24, 28 or 30 (BSDs), 10 (Linux).
			af := binary.LittleEndian.Uint32(data)
			if af > 0xffff {
				af = binary.BigEndian.Uint32(data)
			}
			if af == 2 || af == 10 || af == 24 || af == 28 || af == 30 {
				return 4, true
			}
		}
	}
	return 0, false
}

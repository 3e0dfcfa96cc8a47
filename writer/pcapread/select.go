package pcapread

import (
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/writer/sample"
)

// Matcher selects packets by content, as a filter expression does: it
// reports whether a packet whose bytes (data) start with a header of
// linkType is selected.
type Matcher func(linkType layers.LinkType, data []byte) bool

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
	return s.Match == nil || s.Match(lt, rec.Data)
}

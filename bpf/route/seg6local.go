package route

import (
	"encoding/binary"
	"fmt"

	"github.com/vishvananda/netlink/nl"
)

// Attributes of a seg6local encap (SEG6_LOCAL_* in linux/seg6_local.h)
// that vishvananda/netlink v1.3.1 does not define. lwtdump only needs to
// recognise them, to refuse an End SID that carries them: End.BPF would drop
// them, and the route put back would lose its counters.
const (
	seg6LocalCounters = 10 // SEG6_LOCAL_COUNTERS
	seg6LocalFlavors  = 11 // SEG6_LOCAL_FLAVORS
)

// seg6LocalAttrNames are the words `ip route` uses for seg6local attributes.
var seg6LocalAttrNames = map[uint16]string{
	nl.SEG6_LOCAL_SRH: "srh", nl.SEG6_LOCAL_TABLE: "table", nl.SEG6_LOCAL_NH4: "nh4",
	nl.SEG6_LOCAL_NH6: "nh6", nl.SEG6_LOCAL_IIF: "iif", nl.SEG6_LOCAL_OIF: "oif",
	nl.SEG6_LOCAL_BPF: "endpoint", nl.SEG6_LOCAL_VRFTABLE: "vrftable",
	seg6LocalCounters: "count", seg6LocalFlavors: "flavors",
}

// CheckEndReplaceable refuses an SRv6 local SID route unless it is a bare
// End, which End.BPF running a program that returns BPF_OK forwards the
// same way, and which can be put back exactly.
func CheckEndReplaceable(r *Route) error {
	if a := r.Seg6LocalAction(); a != nl.SEG6_LOCAL_ACTION_END {
		return fmt.Errorf("SID %s has action %s, not End: End.BPF would change its forwarding: %w", r.Dst().Addr(), nl.SEG6LocalActionString(a), ErrNotRestorable)
	}
	attrs, err := nl.ParseRouteAttr(r.Encap())
	if err != nil {
		return fmt.Errorf("parse seg6local encap of %s: %w", r.Dst(), err)
	}
	for _, a := range attrs {
		t := a.Attr.Type & nlaTypeMask
		if t == nl.SEG6_LOCAL_ACTION {
			continue
		}
		name, ok := seg6LocalAttrNames[t]
		if !ok {
			name = fmt.Sprintf("attribute %d", t)
		}
		return fmt.Errorf("SID %s is End with %s, which End.BPF cannot keep: %w", r.Dst().Addr(), name, ErrNotRestorable)
	}
	switch {
	case r.Multipath():
		return fmt.Errorf("SID %s is multipath: %w", r.Dst().Addr(), ErrNotRestorable)
	case r.expires():
		return fmt.Errorf("SID %s expires: %w", r.Dst().Addr(), ErrNotRestorable)
	}
	return nil
}

// Seg6LocalAction is the action of a seg6local route (nl.SEG6_LOCAL_ACTION_*), 0 for other routes.
func (r *Route) Seg6LocalAction() int {
	if r.EncapType() != nl.LWTUNNEL_ENCAP_SEG6_LOCAL {
		return 0
	}
	attrs, err := nl.ParseRouteAttr(r.Encap())
	if err != nil {
		return 0
	}
	for _, a := range attrs {
		if a.Attr.Type&nlaTypeMask == nl.SEG6_LOCAL_ACTION && len(a.Value) >= 4 {
			return int(binary.NativeEndian.Uint32(a.Value))
		}
	}
	return 0
}

package writer

import (
	"strconv"

	"github.com/lwtdump/lwtdump/writer/sample"
)

// AppendComment appends the packet comment lwtdump writes for a sample:
//
//	hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=3 cpu=1 mark=0x0
//
// The keys and their order are fixed; README documents them. route and dev
// come from the sample's attachment.
func AppendComment(b []byte, s *sample.Sample, a *sample.Attachment) []byte {
	b = append(b, "hook="...)
	b = append(b, s.Hook.String()...)
	b = append(b, " cookie=0x"...)
	b = strconv.AppendUint(b, s.Cookie, 16)
	b = append(b, " route="...)
	b = append(b, a.Route...)
	b = append(b, " dev="...)
	b = append(b, a.Dev...)
	b = append(b, " ifindex="...)
	b = strconv.AppendUint(b, uint64(s.Ifindex), 10)
	b = append(b, " cpu="...)
	b = strconv.AppendUint(b, uint64(s.CPU), 10)
	b = append(b, " mark=0x"...)
	return strconv.AppendUint(b, uint64(s.Mark), 16)
}

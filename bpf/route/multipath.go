package route

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Multipath routes (RTA_MULTIPATH, `ip route add P nexthop via A nexthop
// via B`, BIRD's ECMP): each path is a struct rtnexthop followed by its own
// attributes (gateway, encap), and each path takes the capture's encap.

// Path is one path of a multipath route.
type Path struct {
	Flags   uint8 // rtnh_flags (RTNH_F_*)
	Hops    uint8 // rtnh_hops: the weight less one
	Ifindex int32
	Attrs   []syscall.NetlinkRouteAttr
}

func (p *Path) attr(typ uint16) []byte {
	for _, a := range p.Attrs {
		if a.Attr.Type&nlaTypeMask == typ {
			return a.Value
		}
	}
	return nil
}

// encapType is the path's lightweight tunnel type, 0 when it has none.
func (p *Path) encapType() uint16 {
	v := p.attr(unix.RTA_ENCAP_TYPE)
	if len(v) < 2 {
		return 0
	}
	return binary.NativeEndian.Uint16(v)
}

// Paths returns the paths of a multipath route, nil for another route.
func (r *Route) Paths() []Path {
	paths, _ := parsePaths(r.attr(unix.RTA_MULTIPATH))
	return paths
}

func parsePaths(b []byte) ([]Path, error) {
	var paths []Path
	for len(b) >= unix.SizeofRtNexthop {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		if l < unix.SizeofRtNexthop || l > len(b) {
			return nil, fmt.Errorf("bad rtnexthop length %d", l)
		}
		p := Path{Flags: b[2], Hops: b[3], Ifindex: int32(binary.NativeEndian.Uint32(b[4:8]))}
		attrs, err := nl.ParseRouteAttr(b[unix.SizeofRtNexthop:l])
		if err != nil {
			return nil, fmt.Errorf("parse rtnexthop attributes: %w", err)
		}
		for _, a := range attrs {
			a.Value = append([]byte(nil), a.Value...)
			p.Attrs = append(p.Attrs, a)
		}
		paths = append(paths, p)
		b = b[min(rtaAlign(l), len(b)):]
	}
	return paths, nil
}

func pathsBytes(paths []Path) []byte {
	var b bytes.Buffer
	for _, p := range paths {
		var body bytes.Buffer
		for _, a := range p.Attrs {
			writeAttr(&body, a)
		}
		var hdr [unix.SizeofRtNexthop]byte
		binary.NativeEndian.PutUint16(hdr[0:2], uint16(unix.SizeofRtNexthop+body.Len()))
		hdr[2], hdr[3] = p.Flags, p.Hops
		binary.NativeEndian.PutUint32(hdr[4:8], uint32(p.Ifindex))
		b.Write(hdr[:])
		b.Write(body.Bytes())
	}
	return b.Bytes()
}

// withPaths returns a copy of r whose RTA_MULTIPATH holds paths.
func (r *Route) withPaths(paths []Path) *Route {
	q := &Route{Msg: r.Msg}
	for _, a := range r.Attrs {
		if a.Attr.Type&nlaTypeMask == unix.RTA_MULTIPATH {
			a = newAttr(a.Attr.Type, pathsBytes(paths))
		}
		q.Attrs = append(q.Attrs, a)
	}
	return q
}

// requestPaths returns the paths with only the rtnh_flags a request may set (onlink).
func requestPaths(paths []Path) []Path {
	out := make([]Path, len(paths))
	for i, p := range paths {
		p.Flags &= unix.RTNH_F_ONLINK
		out[i] = p
	}
	return out
}

// pathsWithEncap returns the paths, each carrying e instead of any encap it had.
func pathsWithEncap(paths []Path, e Encap) []Path {
	out := pathsWithoutEncap(paths)
	for i := range out {
		out[i].Attrs = append(out[i].Attrs,
			newAttr(unix.RTA_ENCAP_TYPE, nl.Uint16Attr(e.Type)),
			newAttr(unix.RTA_ENCAP|unix.NLA_F_NESTED, e.Data))
	}
	return out
}

// pathsWithoutEncap returns the paths without any encap.
func pathsWithoutEncap(paths []Path) []Path {
	out := make([]Path, len(paths))
	for i, p := range paths {
		q := Path{Flags: p.Flags, Hops: p.Hops, Ifindex: p.Ifindex}
		for _, a := range p.Attrs {
			switch a.Attr.Type & nlaTypeMask {
			case unix.RTA_ENCAP, unix.RTA_ENCAP_TYPE:
			default:
				q.Attrs = append(q.Attrs, a)
			}
		}
		out[i] = q
	}
	return out
}

// OIFs returns the ifindexes of the route's devices: its own, or those of
// its paths, in their order.
func (r *Route) OIFs() []int {
	if paths := r.Paths(); paths != nil {
		var oifs []int
		for _, p := range paths {
			oifs = append(oifs, int(p.Ifindex))
		}
		return oifs
	}
	if o := r.OIF(); o != 0 {
		return []int{o}
	}
	return nil
}

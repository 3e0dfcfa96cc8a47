package bpf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Target is one route to capture, as written after -i:
//
//	PREFIX[@DEV][,cookie=N]
//
// such as "2001:db8:20::/48@r1_h2,cookie=0xbeef". Without @DEV the route
// must exist; with it, a route through DEV is added for the capture when
// none exists.
type Target struct {
	Prefix    netip.Prefix
	Dev       string
	Cookie    uint64
	HasCookie bool
}

// ParseTarget parses the -i syntax.
func ParseTarget(s string) (Target, error) {
	var t Target
	spec, opts, _ := strings.Cut(s, ",")
	prefix, dev, hasDev := strings.Cut(spec, "@")
	if hasDev && dev == "" {
		return t, fmt.Errorf("route %q: empty device after @ (want PREFIX@DEV)", s)
	}
	p, err := parsePrefix(prefix)
	if err != nil {
		return t, fmt.Errorf("route %q: %w", s, err)
	}
	t.Prefix, t.Dev = p, dev
	for opt := range strings.SplitSeq(opts, ",") {
		if opt == "" {
			continue
		}
		key, value, _ := strings.Cut(opt, "=")
		switch key {
		case "cookie":
			c, err := strconv.ParseUint(value, 0, 64)
			if err != nil {
				return t, fmt.Errorf("route %q: cookie %q is not a number (want cookie=0xbeef or cookie=42)", s, value)
			}
			t.Cookie, t.HasCookie = c, true
		default:
			return t, fmt.Errorf("route %q: unknown option %q (want cookie=N)", s, key)
		}
	}
	return t, nil
}

// parsePrefix accepts a prefix in canonical form, or an address (a host route).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 prefix (want 2001:db8::/48 or 192.0.2.0/24)", s)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 prefix (want 2001:db8::/48 or 192.0.2.0/24)", s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: a route prefix has no zone", s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}

// String writes the target back in the -i syntax.
func (t Target) String() string {
	s := t.Prefix.String()
	if t.Dev != "" {
		s += "@" + t.Dev
	}
	if t.HasCookie {
		s += fmt.Sprintf(",cookie=%#x", t.Cookie)
	}
	return s
}

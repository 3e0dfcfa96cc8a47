package filter

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Port and protocol names come from /etc/services and /etc/protocols, the
// files libpcap reads through getaddrinfo and getprotobyname on Linux.
// Without those files only the built-in names below are known.

type serviceKey struct{ name, proto string }

var (
	namesOnce sync.Once
	services  map[serviceKey]int // (name, "tcp"/"udp") -> port
	protocols map[string]int
)

// builtinProtocols is used when /etc/protocols is missing.
var builtinProtocols = map[string]int{
	"ip": 0, "hopopt": 0, "icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "egp": 8, "igp": 9,
	"udp": 17, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47,
	"esp": 50, "ah": 51, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ospf": 89,
	"pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "udplite": 136, "mpls-in-ip": 137,
}

// builtinServices is used when /etc/services is missing.
var builtinServices = map[serviceKey]int{
	{"ftp-data", "tcp"}: 20, {"ftp", "tcp"}: 21, {"ssh", "tcp"}: 22, {"telnet", "tcp"}: 23,
	{"smtp", "tcp"}: 25, {"domain", "tcp"}: 53, {"domain", "udp"}: 53, {"bootps", "udp"}: 67,
	{"bootpc", "udp"}: 68, {"tftp", "udp"}: 69, {"http", "tcp"}: 80, {"www", "tcp"}: 80,
	{"ntp", "udp"}: 123, {"snmp", "udp"}: 161, {"bgp", "tcp"}: 179, {"https", "tcp"}: 443,
	{"https", "udp"}: 443, {"syslog", "udp"}: 514,
}

func loadNames() {
	services = readServices("/etc/services")
	if services == nil {
		services = builtinServices
	}
	protocols = readProtocols("/etc/protocols")
	if protocols == nil {
		protocols = builtinProtocols
	}
}

// readServices reads "name port/proto aliases..." lines; the first entry
// of a name for a protocol wins, as in getservbyname.
func readServices(path string) map[serviceKey]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[serviceKey]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		portStr, proto, ok := strings.Cut(fields[1], "/")
		if !ok {
			continue
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			continue
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			k := serviceKey{name, proto}
			if _, dup := m[k]; !dup {
				m[k] = port
			}
		}
	}
	return m
}

// readProtocols reads "name number aliases..." lines.
func readProtocols(path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.Atoi(fields[1])
		if err != nil {
			continue
		}
		for _, name := range append([]string{fields[0]}, fields[2:]...) {
			if _, dup := m[name]; !dup {
				m[name] = n
			}
		}
	}
	return m
}

// protocolNumber is getprotobyname.
func protocolNumber(name string) (int, bool) {
	namesOnce.Do(loadNames)
	n, ok := protocols[name]
	return n, ok
}

// serviceLookup is pcap_nametoport: the port of a service name (or a
// decimal number) for TCP and for UDP; when both know it with the same
// port, the protocol is left open (protoUndef).
func serviceLookup(name string) (port, proto int, ok bool) {
	namesOnce.Do(loadNames)
	tcp, udp := -1, -1
	if isDecimal(name) {
		n, err := strconv.Atoi(name)
		if err != nil || n > 65535 {
			return 0, 0, false
		}
		tcp, udp = n, n
	} else {
		if p, ok := services[serviceKey{name, "tcp"}]; ok {
			tcp = p
		}
		if p, ok := services[serviceKey{name, "udp"}]; ok {
			udp = p
		}
	}
	switch {
	case tcp >= 0:
		proto = ipprotoTCP
		if udp == tcp {
			proto = protoUndef
		}
		return tcp, proto, true
	case udp >= 0:
		return udp, ipprotoUDP, true
	}
	return 0, 0, false
}

// portrangeLookup is pcap_nametoportrange: "N-M", or two service names
// (or numbers) joined by '-'.
func portrangeLookup(name string) (port1, port2, proto int, ok bool) {
	if p1, rest, ok := scanInt(name); ok && strings.HasPrefix(rest, "-") {
		if p2, _, ok := scanInt(rest[1:]); ok {
			return p1, p2, protoUndef, true
		}
	}
	a, b, found := strings.Cut(name, "-")
	if !found {
		return 0, 0, 0, false
	}
	port1, proto1, ok1 := serviceLookup(a)
	if !ok1 {
		return 0, 0, 0, false
	}
	port2, proto, ok2 := serviceLookup(b)
	if !ok2 {
		return 0, 0, 0, false
	}
	if proto != proto1 {
		proto = protoUndef
	}
	return port1, port2, proto, true
}

// scanInt reads a decimal integer the way sscanf's %d does.
func scanInt(s string) (int, string, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == digits {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[start:i])
	if err != nil {
		return 0, s, false
	}
	return n, s[i:], true
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

#!/usr/bin/env bash
# The lwtdump testbed: three network namespaces, h1 - r1 - h2, joined by veth
# pairs, with IPv6 and IPv4 from documentation prefixes only.
#
#   h1 (2001:db8:1::1, 192.0.2.1) -- r1 -- h2 (2001:db8:2::1, 198.51.100.1)
#
# r1 forwards, and has a route to each of h2's networks:
#   2001:db8:20::/48  via 2001:db8:2::1 dev r1_h2   (h2 holds 2001:db8:20::1 on lo)
#   203.0.113.0/24    via 198.51.100.1  dev r1_h2   (h2 holds 203.0.113.1 on lo)
# and none to 2001:db8:21::/64 or 192.0.2.128/25, which h2 holds on its link
# to r1: a capture of those adds the route (-i PREFIX@r1_h2).
#
# The SRv6 variant (up-srv6) adds, on top of that:
#   r1 holds the local SID 2001:db8:f1::1 (seg6local action End, dev r1_h1);
#   h1 sends what it sends to 2001:db8:20::/48 through r1's SID, encapsulated
#      (encap seg6 mode encap segs 2001:db8:f1::1,2001:db8:2::1);
#   h2 decapsulates what arrives for its address 2001:db8:2::1 with no
#      segments left (seg6_enabled on h2_r1), and delivers the inner packet.
# So an echo request from h1 to 2001:db8:20::1 reaches r1 with segments
# left 1, leaves r1's End with segments left 0 towards 2001:db8:2::1, and
# the reply comes back by plain IPv6.
#
# Usage: testbed.sh up NAME       creates NAME-h1, NAME-r1, NAME-h2
#        testbed.sh up-srv6 NAME  the same, with the SRv6 path
#        testbed.sh srv6 NAME     adds the SRv6 path to the testbed NAME
#        testbed.sh down NAME     removes them (quietly, also when half made)
set -euo pipefail

cmd=${1:-}
name=${2:-lwtdump}
h1=$name-h1 r1=$name-r1 h2=$name-h2

down() {
	for ns in "$h1" "$r1" "$h2"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# ll NS DEV: DEV in NS has a usable (not tentative) link-local address.
ll() {
	ip -n "$1" -6 addr show dev "$2" scope link | grep -q 'inet6 fe80' &&
		! ip -n "$1" -6 addr show dev "$2" tentative | grep -q inet6
}

up() {
	down
	trap 'down' ERR
	for ns in "$h1" "$r1" "$h2"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip link add r1_h1 netns "$r1" type veth peer name h1_r1 netns "$h1"
	ip link add r1_h2 netns "$r1" type veth peer name h2_r1 netns "$h2"
	for ns in "$h1" "$r1" "$h2"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$r1" sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1

	ip -n "$h1" addr add 2001:db8:1::1/64 dev h1_r1 nodad
	ip -n "$h1" addr add 192.0.2.1/28 dev h1_r1
	ip -n "$r1" addr add 2001:db8:1::2/64 dev r1_h1 nodad
	ip -n "$r1" addr add 192.0.2.2/28 dev r1_h1
	ip -n "$r1" addr add 2001:db8:2::2/64 dev r1_h2 nodad
	ip -n "$r1" addr add 198.51.100.2/28 dev r1_h2
	ip -n "$h2" addr add 2001:db8:2::1/64 dev h2_r1 nodad
	ip -n "$h2" addr add 198.51.100.1/28 dev h2_r1
	ip -n "$h2" addr add 2001:db8:20::1/128 dev lo
	ip -n "$h2" addr add 203.0.113.1/32 dev lo
	ip -n "$h2" addr add 2001:db8:21::1/64 dev h2_r1 nodad
	ip -n "$h2" addr add 192.0.2.129/25 dev h2_r1
	for pair in "$h1 h1_r1" "$r1 r1_h1" "$r1 r1_h2" "$h2 h2_r1"; do
		set -- $pair
		ip -n "$1" link set "$2" up
	done
	ip -n "$h1" route add default via 2001:db8:1::2 dev h1_r1
	ip -n "$h1" route add default via 192.0.2.2 dev h1_r1
	ip -n "$h2" route add default via 2001:db8:2::2 dev h2_r1
	ip -n "$h2" route add default via 198.51.100.2 dev h2_r1
	ip -n "$r1" route add 2001:db8:20::/48 via 2001:db8:2::1 dev r1_h2
	ip -n "$r1" route add 203.0.113.0/24 via 198.51.100.1 dev r1_h2
	# Wait until every link has its link-local address (and the routes the
	# kernel adds with it), and both paths forward.
	for _ in $(seq 100); do
		if ll "$h1" h1_r1 && ll "$r1" r1_h1 && ll "$r1" r1_h2 && ll "$h2" h2_r1 &&
			ip netns exec "$h1" ping -6 -c1 -W1 -q 2001:db8:20::1 >/dev/null 2>&1 &&
			ip netns exec "$h1" ping -4 -c1 -W1 -q 203.0.113.1 >/dev/null 2>&1; then
			trap - ERR
			return 0
		fi
		sleep 0.1
	done
	echo "testbed $name: h1 cannot reach h2" >&2
	down
	return 1
}

srv6() {
	trap 'down' ERR
	for ns in "$h1" "$r1" "$h2"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.seg6_enabled=1
	done
	# A packet whose SRH is processed by the host itself (h2's decap) needs
	# seg6_enabled on the device it arrives on; seg6local routes (r1's End)
	# do not, but the receiving device gets it too.
	ip netns exec "$r1" sysctl -qw net.ipv6.conf.r1_h1.seg6_enabled=1
	ip netns exec "$h2" sysctl -qw net.ipv6.conf.h2_r1.seg6_enabled=1
	ip -n "$r1" -6 route add 2001:db8:f1::1/128 encap seg6local action End dev r1_h1
	ip -n "$h1" -6 route add 2001:db8:20::/48 encap seg6 mode encap \
		segs 2001:db8:f1::1,2001:db8:2::1 via 2001:db8:1::2 dev h1_r1
	for _ in $(seq 50); do
		if ip netns exec "$h1" ping -6 -c1 -W1 -q 2001:db8:20::1 >/dev/null 2>&1; then
			trap - ERR
			return 0
		fi
		sleep 0.1
	done
	echo "testbed $name: h1 cannot reach h2 through r1's SID" >&2
	down
	return 1
}

case "$cmd" in
up) up ;;
up-srv6) up && srv6 ;;
srv6) srv6 ;;
down) down ;;
*)
	echo "usage: $0 up|up-srv6|srv6|down NAME" >&2
	exit 2
	;;
esac

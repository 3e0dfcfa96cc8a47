#!/usr/bin/env bash
# The full-table benchmark: what lwtdump costs on a router with a full
# routing table. A network namespace gets 500,000 IPv4 and 150,000 IPv6
# routes (ip -batch), then for each lwtdump binary given (default: one built
# from the source as it is), over several rounds: the time to attach (start
# to --ready-file) and to exit (SIGINT to exit) with one route and with four,
# the peak RSS of the capture, and the time and peak RSS of `lwtdump list`
# and `lwtdump cleanup` with nothing to clean up; next to them, the time of
# `ip route show PREFIX`. Prints medians. Run as root.
#
# No packet is sent. The IPv6 routes are /64s of 2001:db8::/32; the IPv4
# routes are /24s of 240.0.0.0/4 (reserved, never routed: documentation
# space holds far fewer than 500,000 prefixes), all through a veth to a
# second namespace, and exist only in the benchmark's namespace, which is
# removed at the end.
#
# Usage: scripts/fulltable.sh [-4 N] [-6 N] [-rounds N] [BINARY...]
set -euo pipefail
cd "$(dirname "$0")/.."

v4=500000 v6=150000 rounds=3
while [ $# -gt 0 ]; do
	case "$1" in
	-4) v4=$2 && shift 2 ;;
	-6) v6=$2 && shift 2 ;;
	-rounds) rounds=$2 && shift 2 ;;
	-h | --help)
		sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "fulltable: unknown option $1 (see -h)" >&2
		exit 2
		;;
	*) break ;;
	esac
done
[ "$(id -u)" -eq 0 ] || {
	echo "fulltable: run as root (network namespaces, routes, eBPF)" >&2
	exit 1
}

tmp=$(mktemp -d /tmp/lwtdump-fulltable.XXXXXX)
ns=lwtdft$$ peer=lwtdft$$-p
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	ip netns del "$peer" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
	go build -o "$tmp/lwtdump" ./cmd/lwtdump # always the source as it is
	binaries=("$tmp/lwtdump")
fi

ip netns add "$ns"
ip netns add "$peer"
ip -n "$ns" link set lo up
ip -n "$ns" link add v0 type veth peer name v1 netns "$peer"
ip -n "$ns" addr add 2001:db8:2::2/64 dev v0 nodad
ip -n "$ns" addr add 198.51.100.2/28 dev v0
ip -n "$peer" addr add 2001:db8:2::1/64 dev v1 nodad
ip -n "$peer" addr add 198.51.100.1/28 dev v1
ip -n "$ns" link set v0 up
ip -n "$peer" link set v1 up

# The routes the captures take: plain routes (IPv6 and IPv4), and routes on
# nexthop objects as FRR installs them.
ip -n "$ns" -6 route add 2001:db8:20::/48 via 2001:db8:2::1 dev v0 proto bgp metric 20
ip -n "$ns" -6 route add 2001:db8:21::/48 via 2001:db8:2::1 dev v0 proto bgp metric 20
ip -n "$ns" -4 route add 203.0.113.0/24 via 198.51.100.1 dev v0 proto bgp metric 20
ip -n "$ns" -4 route add 192.0.2.0/25 via 198.51.100.1 dev v0 proto bgp metric 20
ip -n "$ns" nexthop add id 10 via 198.51.100.1 dev v0
ip -n "$ns" nexthop add id 11 via 2001:db8:2::1 dev v0
ip -n "$ns" -4 route add 192.0.2.128/25 nhid 10 proto bgp metric 20
ip -n "$ns" -6 route add 2001:db8:22::/48 nhid 11 proto bgp metric 20
# Multipath routes as BIRD installs ECMP (RTA_MULTIPATH).
ip -n "$ns" -6 route add 2001:db8:23::/48 proto bird metric 32 nexthop via 2001:db8:2::1 dev v0 nexthop via 2001:db8:2::3 dev v0
ip -n "$ns" -4 route add 198.51.100.128/25 proto bird metric 32 nexthop via 198.51.100.1 dev v0 nexthop via 198.51.100.3 dev v0

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

awk -v n="$v4" 'BEGIN { for (i = 0; i < n; i++) printf "route add %d.%d.%d.0/24 via 198.51.100.1 dev v0 proto bgp metric 20\n", 240 + int(i / 65536), int(i / 256) % 256, i % 256 }' >"$tmp/v4.batch"
awk -v n="$v6" 'BEGIN { for (i = 0; i < n; i++) printf "route add 2001:db8:%x:%x::/64 via 2001:db8:2::1 dev v0 proto bgp metric 20\n", 4096 + int(i / 65536), i % 65536 }' >"$tmp/v6.batch"
t0=$(now)
ip -n "$ns" -4 -batch "$tmp/v4.batch"
ip -n "$ns" -6 -batch "$tmp/v6.batch"
echo "table: $(ip -n "$ns" -4 route show | wc -l) IPv4 and $(ip -n "$ns" -6 route show | wc -l) IPv6 routes in the main table, added in $(ms "$t0" "$(now)") ms"

# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else print a[int((NR + 1) / 2)] }'; }

for p in 203.0.113.0/24 2001:db8:20::/48; do
	for _ in $(seq "$rounds"); do
		t0=$(now)
		ip -n "$ns" route show "$p" >/dev/null
		ms "$t0" "$(now)"
	done | median | xargs printf 'ip route show %s: %s ms\n' "$p"
done

# capture BINARY NAME ARGS...: one capture, prints "attach_ms exit_ms rss_kib"
# or "refused"
capture() {
	local bin=$1
	shift
	rm -rf "$tmp/state" "$tmp/ready" "$tmp/out.pcapng"
	local t0 t1 t2 pid
	t0=$(now)
	/usr/bin/time -f %M -o "$tmp/rss" "$bin" --netns "$ns" --state-dir "$tmp/state" \
		--ready-file "$tmp/ready" -w "$tmp/out.pcapng" "$@" 2>"$tmp/stderr" &
	local timer=$!
	while [ ! -s "$tmp/ready" ]; do
		if ! kill -0 "$timer" 2>/dev/null; then
			wait "$timer" || true
			echo refused
			return
		fi
		sleep 0.005
	done
	t1=$(now)
	pid=$(basename "$(dirname "$(cat "$tmp/ready")")")
	kill -INT "$pid"
	wait "$timer" || true
	t2=$(now)
	echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2") $(tail -n1 "$tmp/rss")"
}

# command BINARY ARGS...: prints "ms rss_kib" of a command that ends by itself
command_cost() {
	local bin=$1
	shift
	local t0 t1
	t0=$(now)
	/usr/bin/time -f %M -o "$tmp/rss" "$bin" "$@" >/dev/null 2>&1 || true
	t1=$(now)
	echo "$(ms "$t0" "$t1") $(tail -n1 "$tmp/rss")"
}

one=(-i 203.0.113.0/24)
four=(-i 203.0.113.0/24 -i 192.0.2.0/25 -i 2001:db8:20::/48 -i 2001:db8:21::/48)
nexthops=(-i 192.0.2.128/25 -i 2001:db8:22::/48)
multipath4=(-i 198.51.100.128/25)
multipath6=(-i 2001:db8:23::/48)
for bin in "${binaries[@]}"; do
	echo
	echo "== $bin"
	printf '%-38s %10s %10s %12s\n' "" "attach ms" "exit ms" "peak RSS MiB"
	for set in one four nexthops multipath4 multipath6; do
		case $set in
		one) args=("${one[@]}") label="capture of 1 route" ;;
		four) args=("${four[@]}") label="capture of 4 routes" ;;
		nexthops) args=("${nexthops[@]}") label="capture of 2 nhid routes" ;;
		multipath4) args=("${multipath4[@]}") label="capture of 1 IPv4 multipath route" ;;
		multipath6) args=("${multipath6[@]}") label="capture of 1 IPv6 multipath route" ;;
		esac
		: >"$tmp/runs"
		for _ in $(seq "$rounds"); do
			capture "$bin" "${args[@]}" >>"$tmp/runs"
		done
		if grep -q refused "$tmp/runs"; then
			printf '%-38s %s\n' "$label" "refused: $(head -n1 "$tmp/stderr" | cut -c1-100)"
			continue
		fi
		a=$(cut -d' ' -f1 "$tmp/runs" | median)
		e=$(cut -d' ' -f2 "$tmp/runs" | median)
		r=$(cut -d' ' -f3 "$tmp/runs" | median)
		printf '%-38s %10s %10s %12s\n' "$label" "$a" "$e" "$((r / 1024))"
	done
	for sub in list cleanup; do
		: >"$tmp/runs"
		for _ in $(seq "$rounds"); do
			command_cost "$bin" "$sub" --netns "$ns" --state-dir "$tmp/state" >>"$tmp/runs"
		done
		t=$(cut -d' ' -f1 "$tmp/runs" | median)
		r=$(cut -d' ' -f2 "$tmp/runs" | median)
		printf '%-38s %10s %10s %12s\n' "lwtdump $sub" "$t" "" "$((r / 1024))"
	done
done

#!/usr/bin/env bash
# The lwtdump demo: builds the h1 - r1 - h2 testbed, captures five pings from
# h1 to h2 at lwt_xmit of r1's route to h2 into demo.pcapng, shows them with
# tshark (comments included) and shows that r1's routes are as they were.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 "${GO:-go}" build -o lwtdump ./cmd/lwtdump # always the source as it is, static as make build makes it

name=lwtdump-demo-$$
work=$(mktemp -d)
cleanup() {
	[ -n "${pid:-}" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	scripts/testbed.sh down "$name"
	rm -rf "$work"
}
trap cleanup EXIT

scripts/testbed.sh up "$name"
r1=$name-r1
ip -n "$r1" -6 route show table all >"$work/before"

echo "== r1's route to h2 before:"
ip -n "$r1" -6 route show 2001:db8:20::/48
./lwtdump -i 2001:db8:20::/48 --cookie 0xbeef --netns "$r1" -w demo.pcapng --ready-file "$work/ready" &
pid=$!
for _ in $(seq 100); do [ -f "$work/ready" ] && break; sleep 0.05; done
[ -f "$work/ready" ] || { echo "lwtdump did not start" >&2; exit 1; }
echo "== while capturing:"
ip -n "$r1" -6 route show 2001:db8:20::/48
echo "== ping from h1 to h2:"
ip netns exec "$name-h1" ping -6 -c 5 -i 0.2 2001:db8:20::1 | tail -2
kill -INT "$pid"
wait "$pid"
pid=

echo "== demo.pcapng, read by tshark:"
tshark -r demo.pcapng -T fields -E header=y -e frame.number -e frame.interface_name -e ipv6.src -e ipv6.dst -e icmpv6.type -e frame.comment 2>/dev/null
echo "== after the capture:"
ip -n "$r1" -6 route show 2001:db8:20::/48
if ip -n "$r1" -6 route show table all | diff "$work/before" -; then
	echo "== r1's IPv6 route table is exactly as it was."
else
	echo "== r1's route table changed!" >&2
	exit 1
fi

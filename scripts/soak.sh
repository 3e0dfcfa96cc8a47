#!/usr/bin/env bash
# Soak test: lwtdump captures steady traffic through the testbed for a long
# time while rotating files, and its memory (RSS) and open file descriptors
# are sampled every minute: both must stay flat. Run as root.
#
# Usage: scripts/soak.sh [SECONDS] [lwtdump rotation flags...]
#   default: 600 seconds with a ring of 10 files of 2 MB (-C 2 -W 10): about
#   one rotation a second at the soak's 20 Mbit/s, and the disk stays bounded
#   however long it runs. (-G with -W stops after W files, as in tcpdump.)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
shift || true
rotation=("$@")
[ ${#rotation[@]} -gt 0 ] || rotation=(-C 2 -W 10)
CGO_ENABLED=0 go build -o lwtdump ./cmd/lwtdump # always the source as it is, static as make build makes it

name=lwtsoak$$
work=$(mktemp -d)
cleanup() {
	[ -n "${pid:-}" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
	scripts/testbed.sh down "$name"
	rm -rf "$work"
}
trap cleanup EXIT
scripts/testbed.sh up "$name"

out="$work/soak.pcapng"
case " ${rotation[*]} " in *" -G "*) out="$work/soak-%Y%m%d-%H%M%S.pcapng" ;; esac
./lwtdump -q -i 2001:db8:20::/48 --netns "$name-r1" -w "$out" "${rotation[@]}" --ready-file "$work/ready" 2>"$work/stderr" &
pid=$!
for _ in $(seq 200); do [ -f "$work/ready" ] && break; sleep 0.05; done
ip netns exec "$name-h2" iperf3 -s -B 2001:db8:20::1 >/dev/null 2>&1 &
server=$!
sleep 0.5
ip netns exec "$name-h1" iperf3 -c 2001:db8:20::1 -u -b 20M -l 1000 -t "$duration" >/dev/null 2>&1 &
client=$!

sample() {
	local rss anon fds files
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	anon=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status") # rss less the mapped ring buffer
	fds=$(ls "/proc/$pid/fd" | wc -l)
	files=$(ls "$work" | grep -c pcapng || true)
	printf '%6ds  rss %6d KiB (anonymous %6d KiB)  fds %3d  files on disk %3d\n' "$1" "$rss" "$anon" "$fds" "$files"
	echo "$1 $rss $fds" >>"$work/samples"
}
sleep 10
sample 10
for ((t = 70; t < duration; t += 60)); do
	sleep 60
	sample "$t"
done
wait "$client" || true
sample "$duration"
kill -INT "$pid"
wait "$pid" || true
pid=
tail -1 "$work/stderr"
read -r _ rss0 fds0 < <(head -1 "$work/samples")
read -r _ rss1 fds1 < <(tail -1 "$work/samples")
echo "start: rss $rss0 KiB, $fds0 fds; end: rss $rss1 KiB, $fds1 fds"

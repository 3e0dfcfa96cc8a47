#!/usr/bin/env bash
# Streams lwtdump's capture of a route into Wireshark, live: from this host,
# or from a router over ssh.
#
# Usage: wireshark-live.sh [-H [USER@]ROUTER] [--netns NS] [-t] ROUTE [LWTDUMP ARGS...]
#
#   -H [USER@]ROUTER  run lwtdump on ROUTER over ssh (lwtdump must be in its PATH,
#                     and USER must be root there or able to run it)
#   --netns NS        capture in network namespace NS
#   -t                show the packets with tshark in this terminal, not Wireshark
#                     (the default when there is no display or no wireshark)
#   ROUTE             PREFIX[@DEV][,cookie=N], as lwtdump -i takes it
#
# lwtdump runs with -w - -U -q: pcapng to the pipe, each packet at once.
# Environment: LWTDUMP, the lwtdump command (default: lwtdump; locally, with
# sudo when not root); SSH, the ssh command (default: ssh).
#
# Examples:
#   scripts/wireshark-live.sh 2001:db8:20::/48
#   scripts/wireshark-live.sh -H root@r1 --netns blue 203.0.113.0/24 --hook in,xmit
set -euo pipefail

usage() {
	sed -n 's/^# \{0,1\}//; 5,13p' "$0" >&2
	exit 2
}

host= netns= viewer=
while [ $# -gt 0 ]; do
	case $1 in
	-H) [ $# -ge 2 ] || usage; host=$2; shift 2 ;;
	--netns) [ $# -ge 2 ] || usage; netns=$2; shift 2 ;;
	-t) viewer=tshark; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
route=$1
shift

args=(-w - -U -q -i "$route")
[ -z "$netns" ] || args+=(--netns "$netns")
args+=("$@")

if [ -z "$viewer" ]; then
	if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v wireshark >/dev/null; then
		viewer=wireshark
	else
		viewer=tshark
	fi
fi
case $viewer in
wireshark) view=(wireshark -k -i -) ;;
tshark) view=(tshark -l -i -) ;;
esac

# quote WORD: WORD in single quotes, for the remote POSIX shell.
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

if [ -n "$host" ]; then
	remote=${LWTDUMP:-lwtdump}
	for a in "${args[@]}"; do
		remote+=" $(quote "$a")"
	done
	read -r -a ssh <<<"${SSH:-ssh}"
	capture=("${ssh[@]}" -T -- "$host" "$remote")
elif [ -n "${LWTDUMP:-}" ]; then
	read -r -a lwtdump <<<"$LWTDUMP"
	capture=("${lwtdump[@]}" "${args[@]}")
elif [ "$(id -u)" -eq 0 ]; then
	capture=(lwtdump "${args[@]}")
else
	capture=(sudo lwtdump "${args[@]}")
fi

# lwtdump ends by itself when the viewer closes the pipe, but ssh notices
# only at its next write: stop it when the viewer is gone, which closes the
# connection, and the remote lwtdump ends and restores its routes.
exec {stream}< <("${capture[@]}")
capture_pid=$!
"${view[@]}" <&"$stream" && status=0 || status=$?
exec {stream}<&-
if [ -n "$host" ]; then
	kill "$capture_pid" 2>/dev/null || true
fi
wait "$capture_pid" 2>/dev/null && capture_status=0 || capture_status=$?
if [ -z "$host" ] && [ "$status" -eq 0 ]; then
	status=$capture_status # lwtdump's own failure, such as a route it cannot find
fi
exit "$status"

#!/usr/bin/env bash
# Runs inside the guest that scripts/vmtest.sh boots: lwtdump's end-to-end
# captures on the guest's kernel, in the testbed of testbed.sh, with lwtdump's
# defaults unless a case says otherwise. The host checks what they wrote
# (cmd/lwtdump's TestKernels reads it with tshark and capinfos).
#
# For each case NAME it writes into OUTDIR: NAME.pcapng (the capture),
# NAME.stderr, NAME.before and NAME.after (r1's routes, `ip -d route show
# table all`, before the capture and after it ended), and one line
# `case NAME exit CODE seconds S` in OUTDIR/results. The kill case adds
# kill.during (the routes after SIGKILL), kill.list and kill.cleanup.
#
# Usage: vmtest-guest.sh OUTDIR
set -uo pipefail
out=$1
results=$out/results
: >"$results"
tb=vm
h1=$tb-h1 r1=$tb-r1

# say: a line on the console, stamped with the seconds since boot.
say() { echo "vmtest: $(cut -d' ' -f1 /proc/uptime) $*"; }

routes() {
	ip -n "$r1" -6 -d route show table all
	ip -n "$r1" -4 -d route show table all
}

# ping6 / ping4 COUNT [SIZE]: echo requests from h1 through r1 to h2.
ping6() { ip netns exec "$h1" ping -6 -q -c "$1" -i 0.05 -W 1 -s "${2:-56}" 2001:db8:20::1 >/dev/null; }
ping4() { ip netns exec "$h1" ping -4 -q -c "$1" -i 0.05 -W 1 -s "${2:-56}" 203.0.113.1 >/dev/null; }

# start NAME ARGS...: starts lwtdump in r1 with ARGS, writing NAME.pcapng,
# and waits until it is attached (pid in $pid); non-zero if it exited first.
start() {
	local name=$1
	shift
	rm -f "/tmp/$name.ready"
	lwtdump --netns "$r1" --ready-file "/tmp/$name.ready" -w "$out/$name.pcapng" "$@" 2>"$out/$name.stderr" &
	pid=$!
	for _ in $(seq 600); do
		[ -e "/tmp/$name.ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# finish: waits for lwtdump to end by itself (-c), at most 30 s, then stops
# it with SIGINT; returns its exit code.
finish() {
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
}

# capture NAME TRAFFIC ARGS...: one capture in r1 with ARGS, while the
# shell command TRAFFIC runs.
capture() {
	local name=$1 traffic=$2 t0 code
	shift 2
	t0=$(date +%s)
	routes >"$out/$name.before"
	if start "$name" "$@"; then
		eval "$traffic"
	fi
	finish
	code=$?
	routes >"$out/$name.after"
	echo "case $name exit $code seconds $(($(date +%s) - t0))" >>"$results"
	say "case $name: exit $code"
}

say "testbed up"
testbed.sh up "$tb" || exit 1
say "testbed ready"

# The defaults, at lwt_xmit, IPv6: one packet in each ring buffer record size
# up to the MTU (104, 248, 448, 948 and 1448 bytes).
capture xmit6 'for s in 56 200 400 900 1400; do ping6 1 $s; done' \
	-i 2001:db8:20::/48 -c 5
# Every hook, IPv6 and IPv4, with each transport: 2 x 2 requests x 3 hooks.
capture hooks 'ping6 2; ping4 2' \
	-i 2001:db8:20::/48 -i 203.0.113.0/24 --hook in,out,xmit -c 12
capture hooks-perf 'ping6 2; ping4 2' \
	-i 2001:db8:20::/48 -i 203.0.113.0/24 --hook in,out,xmit -c 12 --transport perf
# A filter expression (translated into the program), with each transport.
capture filter 'ping6 3; ping4 3' \
	-i 2001:db8:20::/48 -i 203.0.113.0/24 -c 3 icmp
capture filter-perf 'ping4 3; ping6 3 1000' \
	-i 2001:db8:20::/48 -i 203.0.113.0/24 -c 3 -s 100 --transport perf icmp6

# A kernel without the ring buffer, or whose verifier refuses the program
# with it, gets the perf buffer and one line that says so (the verifier's
# log goes to a file in TMPDIR, named in that line). A binary built with the
# lwtdump_testhooks tag plays the missing parts; the verifier that refuses is
# the guest's.
LWTDUMP_TEST_KERNEL_LACKS=ringbuf capture fallback-ringbuf 'ping6 2' \
	-i 2001:db8:20::/48 -c 2
LWTDUMP_TEST_KERNEL_LACKS=ringbuf-verifier TMPDIR=$out capture fallback-verifier 'ping6 2' \
	-i 2001:db8:20::/48 -c 2

# SIGKILL leaves the programs on the routes; lwtdump cleanup puts them back.
t0=$(date +%s)
routes >"$out/kill.before"
code=1
if start kill -i 2001:db8:20::/48 -i 203.0.113.0/24 --hook in,xmit; then
	ping6 1
	ping4 1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	routes >"$out/kill.during"
	lwtdump list --netns "$r1" >"$out/kill.list" 2>&1
	lwtdump cleanup --netns "$r1" >"$out/kill.cleanup" 2>&1
	code=$?
fi
routes >"$out/kill.after"
echo "case kill exit $code seconds $(($(date +%s) - t0))" >>"$results"
say "case kill: exit $code"

# SRv6 End.BPF, once the testbed has the SRv6 path.
testbed.sh srv6 "$tb" || exit 1
say "testbed srv6 ready"
capture srv6 'ping6 3' --srv6-sid 2001:db8:f1::1 -c 3

testbed.sh down "$tb"
echo "done" >>"$results"

#!/usr/bin/env bash
# Installs with apt-get what lwtdump's build, tests and demo need, when it is
# missing: iproute2 and ping for the testbed, tshark and the Wireshark tools
# to check what lwtdump writes, clang, llvm and libbpf headers to rebuild the
# eBPF object, tcpdump, netsniff-ng and iperf3 for the benchmark, qemu and a static
# busybox for the kernel matrix (scripts/vmtest.sh, which fetches its
# kernels itself), zsh and man-db for the tests of the completion and the
# man page, GNU time for the test of reading's memory.
#
# deps.sh routers installs the routing daemons of the router tests instead:
# FRR (zebra, bgpd, vtysh) and BIRD 2. The tests run them in namespaces of
# their own; their services are not started on this host by the install.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
if [ "${1:-}" = routers ]; then
	[ -x /usr/lib/frr/zebra ] && [ -x /usr/lib/frr/bgpd ] && have vtysh || need+=(frr)
	have bird && have birdc || need+=(bird2)
else
	have ip || need+=(iproute2)
	have ping || need+=(iputils-ping)
	have tshark || need+=(tshark)
	have capinfos && have mergecap && have editcap || need+=(wireshark-common)
	have clang || need+=(clang)
	have llvm-strip || need+=(llvm)
	[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
	[ -f /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)
	have tcpdump || need+=(tcpdump)
	have iperf3 || need+=(iperf3)
	have netsniff-ng || need+=(netsniff-ng)
	have setpriv || need+=(util-linux)
	[ -x /usr/bin/time ] || need+=(time)
	have qemu-system-x86_64 || need+=(qemu-system-x86)
	[[ $(ldd /bin/busybox 2>&1 || true) == *"not a dynamic"* ]] || need+=(busybox-static)
	have depmod || need+=(kmod)
	have zsh || need+=(zsh)    # the test of the zsh completion
	have man || need+=(man-db) # the test of the man page
fi

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${need[*]}; run as root to install them with apt-get" >&2
	exit 1
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [ "${1:-}" = routers ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	# A routing daemon started by its package would change this host's
	# routes: tell invoke-rc.d not to start services during the install.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

#!/usr/bin/env bash
# Installs with apt-get what lwtdump's build, tests and demo need, when it is
# missing: iproute2 and ping for the testbed, tshark and the Wireshark tools
# to check what lwtdump writes, clang, llvm and libbpf headers to rebuild the
# eBPF object, tcpdump and iperf3 for the benchmark, zsh and man-db for the
# tests of the completion and the man page.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
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
have setpriv || need+=(util-linux)
have zsh || need+=(zsh)   # the test of the zsh completion
have man || need+=(man-db) # the test of the man page

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${need[*]}; run as root to install them with apt-get" >&2
	exit 1
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

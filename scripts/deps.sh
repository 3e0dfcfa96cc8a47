#!/usr/bin/env bash
# Installs with apt-get what lwtdump's build, tests and demo need, when it is
# missing: iproute2 and ping for the testbed, tshark and the Wireshark tools
# to check what lwtdump writes, clang, llvm and libbpf headers to rebuild the
# eBPF object, tcpdump and iperf3 for the benchmark, qemu and a static
# busybox for the kernel matrix (scripts/vmtest.sh, which fetches its
# kernels itself).
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
have qemu-system-x86_64 || need+=(qemu-system-x86)
[[ $(ldd /bin/busybox 2>&1 || true) == *"not a dynamic"* ]] || need+=(busybox-static)
have depmod || need+=(kmod)

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

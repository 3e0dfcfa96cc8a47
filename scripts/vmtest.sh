#!/usr/bin/env bash
# Runs lwtdump's end-to-end captures on another kernel: boots a Debian kernel
# under qemu with an initramfs built from the tree (the static lwtdump,
# scripts/testbed.sh, scripts/vmtest-guest.sh, busybox, bash, iproute2,
# ping, kmod and the few modules the testbed needs), and lets the guest write
# its results and captures into OUTDIR through a 9p share.
#
# Usage: vmtest.sh [-k SERIES] [-b LWTDUMP] OUTDIR
#   -k SERIES  the kernel: the newest Debian package
#              linux-image-SERIES.*-amd64-unsigned (default 6.1, Debian 12's)
#   -b LWTDUMP a static lwtdump to test (default: built from the tree with
#              the lwtdump_testhooks tag, which the fallback cases need)
#
# The kernel package is fetched with apt-get download and unpacked into
# $LWTDUMP_VM_CACHE (default /var/cache/lwtdump-test), never installed.
# qemu uses KVM where /dev/kvm works (the CPU has vmx or svm), else TCG;
# LWTDUMP_VM_ACCEL=tcg|kvm chooses. OUTDIR/console.log is the serial console,
# OUTDIR/results what the guest found (see vmtest-guest.sh).
#
# Exit codes: 0 the guest ran every case (the results say how each went),
# 1 a failure, 2 usage, 77 something needed is missing here (not root, no
# qemu, no busybox-static, no kernel package): the caller skips.
set -euo pipefail
cd "$(dirname "$0")/.."

series=6.1
bin=
while getopts k:b:h opt; do
	case $opt in
	k) series=$OPTARG ;;
	b) bin=$OPTARG ;;
	*)
		sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-k SERIES] [-b LWTDUMP] OUTDIR" >&2; exit 2; }
out=$(realpath "$1")
mkdir -p "$out"

skip() { echo "vmtest: skip: $*" >&2; exit 77; }
static() { local l; l=$(ldd "$1" 2>&1 || true); [[ $l == *"not a dynamic"* ]]; }
[ "$(id -u)" -eq 0 ] || skip "needs root (to download the kernel and for qemu's 9p share)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is missing (apt-get install qemu-system-x86; make deps does it)"
[ -x /bin/busybox ] && static /bin/busybox ||
	skip "busybox-static is missing (apt-get install busybox-static; make deps does it)"

# The kernel: the newest package of the series, unpacked once into the cache.
cache=${LWTDUMP_VM_CACHE:-/var/cache/lwtdump-test}
mkdir -p "$cache"
newest() {
	apt-cache pkgnames "linux-image-$series." 2>/dev/null | grep -E "^linux-image-${series//./\\.}[.][0-9].*-amd64-unsigned\$" |
		grep -v -e '-cloud-' -e '-rt-' | sort -V | tail -1
}
pkg=$(newest)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(newest)
fi
if [ -n "$pkg" ] && [ ! -d "$cache/$pkg/boot" ]; then
	dl=$(mktemp -d "$cache/.download-XXXXXX") # on the cache's file system, for mv
	if (cd "$dl" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
		dpkg-deb -x "$dl"/*.deb "$dl/root"
		depmod -b "$dl/root" "$(ls "$dl/root/lib/modules")"
		if mv -T "$dl/root" "$cache/$pkg" 2>/dev/null; then # else another run was first
			for old in "$cache"/linux-image-"$series".*-amd64-unsigned; do
				[ "$old" = "$cache/$pkg" ] || rm -rf "$old" # superseded
			done
		fi
	fi
	rm -rf "$dl"
fi
if [ -z "$pkg" ] || [ ! -d "$cache/$pkg/boot" ]; then
	# Offline: the newest one unpacked before, if any.
	pkg=$(cd "$cache" && ls -d linux-image-"$series".*-amd64-unsigned 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$pkg" ] || skip "no linux-image-$series.*-amd64-unsigned package (apt-get update, or add Debian's sources)"
fi
kdir=$cache/$pkg
kver=$(ls "$kdir/lib/modules")
vmlinuz=$kdir/boot/vmlinuz-$kver

# The initramfs, in a directory of its own.
work=$(mktemp -d)
trap '[ -n "${LWTDUMP_VM_KEEP:-}" ] || rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,run,tmp,out,etc,lib/modules/"$kver"}

if [ -z "$bin" ]; then
	bin=$work/lwtdump
	CGO_ENABLED=0 go build -tags lwtdump_testhooks -o "$bin" ./cmd/lwtdump
fi
static "$bin" || { echo "vmtest: $bin is not static (build it with CGO_ENABLED=0)" >&2; exit 1; }
cp "$bin" "$root/bin/lwtdump"
cp scripts/testbed.sh "$root/bin/testbed.sh"
cp scripts/vmtest-guest.sh "$root/bin/vmtest-guest.sh"

cp /bin/busybox "$root/bin/busybox" # /init links its applets into /bin
mkdir -p "$root/usr/bin"
ln -s ../../bin/env "$root/usr/bin/env" # for #!/usr/bin/env bash
# The real tools, with the libraries they load.
copy() {
	local f=$1 dst=$2
	mkdir -p "$root$(dirname "$dst")"
	rm -f "$root$dst" # a busybox applet of the same name
	cp -L "$f" "$root$dst"
	ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
copy "$(command -v bash)" /bin/bash
copy "$(command -v ip)" /bin/ip
copy "$(command -v ping)" /bin/ping
copy "$(command -v kmod)" /bin/kmod
for tool in modprobe lsmod; do
	ln -sf kmod "$root/bin/$tool"
done
ln -sf ../bin/kmod "$root/sbin/modprobe" # where the kernel looks for it

# Modules: veth for the testbed, 9p over virtio for the share, and what they
# need; nothing else, so that a capture that opens more than it needs fails
# here as it would on a minimal router.
modules=(veth 9p 9pnet_virtio virtio_pci)
for m in "${modules[@]}"; do
	modprobe -d "$kdir" -S "$kver" --show-depends "$m"
done | awk '$1 == "insmod" {print $2}' | sort -u | while read -r ko; do
	rel=${ko#"$kdir"}
	mkdir -p "$root$(dirname "$rel")"
	cp "$ko" "$root$rel"
done
cp "$kdir/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$root/lib/modules/$kver/"
depmod -b "$root" "$kver"

cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin # beside, not over, the real tools
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug
export PATH=/bin:/sbin
for m in ${modules[*]}; do modprobe \$m; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /out
echo "vmtest: kernel \$(uname -r), \$(nproc) CPUs"
bash /bin/vmtest-guest.sh /out
echo "vmtest: guest exit \$?"
sync
umount /out
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) >"$work/initrd"

# KVM where it works: /dev/kvm usable and a CPU with vmx or svm (a
# /dev/kvm without them, such as kvm_pvm's, is no KVM for qemu); else TCG.
# A KVM that still fails to start falls back to TCG.
accel=${LWTDUMP_VM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		accel=kvm
	fi
fi
boot() {
	local cpu=max
	[ "$accel" = kvm ] && cpu=host
	echo "vmtest: booting $pkg ($kver) with $accel" >&2
	timeout 600 qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 1024 -smp 2 \
		-kernel "$vmlinuz" -initrd "$work/initrd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3" \
		-virtfs local,path="$out",mount_tag=out,security_model=none,id=out \
		-nographic -no-reboot -nic none </dev/null >"$out/console.log" 2>&1
}

rm -f "$out/results" "$out/console.log"
start=$(date +%s.%N)
rc=0
boot || rc=$?
if [ $rc -ne 0 ] && [ "$accel" = kvm ] && [ -z "${LWTDUMP_VM_ACCEL:-}" ] && ! grep -q '^vmtest: kernel ' "$out/console.log"; then
	echo "vmtest: KVM failed: $(head -n 1 "$out/console.log")" >&2
	accel=tcg
	start=$(date +%s.%N)
	rc=0
	boot || rc=$?
fi
if [ $rc -ne 0 ]; then
	echo "vmtest: qemu failed (exit $rc); the console:" >&2
	tail -n 50 "$out/console.log" >&2
	exit 1
fi
end=$(date +%s.%N)
echo "vmtest: $pkg: boot and captures took $(awk -v s="$start" -v e="$end" 'BEGIN{printf "%.1f", e-s}') s" >&2
grep -q '^vmtest: guest exit 0' "$out/console.log" || {
	echo "vmtest: the guest did not finish; the console:" >&2
	tail -n 50 "$out/console.log" >&2
	exit 1
}
echo "kernel $kver package $pkg accel $accel" >"$out/kernel"

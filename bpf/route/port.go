package route

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netns"
)

// PortOwner names the process that holds the rtnetlink socket with port id
// port in the handle's network namespace, such as "zebra (pid 4242)", from
// the namespace's /proc/net/netlink and the processes' open files. It is a
// best effort: a socket already closed (a short-lived `ip route`), or
// /proc out of reach (after dropping privileges), gives "netlink port N".
// Port 0 is the kernel.
func (h *Handle) PortOwner(port uint32) string {
	if port == 0 {
		return "the kernel"
	}
	inode, ok := h.portInode(port)
	if !ok {
		return fmt.Sprintf("netlink port %d", port)
	}
	if pid, ok := socketOwner(inode); ok {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if name := strings.TrimSpace(string(comm)); name != "" {
			return fmt.Sprintf("%s (pid %d)", name, pid)
		}
		return fmt.Sprintf("pid %d", pid)
	}
	return fmt.Sprintf("netlink port %d", port)
}

// portInode finds the inode of the NETLINK_ROUTE socket with port id port
// in the handle's namespace.
func (h *Handle) portInode(port uint32) (uint64, bool) {
	table, err := h.netlinkTable()
	if err != nil {
		return 0, false
	}
	// sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
	sc := bufio.NewScanner(bytes.NewReader(table))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[1] != "0" { // 0: NETLINK_ROUTE
			continue
		}
		if p, err := strconv.ParseUint(f[2], 10, 32); err != nil || uint32(p) != port {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		return inode, err == nil && inode != 0
	}
	return 0, false
}

// netlinkTable reads /proc/net/netlink as the handle's namespace shows it.
func (h *Handle) netlinkTable() ([]byte, error) {
	if !h.ns.IsOpen() {
		return os.ReadFile("/proc/self/net/netlink")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	if err := netns.Set(h.ns); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	table, rerr := os.ReadFile("/proc/thread-self/net/netlink")
	if err := netns.Set(orig); err != nil {
		// The thread stays locked, so that the runtime ends it with its
		// goroutine instead of running others in the wrong namespace.
		return nil, err
	}
	runtime.UnlockOSThread()
	return table, rerr
}

// socketOwner finds a process that has the socket with the given inode open.
func socketOwner(inode uint64) (int, bool) {
	want := fmt.Sprintf("socket:[%d]", inode)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == want {
				return pid, true
			}
		}
	}
	return 0, false
}

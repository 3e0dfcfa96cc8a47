package route

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A handle opens rtnetlink sockets only: a kernel that cannot load
// xfrm_user or nfnetlink must not stop a capture.
func TestOpenUsesOnlyRtnetlink(t *testing.T) {
	before := netlinkSockets(t)
	h, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	opened := 0
	for inode, proto := range netlinkSockets(t) {
		if _, ok := before[inode]; ok {
			continue
		}
		opened++
		if proto != 0 { // NETLINK_ROUTE
			t.Errorf("Open opened a netlink socket of protocol %d", proto)
		}
	}
	if opened == 0 {
		t.Error("Open opened no netlink socket")
	}
}

// netlinkSockets maps the inode of each netlink socket this process holds
// to its protocol (/proc/self/net/netlink).
func netlinkSockets(t *testing.T) map[string]int {
	t.Helper()
	mine := map[string]bool{}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	f, err := os.Open("/proc/self/net/netlink")
	if err != nil {
		t.Skipf("no /proc/self/net/netlink: %v", err)
	}
	defer f.Close()
	socks := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text()) // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
		if len(fields) < 10 || !mine[fields[9]] {
			continue
		}
		proto, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("/proc/self/net/netlink: %q", sc.Text())
		}
		socks[fields[9]] = proto
	}
	return socks
}

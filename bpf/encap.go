package bpf

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/writer/sample"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// NamePrefix starts the name of every program lwtdump puts on a route, so
// that `ip route` and `lwtdump list` show whose it is.
const NamePrefix = "lwtdump"

// EncapName is the program name lwtdump gives the kernel for a hook:
// "lwtdump:PID:xmit". The kernel shows it in route dumps.
func EncapName(pid int, h sample.Hook) string {
	return fmt.Sprintf("%s:%d:%s", NamePrefix, pid, strings.TrimPrefix(h.String(), "lwt_"))
}

// Owner reads the pid back from a program name written by EncapName; ok is
// false when the name is not lwtdump's.
func Owner(progName string) (pid int, ok bool) {
	rest, found := strings.CutPrefix(progName, NamePrefix+":")
	if !found {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, ":")
	pid, err := strconv.Atoi(digits)
	return pid, err == nil
}

var lwtModes = map[sample.Hook]int{
	sample.HookIn:   nl.LWT_BPF_IN,
	sample.HookOut:  nl.LWT_BPF_OUT,
	sample.HookXmit: nl.LWT_BPF_XMIT,
}

// BPFEncap returns the route encap ("encap bpf in ... out ... xmit ...")
// that runs each program at its hook.
func BPFEncap(progs map[sample.Hook]*ebpf.Program) (route.Encap, error) {
	var e netlink.BpfEncap
	for h, p := range progs {
		mode, ok := lwtModes[h]
		if !ok {
			return route.Encap{}, fmt.Errorf("hook %s cannot be used in a bpf encap", h)
		}
		if err := e.SetProg(mode, p.FD(), EncapName(os.Getpid(), h)); err != nil {
			return route.Encap{}, err
		}
	}
	data, err := e.Encode()
	if err != nil {
		return route.Encap{}, err
	}
	return route.Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: data}, nil
}

// EndBPFEncap returns the SRv6 seg6local encap "action End.BPF" running prog.
func EndBPFEncap(prog *ebpf.Program) (route.Encap, error) {
	e := netlink.SEG6LocalEncap{Action: nl.SEG6_LOCAL_ACTION_END_BPF}
	e.Flags[nl.SEG6_LOCAL_ACTION] = true
	e.Flags[nl.SEG6_LOCAL_BPF] = true
	if err := e.SetProg(prog.FD(), EncapName(os.Getpid(), sample.HookSeg6Local)); err != nil {
		return route.Encap{}, err
	}
	data, err := e.Encode()
	if err != nil {
		return route.Encap{}, err
	}
	return route.Encap{Type: nl.LWTUNNEL_ENCAP_SEG6_LOCAL, Data: data}, nil
}

package bpf

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// NamePrefix starts the name of every program lwtdump puts on a route, so
// that `ip route` and `lwtdump list` show whose it is.
const NamePrefix = "lwtdump"

// addedSuffix ends the program names on a route lwtdump added for the
// capture (a Target with a device and no route to its prefix): after a
// crash, such a route is deleted rather than stripped of its encap
// (CleanupOptions.Strip).
const addedSuffix = ":added"

// ProgramName is the name lwtdump gives the kernel for its program at a
// hook of a route: "lwtdump:PID:xmit", or "lwtdump:PID:xmit:added" on a
// route it added. The kernel shows it in route dumps (`ip route`), where a
// bpf encap's name also ends with "[fd:N]", added by vishvananda/netlink.
func ProgramName(pid int, h sample.Hook, added bool) string {
	name := fmt.Sprintf("%s:%d:%s", NamePrefix, pid, strings.TrimPrefix(h.String(), "lwt_"))
	if added {
		name += addedSuffix
	}
	return name
}

// ProgramLabel is what a name written by ProgramName tells.
type ProgramLabel struct {
	Pid   int    // the lwtdump process that attached the program
	Hook  string // "in", "out", "xmit" or "seg6local"
	Added bool   // the route was added for the capture
}

// ParseProgramName reads a name written by ProgramName; ok is false when
// the name is not lwtdump's.
func ParseProgramName(name string) (l ProgramLabel, ok bool) {
	rest, found := strings.CutPrefix(name, NamePrefix+":")
	if !found {
		return l, false
	}
	// vishvananda/netlink appends "[fd:N]" to the name of a bpf encap program.
	if i := strings.LastIndex(rest, "[fd:"); i >= 0 && strings.HasSuffix(rest, "]") {
		rest = rest[:i]
	}
	rest, l.Added = strings.CutSuffix(rest, addedSuffix)
	digits, hook, _ := strings.Cut(rest, ":")
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return l, false
	}
	l.Pid, l.Hook = pid, hook
	return l, true
}

var lwtModes = map[sample.Hook]int{
	sample.HookIn:   nl.LWT_BPF_IN,
	sample.HookOut:  nl.LWT_BPF_OUT,
	sample.HookXmit: nl.LWT_BPF_XMIT,
}

// BPFEncap returns the route encap ("encap bpf in ... out ... xmit ...")
// that runs each program at its hook; added tells that lwtdump adds the
// route for the capture.
func BPFEncap(progs map[sample.Hook]*ebpf.Program, added bool) (route.Encap, error) {
	var e netlink.BpfEncap
	for h, p := range progs {
		mode, ok := lwtModes[h]
		if !ok {
			return route.Encap{}, fmt.Errorf("hook %s cannot be used in a bpf encap", h)
		}
		if err := e.SetProg(mode, p.FD(), ProgramName(os.Getpid(), h, added)); err != nil {
			return route.Encap{}, err
		}
	}
	data, err := e.Encode()
	if err != nil {
		return route.Encap{}, err
	}
	return route.Encap{Type: nl.LWTUNNEL_ENCAP_BPF, Data: data}, nil
}

// EndBPFEncap returns the SRv6 seg6local encap "action End.BPF" running
// prog. vishvananda/netlink encodes it once both flags are set by hand.
func EndBPFEncap(prog *ebpf.Program) (route.Encap, error) {
	e := netlink.SEG6LocalEncap{Action: nl.SEG6_LOCAL_ACTION_END_BPF}
	e.Flags[nl.SEG6_LOCAL_ACTION] = true
	e.Flags[nl.SEG6_LOCAL_BPF] = true
	if err := e.SetProg(prog.FD(), ProgramName(os.Getpid(), sample.HookSeg6Local, false)); err != nil {
		return route.Encap{}, err
	}
	data, err := e.Encode()
	if err != nil {
		return route.Encap{}, err
	}
	return route.Encap{Type: nl.LWTUNNEL_ENCAP_SEG6_LOCAL, Data: data}, nil
}

package bpf

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Capability numbers (linux/capability.h).
const (
	capNetAdmin = 12
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// Root reports whether lwtdump runs for root: its real uid is 0. A
// process of another user that holds the capabilities (file capabilities on
// the binary, or a set-user-id binary) is a capability holder: it may
// capture, which is what those users were given the capabilities for, and
// nothing else the capabilities would allow, such as adding routes (see
// Options.ExistingOnly).
func Root() bool { return os.Getuid() == 0 }

// CheckPrivileges reports, before anything is touched, which capabilities
// lwtdump lacks: CAP_BPF to load programs, CAP_PERFMON for their buffers
// (CAP_SYS_ADMIN stands in for both, and is the only way on kernels before
// 5.8, which have neither), CAP_NET_ADMIN to change routes, and
// CAP_SYS_ADMIN to enter a named network namespace.
func CheckPrivileges(netns bool) error {
	eff, err := effectiveCaps()
	if err != nil {
		return nil // no /proc to tell: let the kernel say no
	}
	last := lastCap()
	missing := missingCaps(eff, last, netns)
	if len(missing) == 0 {
		return nil
	}
	return &PrivilegeError{Missing: missing, NoCapBPF: last < capBPF}
}

// missingCaps lists what the effective set eff lacks, on a kernel whose
// highest capability is last.
func missingCaps(eff uint64, last int, netns bool) []string {
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	var missing []string
	if last < capBPF {
		if !has(capSysAdmin) {
			missing = append(missing, "CAP_SYS_ADMIN")
		}
	} else {
		if !has(capBPF) && !has(capSysAdmin) {
			missing = append(missing, "CAP_BPF")
		}
		if !has(capPerfmon) && !has(capSysAdmin) {
			missing = append(missing, "CAP_PERFMON")
		}
	}
	if !has(capNetAdmin) {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if netns && !has(capSysAdmin) && last >= capBPF { // before 5.8 it is listed already
		missing = append(missing, "CAP_SYS_ADMIN")
	}
	return missing
}

// lastCap is the kernel's highest capability number
// (/proc/sys/kernel/cap_last_cap), or CAP_BPF's when it cannot be read.
func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return capBPF
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return capBPF
	}
	return n
}

// PrivilegeError lists the capabilities the process lacks; errors.Is finds
// ErrPermission in it.
type PrivilegeError struct {
	// Missing names them, in the order CAP_BPF, CAP_PERFMON,
	// CAP_NET_ADMIN, CAP_SYS_ADMIN.
	Missing []string
	// NoCapBPF is set on a kernel older than 5.8, which has neither CAP_BPF
	// nor CAP_PERFMON: CAP_SYS_ADMIN is then what loads programs. Otherwise
	// CAP_SYS_ADMIN is missing only when a named network namespace is to
	// be entered.
	NoCapBPF bool
}

func (e *PrivilegeError) Error() string {
	return fmt.Sprintf("%v (missing %s)", ErrPermission, strings.Join(e.Explain("to enter a named network namespace"), ", "))
}

// Explain returns Missing with the reason CAP_SYS_ADMIN is needed after
// it: the kernel's age, or netnsReason.
func (e *PrivilegeError) Explain(netnsReason string) []string {
	missing := slices.Clone(e.Missing)
	for i, c := range missing {
		if c != "CAP_SYS_ADMIN" {
			continue
		}
		if e.NoCapBPF {
			missing[i] += fmt.Sprintf(" (kernel %s has no CAP_BPF or CAP_PERFMON: Linux 5.8 and later have them)", KernelRelease())
		} else {
			missing[i] += " (" + netnsReason + ")"
		}
	}
	return missing
}

func (e *PrivilegeError) Unwrap() error { return ErrPermission }

// effectiveCaps reads the process's effective capability set from /proc.
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapEff in /proc/self/status")
}

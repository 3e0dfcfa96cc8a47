package bpf

import (
	"strings"
	"testing"
)

func TestMissingCaps(t *testing.T) {
	const (
		bpf, perfmon, netAdmin, sysAdmin = 1 << capBPF, 1 << capPerfmon, 1 << capNetAdmin, 1 << capSysAdmin
		since58, before58                = 40, 38 // cap_last_cap of 5.8 and later (40 on 6.x), and of 5.4
	)
	for _, tc := range []struct {
		name  string
		eff   uint64
		last  int
		netns bool
		want  string
	}{
		{"root", ^uint64(0), since58, true, ""},
		{"bpf, perfmon, net_admin", bpf | perfmon | netAdmin, since58, false, ""},
		{"sys_admin stands in", sysAdmin | netAdmin, since58, true, ""},
		{"nothing", 0, since58, false, "CAP_BPF|CAP_PERFMON|CAP_NET_ADMIN"},
		{"netns needs sys_admin", bpf | perfmon | netAdmin, since58, true, "CAP_SYS_ADMIN"},
		{"before 5.8: sys_admin", sysAdmin | netAdmin, before58, true, ""},
		{"before 5.8: bpf bits mean nothing", bpf | perfmon | netAdmin, before58, true,
			"CAP_SYS_ADMIN"},
		{"before 5.8: nothing", 0, before58, false,
			"CAP_SYS_ADMIN|CAP_NET_ADMIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(missingCaps(tc.eff, tc.last, tc.netns), "|"); got != tc.want {
				t.Errorf("missing %q, want %q", got, tc.want)
			}
		})
	}
}

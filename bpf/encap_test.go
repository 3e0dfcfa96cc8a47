package bpf

import (
	"testing"

	"github.com/lwtdump/lwtdump/bpf/sample"
)

func TestProgramName(t *testing.T) {
	for _, tc := range []struct {
		pid   int
		hook  sample.Hook
		added bool
		name  string
	}{
		{42, sample.HookXmit, false, "lwtdump:42:xmit"},
		{42, sample.HookIn, true, "lwtdump:42:in:added"},
		{4194304, sample.HookSeg6Local, false, "lwtdump:4194304:seg6local"},
	} {
		if got := ProgramName(tc.pid, tc.hook, tc.added); got != tc.name {
			t.Errorf("ProgramName(%d, %s, %v) = %q, want %q", tc.pid, tc.hook, tc.added, got, tc.name)
		}
	}
}

func TestParseProgramName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want ProgramLabel
		ok   bool
	}{
		{"lwtdump:42:xmit", ProgramLabel{Pid: 42, Hook: "xmit"}, true},
		{"lwtdump:42:xmit[fd:7]", ProgramLabel{Pid: 42, Hook: "xmit"}, true}, // as a bpf encap dump shows it
		{"lwtdump:42:in:added[fd:12]", ProgramLabel{Pid: 42, Hook: "in", Added: true}, true},
		{"lwtdump:42:seg6local", ProgramLabel{Pid: 42, Hook: "seg6local"}, true},
		{"pass.o:[lwt_xmit]", ProgramLabel{}, false},
		{"lwtdump_xmit", ProgramLabel{}, false},
		{"lwtdump:x:xmit", ProgramLabel{}, false},
		{"lwtdump:0:xmit", ProgramLabel{}, false},
		{"", ProgramLabel{}, false},
	} {
		got, ok := ParseProgramName(tc.name)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseProgramName(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

package bpf

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// A program the verifier refuses gives one line naming the hook and what
// the verifier did not accept; the whole log is kept for a file.
func TestLoadErrorOfVerifier(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loads a BPF program: needs root")
	}
	_, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.LWTXmit, License: "GPL", Instructions: asm.Instructions{
		asm.LoadMem(asm.R0, asm.R1, 10000, asm.DWord), // past the end of the context
		asm.Return(),
	}})
	if err == nil {
		t.Fatal("the verifier accepted a read past the context")
	}
	lerr := loadError(sample.HookXmit, ebpf.LWTXmit, err)
	var verr *VerifierError
	if !errors.As(lerr, &verr) {
		t.Fatalf("%v is not a VerifierError", lerr)
	}
	want := "load lwt_xmit program: the verifier of kernel " + KernelRelease() + " refused it: invalid bpf_context access off=10000 size=8"
	if lerr.Error() != want {
		t.Errorf("error %q, want %q", lerr, want)
	}
	if !strings.Contains(verr.Log, "\nprocessed ") || !strings.HasSuffix(verr.Log, "\n") {
		t.Errorf("log is not the verifier's whole log:\n%s", verr.Log)
	}
}

// A feature the kernel lacks is said in one line with the kernel's release.
func TestLoadErrorOfMissingFeature(t *testing.T) {
	err := loadError(sample.HookIn, ebpf.LWTIn, fmt.Errorf("map create: %w", ebpf.ErrNotSupported))
	want := "load lwt_in program: kernel " + KernelRelease() + " lacks a feature lwtdump needs: map create: not supported"
	if err.Error() != want || !errors.Is(err, ebpf.ErrNotSupported) {
		t.Errorf("error %q, want %q wrapping ebpf.ErrNotSupported", err, want)
	}
}

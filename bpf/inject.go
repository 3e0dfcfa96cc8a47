package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// A filter expression reaches the kernel as classic BPF, which package
// bpf/filter compiles and translates to eBPF (filter.ToEBPF); the
// translation replaces the body of lwtdump_filter in the capture program
// before it is loaded.

// filterFunc is the function of capture.c whose body is replaced.
const filterFunc = "lwtdump_filter"

// injectFilter replaces the body of lwtdump_filter in spec with body. The
// first instruction takes over the function's metadata (its symbol, BTF
// function and line information), so that calls to it still resolve.
func injectFilter(spec *ebpf.ProgramSpec, body asm.Instructions) error {
	start := -1
	for i, ins := range spec.Instructions {
		if ins.Symbol() == filterFunc {
			start = i
			break
		}
	}
	if start < 0 {
		return fmt.Errorf("inject filter: program %s has no function %s", spec.Name, filterFunc)
	}
	end := start + 1
	for end < len(spec.Instructions) && spec.Instructions[end].Symbol() == "" {
		end++
	}
	insns := make(asm.Instructions, 0, len(spec.Instructions)-(end-start)+len(body))
	insns = append(insns, spec.Instructions[:start]...)
	first := body[0].WithMetadata(spec.Instructions[start].Metadata)
	insns = append(insns, first)
	insns = append(insns, body[1:]...)
	insns = append(insns, spec.Instructions[end:]...)
	spec.Instructions = insns
	return nil
}

package bpf

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/sample"
	cbpf "golang.org/x/net/bpf"
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

// FilterFunction returns the function lwtdump_filter of the capture
// program with prog, a classic BPF program from package bpf/filter,
// translated and spliced in, as the kernel is given it (the body is the
// same in the program of every hook). It needs no privilege: it only
// reads the program's object.
func FilterFunction(prog []cbpf.RawInstruction) (asm.Instructions, error) {
	body, err := filter.ToEBPF(prog, filter.EBPFOptions{})
	if err != nil {
		return nil, err
	}
	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("load capture program: %w", err)
	}
	p := spec.Programs[programNames[sample.HookXmit]]
	if err := injectFilter(p, body); err != nil {
		return nil, err
	}
	for i, ins := range p.Instructions {
		if ins.Symbol() != filterFunc {
			continue
		}
		// The body replaced the function whole; its first instruction
		// kept the line information of the C placeholder, which says
		// nothing of the filter.
		fn := slices.Clone(p.Instructions[i : i+len(body)])
		fn[0] = fn[0].WithSource(nil)
		return fn, nil
	}
	return nil, fmt.Errorf("inject filter: program %s has no function %s", p.Name, filterFunc)
}

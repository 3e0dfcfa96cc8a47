package bpf

// What the running kernel offers: the ring buffer or the perf buffer as the
// transport, and what to say when something lwtdump uses is missing. The
// minimum kernel of each feature is in README ("Kernels").

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"golang.org/x/sys/unix"
)

// A Notice says what lwtdump does differently on the running kernel, in one
// line, such as using the perf buffer where the ring buffer cannot be used.
type Notice struct {
	Message string
	// Log is the verifier's log behind the notice, when the kernel's
	// verifier refused a program; else "".
	Log string
}

// VerifierError means the kernel's verifier refused a capture program.
// Its message is one line; Log holds the verifier's whole log.
type VerifierError struct {
	Hook   sample.Hook
	Reason string // the log's last words
	Log    string
	err    *ebpf.VerifierError
}

func (e *VerifierError) Error() string {
	return fmt.Sprintf("the verifier of kernel %s refused it: %s", KernelRelease(), e.Reason)
}

func (e *VerifierError) Unwrap() error { return e.err }

// newVerifierError keeps the log of err and its last line, the one that
// says what the verifier did not accept.
func newVerifierError(hook sample.Hook, err *ebpf.VerifierError) *VerifierError {
	log := err.Log
	for n := len(log); n > 0 && (strings.TrimSpace(log[n-1]) == "" || strings.HasPrefix(log[n-1], "processed ")); n = len(log) {
		log = log[:n-1]
	}
	reason := err.Cause.Error()
	if len(log) > 0 {
		reason = strings.TrimSpace(log[len(log)-1])
	}
	return &VerifierError{Hook: hook, Reason: reason, Log: strings.Join(err.Log, "\n") + "\n", err: err}
}

// KernelRelease is the running kernel's release, as uname -r prints it.
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// haveRingBuffer reports whether the kernel has BPF ring buffers (5.8).
func haveRingBuffer() bool {
	if testKernelLacks("ringbuf") {
		return false
	}
	return features.HaveMapType(ebpf.RingBuf) == nil
}

// ringPlaceholder stands in for the ring buffer map where the kernel has
// none: the programs refer to the map, but with the perf buffer as the
// transport the code that uses it is dead, and the verifier skips it.
var ringPlaceholder = &ebpf.MapSpec{Name: "ring", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}

// hookNeeds names, for each hook, the program type the kernel must know and
// the first release that does. (Whether the kernel can attach it to a
// route depends on CONFIG_LWTUNNEL_BPF and CONFIG_IPV6_SEG6_BPF, which the
// route change finds out.)
var hookNeeds = map[sample.Hook]string{
	sample.HookIn:        "BPF programs at LWT hooks (Linux 4.10 and later)",
	sample.HookOut:       "BPF programs at LWT hooks (Linux 4.10 and later)",
	sample.HookXmit:      "BPF programs at LWT hooks (Linux 4.10 and later)",
	sample.HookSeg6Local: "SRv6 End.BPF programs (Linux 4.18 and later)",
}

// loadError explains why the program of hook could not be loaded, in one
// line: a program type the kernel lacks, another missing feature, or the
// verifier's refusal (a *VerifierError, with the whole log).
func loadError(hook sample.Hook, typ ebpf.ProgramType, err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("load %s program: kernel %s lacks a feature lwtdump needs: %w", hook, KernelRelease(), err)
	}
	if features.HaveProgramType(typ) != nil {
		return fmt.Errorf("load %s program: kernel %s cannot run it: it needs %s: %w", hook, KernelRelease(), hookNeeds[hook], ebpf.ErrNotSupported)
	}
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) && len(verr.Log) > 0 {
		return fmt.Errorf("load %s program: %w", hook, newVerifierError(hook, verr))
	}
	return fmt.Errorf("load %s program: %w", hook, permission(err))
}

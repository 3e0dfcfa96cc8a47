//go:build lwtdump_testhooks

package bpf

import (
	"errors"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
)

// readErrorAt is LWTDUMP_TEST_READ_ERROR, read once.
var readErrorAt, readErrorErr = strconv.ParseUint(os.Getenv("LWTDUMP_TEST_READ_ERROR"), 10, 64)

// testReadError fails the read that comes when exactly the number of
// samples in LWTDUMP_TEST_READ_ERROR were written (which ends the reader). It exists only in binaries built
// with the lwtdump_testhooks tag, which the end-to-end tests use to prove
// that a failing reader ends the capture cleanly.
func testReadError(written uint64) error {
	if readErrorErr == nil && written == readErrorAt {
		return errors.New("test error in the reader")
	}
	return nil
}

// testKernelLacks reports whether LWTDUMP_TEST_KERNEL_LACKS names feature,
// so that the end-to-end tests can show what lwtdump does on a kernel
// without it: "ringbuf" (no BPF ring buffer maps, before 5.8) or
// "ringbuf-verifier" (a verifier that refuses the program with the ring
// buffer, as 6.1's did).
func testKernelLacks(feature string) bool {
	return os.Getenv("LWTDUMP_TEST_KERNEL_LACKS") == feature
}

// testRingMap returns the ring buffer map for a program's load. With
// LWTDUMP_TEST_KERNEL_LACKS=ringbuf-verifier and the ring buffer as the
// transport it is an array map instead, which the kernel's verifier really
// refuses to bpf_ringbuf_reserve; the spec is changed to match.
func testRingMap(spec *ebpf.CollectionSpec, ring *ebpf.Map, ringTransport bool) (*ebpf.Map, func(), error) {
	if !ringTransport || !testKernelLacks("ringbuf-verifier") {
		return ring, func() {}, nil
	}
	spec.Maps["ring"] = ringPlaceholder.Copy()
	m, err := ebpf.NewMap(spec.Maps["ring"])
	if err != nil {
		return nil, nil, err
	}
	return m, func() { m.Close() }, nil
}

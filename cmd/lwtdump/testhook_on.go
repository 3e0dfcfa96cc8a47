//go:build lwtdump_testhooks

package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// testHook panics at the named point when LWTDUMP_TEST_PANIC names it. It
// exists only in binaries built with the lwtdump_testhooks tag, which the
// end-to-end tests use to prove that a panic restores the routes.
func testHook(point string) {
	if os.Getenv("LWTDUMP_TEST_PANIC") == point {
		panic(fmt.Sprintf("test panic at %s", point))
	}
}

// testSink returns sink, or with LWTDUMP_TEST_PANIC=sample:N a sink that
// panics on the sample after N were written, in the middle of a capture.
func testSink(sink bpf.Sink) bpf.Sink {
	n, err := strconv.Atoi(strings.TrimPrefix(os.Getenv("LWTDUMP_TEST_PANIC"), "sample:"))
	if err != nil || !strings.HasPrefix(os.Getenv("LWTDUMP_TEST_PANIC"), "sample:") {
		return sink
	}
	return &panickingSink{Sink: sink, left: n}
}

// panickingSink panics once left samples were written.
type panickingSink struct {
	bpf.Sink
	left int
}

func (p *panickingSink) WriteSample(s *sample.Sample) error {
	if p.left == 0 {
		panic("test panic at a sample")
	}
	p.left--
	return p.Sink.WriteSample(s)
}

// Delivered is the Delivered of the sink it wraps, if that is a
// bpf.DeliveringSink, and otherwise what it took.
func (p *panickingSink) Delivered(attachment uint32) uint64 {
	if ds, ok := p.Sink.(bpf.DeliveringSink); ok {
		return ds.Delivered(attachment)
	}
	return math.MaxUint64
}

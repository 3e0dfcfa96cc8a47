//go:build !lwtdump_testhooks

package main

import "github.com/lwtdump/lwtdump/bpf"

// testHook does nothing: see testhook_on.go.
func testHook(string) {}

// testSink returns sink: see testhook_on.go.
func testSink(sink bpf.Sink) bpf.Sink { return sink }

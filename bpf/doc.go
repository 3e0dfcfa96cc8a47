// Package bpf is the kernel side of lwtdump: it loads the capture program
// once per attachment (route x hook), builds the route encaps that run it,
// reads the samples it sends through the BPF ring buffer (the default) or
// the perf event array and decodes them into sample.Sample values, and
// reads its per-attachment counters. A filter expression, compiled to
// classic BPF and translated to eBPF by package bpf/filter, runs in the
// capture program (inject.go).
//
// The C source is capture.c; capture_bpfel.go and capture_bpfel.o are
// generated from it by bpf2go (make generate) and committed, so building
// lwtdump needs no clang.
package bpf

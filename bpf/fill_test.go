package bpf

import "testing"

func TestRingFill(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prod, cons uint64
		used       uint64
	}{
		{"empty", 4096, 4096, 0},
		{"some", 12288 + 100, 12288, 100},
		{"full", 8192 + 4096, 8192, 4096},
		{"positions wrapped past the size", 1<<40 + 300, 1<<40 - 200, 500},
		{"consumer published ahead", 10, 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prod, cons := tc.prod, tc.cons
			r := &Reader{t: &ring{producer: &prod, consumer: &cons, mask: 4095}}
			used, size, ok := r.BufferFill()
			if !ok || used != tc.used || size != 4096 {
				t.Errorf("BufferFill() = %d, %d, %v; want %d, 4096, true", used, size, ok, tc.used)
			}
		})
	}
	if _, _, ok := (&Reader{t: &perfEvents{}}).BufferFill(); ok {
		t.Error("the perf buffers report a fill")
	}
}

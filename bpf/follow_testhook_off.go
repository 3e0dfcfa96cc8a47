//go:build !lwtdump_testhooks

package bpf

// testRestorePause does nothing: see follow_testhook_on.go.
func testRestorePause() {}

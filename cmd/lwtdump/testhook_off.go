//go:build !lwtdump_testhooks

package main

// testHook does nothing: see testhook_on.go.
func testHook(string) {}

//go:build lwtdump_testhooks

package main

import (
	"fmt"
	"os"
)

// testHook panics at the named point when LWTDUMP_TEST_PANIC names it. It
// exists only in binaries built with the lwtdump_testhooks tag, which the
// end-to-end tests use to prove that a panic restores the routes.
func testHook(point string) {
	if os.Getenv("LWTDUMP_TEST_PANIC") == point {
		panic(fmt.Sprintf("test panic at %s", point))
	}
}

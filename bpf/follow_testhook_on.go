//go:build lwtdump_testhooks

package bpf

import (
	"os"
	"time"
)

// testRestorePause, when LWTDUMP_TEST_RESTORE_PAUSE names a path, creates
// PATH.paused between the look-up of a route and its restore, and waits
// (at most 10 s) until PATH.go exists, so that an end-to-end test can
// change the route in that window. It exists only in binaries built with
// the lwtdump_testhooks tag.
func testRestorePause() {
	path := os.Getenv("LWTDUMP_TEST_RESTORE_PAUSE")
	if path == "" {
		return
	}
	if err := os.WriteFile(path+".paused", nil, 0o600); err != nil {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path + ".go"); err == nil {
			os.Remove(path + ".go")
			return
		}
	}
}

//go:build lwtdump_testhooks

package main

import (
	"os"
	"time"
)

// dropLogEvery is how often drop counts are said: dropLogDefault, or
// LWTDUMP_TEST_DROP_EVERY (a Go duration) in the binaries the end-to-end
// tests build, which cannot wait a minute.
func dropLogEvery() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LWTDUMP_TEST_DROP_EVERY")); err == nil && d > 0 {
		return d
	}
	return dropLogDefault
}

//go:build !lwtdump_testhooks

package main

import "time"

// dropLogEvery is how often drop counts are said: see servicehook_on.go.
func dropLogEvery() time.Duration { return dropLogDefault }

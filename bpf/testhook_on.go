//go:build lwtdump_testhooks

package bpf

import (
	"errors"
	"os"
	"strconv"
)

// readErrorAt is LWTDUMP_TEST_READ_ERROR, read once.
var readErrorAt, readErrorErr = strconv.ParseUint(os.Getenv("LWTDUMP_TEST_READ_ERROR"), 10, 64)

// testReadError fails the read that comes when exactly the number of
// samples in LWTDUMP_TEST_READ_ERROR were written (which ends the reader). It exists only in binaries built
// with the lwtdump_testhooks tag, which the end-to-end tests use to prove
// that a failing reader ends the capture cleanly.
func testReadError(written uint64) error {
	if readErrorErr == nil && written == readErrorAt {
		return errors.New("test error in the reader")
	}
	return nil
}

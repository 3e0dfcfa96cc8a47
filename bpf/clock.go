package bpf

import "golang.org/x/sys/unix"

// Clock converts the capture program's timestamps to wall-clock time.
//
// The program reads bpf_ktime_get_ns(), which is CLOCK_MONOTONIC: cheap in
// the kernel and never stepped. The offset to CLOCK_REALTIME is measured when
// the capture starts and applied to every sample; the Reader measures it
// again on every flush tick (at least every 100 ms), so that when the wall
// clock is stepped (settimeofday, an NTP step, a virtual machine's clock
// corrected by its host) timestamps follow within one tick, as tcpdump's do.
type Clock struct {
	offset int64 // CLOCK_REALTIME - CLOCK_MONOTONIC, in nanoseconds
}

// NewClock measures the offset between the monotonic and the wall clock:
// of several readings realtime-monotonic-realtime it keeps the tightest and
// takes its midpoint, which is accurate to well under a microsecond.
func NewClock() Clock {
	best := int64(-1)
	var offset int64
	for range 16 {
		var r1, m, r2 unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r1)
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r2)
		span := r2.Nano() - r1.Nano()
		if best < 0 || span < best {
			best = span
			offset = r1.Nano() + span/2 - m.Nano()
		}
	}
	return Clock{offset: offset}
}

// Wall converts a CLOCK_MONOTONIC reading to nanoseconds since the Unix epoch.
func (c Clock) Wall(monotonic uint64) int64 { return int64(monotonic) + c.offset }

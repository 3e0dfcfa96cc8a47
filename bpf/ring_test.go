package bpf

import (
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// The ring buffer's wake-up, on the real kernel: a reader waiting for data
// sleeps while less than the watermark waits in the ring, is woken up once
// the watermark is reached, and is woken up again in the next round after it
// has read everything and published its position; the program wakes it once
// per consumer position, not once per packet above the watermark.
func TestRingWakeup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel test: needs root to load eBPF programs")
	}
	const watermark = 64 << 10
	opts := ReaderOptions{Transport: RingBuffer, PerCPUBuffer: 1 << 20, Watermark: watermark}
	c, err := NewCollection(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Transport() != RingBuffer {
		t.Skip("no BPF ring buffer on this kernel")
	}
	prog, err := c.Program(0, sample.Attachment{Hook: sample.HookXmit, Snaplen: MaxSnaplen})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rg := r.t.(*ring)
	in := frame(udpPacket(112))
	const record = 184 // ring header, sample header and 112 bytes in the 128-byte class
	send := func(n int) {
		t.Helper()
		if _, err := prog.Run(&ebpf.RunOptions{Data: in, Repeat: uint32(n)}); err != nil {
			t.Fatal(err)
		}
	}
	woken := func() uint64 {
		t.Helper()
		var v uint64
		if err := c.ringWoken.Lookup(uint32(0), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	for round := range 3 {
		// The reader has read everything and waits, with a far deadline.
		consumer := *rg.consumer
		rg.setDeadline(time.Now().Add(time.Minute))
		got := make(chan error, 1)
		go func() { _, err := waitRecord(rg); got <- err }()
		time.Sleep(100 * time.Millisecond) // let it reach its wait

		// Below the watermark, it sleeps on.
		send(watermark/record - 8)
		if w := woken(); w == consumer|1 {
			t.Fatalf("round %d: woken up below the watermark", round)
		}
		select {
		case err := <-got:
			t.Fatalf("round %d: the wait ended below the watermark (%v)", round, err)
		case <-time.After(200 * time.Millisecond):
		}

		// At the watermark it is woken up, and the program records the
		// wake-up at the consumer position it saw, once, however far
		// above the watermark the ring goes.
		send(watermark / record)
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("round %d: the wait ended with %v, want a record", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the reader was not woken up at the watermark", round)
		}
		if w := woken(); w != consumer|1 {
			t.Fatalf("round %d: woken at consumer position %d, want %d", round, w, consumer|1)
		}
		drain(rg)
	}
	counters, err := c.Counters(0)
	if err != nil {
		t.Fatal(err)
	}
	if counters.Dropped != 0 {
		t.Errorf("dropped %d", counters.Dropped)
	}
}

// waitRecord waits for the next record, as the reader does when the ring is
// empty: publish, then wait until the kernel wakes it or the deadline.
func waitRecord(rg *ring) ([]byte, error) {
	raw, _, _, err := rg.next()
	return raw, err
}

// drain reads every record there is and publishes the consumer position.
func drain(rg *ring) {
	for rg.take() != nil {
	}
	rg.publish()
}

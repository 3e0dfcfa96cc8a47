package bpf

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/rlimit"
	"github.com/lwtdump/lwtdump/bpf/filter"
	"github.com/lwtdump/lwtdump/bpf/sample"
	cbpf "golang.org/x/net/bpf"
)

// MaxAttachments is how many attachments one capture can have (the size of
// the counters map).
const MaxAttachments = 256

// MaxSnaplen is the largest snaplen accepted, as in tcpdump. The ring
// buffer copies that much of a packet.
const MaxSnaplen = 262144

// PerfMaxCaplen is the most the perf buffer copies of a packet: a perf
// sample's size is 16 bits (PERF_MAX_CAPLEN in capture.c).
const PerfMaxCaplen = 65535 - 256

// programNames maps each hook to its program in capture.c.
var programNames = map[sample.Hook]string{
	sample.HookIn:        "lwtdump_in",
	sample.HookOut:       "lwtdump_out",
	sample.HookXmit:      "lwtdump_xmit",
	sample.HookSeg6Local: "lwtdump_seg6",
}

// Transport is how samples travel from the programs to user space.
type Transport int

// The transports.
const (
	// RingBuffer, the default, is a BPF ring buffer: one buffer shared by
	// every CPU, so samples arrive in the order they were taken. It costs
	// the forwarding CPU about a third of what the perf buffer does
	// (BenchmarkPipeline and scripts/bench.sh measure both).
	RingBuffer Transport = iota
	// PerfBuffer is a perf event array: one buffer per CPU, filled by
	// bpf_perf_event_output, which copies the packet straight from the
	// skb. Samples of different CPUs may reach the file out of order.
	PerfBuffer
)

// String names the transport as ParseTransport reads it.
func (t Transport) String() string {
	if t == RingBuffer {
		return "ringbuf"
	}
	return "perf"
}

// ParseTransport accepts "perf" or "ringbuf".
func ParseTransport(s string) (Transport, error) {
	switch s {
	case "perf":
		return PerfBuffer, nil
	case "ringbuf":
		return RingBuffer, nil
	}
	return 0, fmt.Errorf("unknown transport %q (want perf or ringbuf)", s)
}

// Collection holds what every attachment of one capture shares, the event
// buffer and the counters, and the programs loaded for the attachments.
type Collection struct {
	spec      *ebpf.CollectionSpec
	transport Transport
	notify    func(Notice)
	wakeup    uint32
	events    *ebpf.Map
	ring      *ebpf.Map
	ringWoken *ebpf.Map // the ring's consumer position at the last wake-up, shared by the programs
	counters  *ebpf.Map
	progs     []*ebpf.Program
	filter    asm.Instructions // the filter expression, translated; nil for none
}

// NewCollection creates the shared maps for the reader options' transport
// and sizes. Close it when the capture ends.
func NewCollection(opts ReaderOptions) (_ *Collection, err error) {
	opts.setDefaults()
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock limit: %w", err)
	}
	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("load capture spec: %w", err)
	}
	c := &Collection{spec: spec, transport: opts.Transport, notify: opts.Notify, wakeup: uint32(opts.Watermark)}
	defer func() {
		if err != nil {
			c.Close() // c, not the result, which a failing return sets to nil
		}
	}()
	if c.events, err = ebpf.NewMap(spec.Maps["events"]); err != nil {
		return nil, fmt.Errorf("create event map: %w", permission(err))
	}
	switch {
	case !haveRingBuffer():
		spec.Maps["ring"] = ringPlaceholder.Copy()
		if c.transport == RingBuffer {
			c.fallBack(Notice{Message: fmt.Sprintf("the BPF ring buffer cannot be used: kernel %s has none (Linux 5.8 and later have it); using the perf buffer", KernelRelease())})
		}
	case c.transport == RingBuffer:
		spec.Maps["ring"].MaxEntries = uint32(opts.RingSize())
	}
	if c.ring, err = ebpf.NewMap(spec.Maps["ring"]); err != nil {
		return nil, fmt.Errorf("create ring buffer: %w", permission(err))
	}
	if c.counters, err = ebpf.NewMap(spec.Maps["counters"]); err != nil {
		return nil, fmt.Errorf("create counters map: %w", permission(err))
	}
	if c.ringWoken, err = ebpf.NewMap(spec.Maps["ring_woken"]); err != nil {
		return nil, fmt.Errorf("create wake-up map: %w", permission(err))
	}
	return c, nil
}

// Events is the perf event array the programs write samples to with PerfBuffer.
func (c *Collection) Events() *ebpf.Map { return c.events }

// SetFilter makes the programs loaded from now on copy only the packets
// that prog, a classic BPF program from package bpf/filter, accepts; the
// others are counted as filtered. nil removes the filter.
func (c *Collection) SetFilter(prog []cbpf.RawInstruction) error {
	if prog == nil {
		c.filter = nil
		return nil
	}
	insns, err := filter.ToEBPF(prog, filter.EBPFOptions{})
	if err != nil {
		return err
	}
	c.filter = insns
	return nil
}

// Ring is the ring buffer the programs write samples to with RingBuffer.
func (c *Collection) Ring() *ebpf.Map { return c.ring }

// Transport is the collection's transport.
func (c *Collection) Transport() Transport { return c.transport }

// Program loads the capture program for one attachment, with the
// attachment's number, cookie and snaplen written into its constants. The
// program is closed with the collection.
//
// When the kernel's verifier refuses the first program with the ring
// buffer, the collection falls back to the perf buffer, says so through
// ReaderOptions.Notify, and loads it again. (Every hook's program sends its
// samples with the same code, so the first one decides.)
func (c *Collection) Program(id uint32, a sample.Attachment) (*ebpf.Program, error) {
	prog, err := c.load(id, a)
	var verr *VerifierError
	if err != nil && c.transport == RingBuffer && len(c.progs) == 0 && errors.As(err, &verr) {
		if ferr := c.fallBack(Notice{
			Message: fmt.Sprintf("the BPF ring buffer cannot be used: the verifier of kernel %s refused the %s program with it (%s); using the perf buffer",
				KernelRelease(), verr.Hook, verr.Reason),
			Log: verr.Log,
		}); ferr != nil {
			return nil, errors.Join(err, ferr)
		}
		prog, err = c.load(id, a)
	}
	if err != nil {
		return nil, err
	}
	c.progs = append(c.progs, prog)
	return prog, nil
}

// fallBack makes the perf buffer the transport and tells the caller why. The
// ring buffer shrinks to the smallest the kernel allows: the programs still
// refer to it, but never use it.
func (c *Collection) fallBack(n Notice) error {
	c.transport = PerfBuffer
	if c.notify != nil {
		c.notify(n)
	}
	if c.ring == nil {
		return nil // not created yet: NewCollection creates it at its spec's size
	}
	c.ring.Close()
	c.ring = nil
	ring := c.spec.Maps["ring"]
	ring.MaxEntries = uint32(os.Getpagesize())
	var err error
	if c.ring, err = ebpf.NewMap(ring); err != nil {
		return fmt.Errorf("create ring buffer: %w", permission(err))
	}
	return nil
}

// load loads the program of one attachment for the collection's transport.
func (c *Collection) load(id uint32, a sample.Attachment) (*ebpf.Program, error) {
	if id >= MaxAttachments {
		return nil, fmt.Errorf("load program: at most %d attachments", MaxAttachments)
	}
	name, ok := programNames[a.Hook]
	if !ok {
		return nil, fmt.Errorf("load program: no program for hook %s", a.Hook)
	}
	spec := c.spec.Copy()
	for p := range spec.Programs {
		if p != name {
			delete(spec.Programs, p)
		}
	}
	hasFilter := uint8(0)
	if c.filter != nil {
		hasFilter = 1
		if err := injectFilter(spec.Programs[name], c.filter); err != nil {
			return nil, err
		}
	}
	constants := map[string]any{
		"attachment": id, "cookie": a.Cookie, "snaplen": a.Snaplen, "has_filter": hasFilter,
		"use_ringbuf": boolByte(c.transport == RingBuffer), "wakeup_bytes": c.wakeup,
	}
	for v, value := range constants {
		if err := spec.Variables[v].Set(value); err != nil {
			return nil, fmt.Errorf("set %s: %w", v, err)
		}
	}
	ring, closeRing, err := testRingMap(spec, c.ring, c.transport == RingBuffer)
	if err != nil {
		return nil, err
	}
	defer closeRing()
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{"events": c.events, "ring": ring, "counters": c.counters, "ring_woken": c.ringWoken},
	})
	if err != nil {
		return nil, loadError(a.Hook, spec.Programs[name].Type, err)
	}
	prog := coll.Programs[name]
	delete(coll.Programs, name)
	coll.Close() // the maps are the collection's own; the program stays open
	return prog, nil
}

// Counters sums the per-CPU counters of one attachment.
func (c *Collection) Counters(id uint32) (sample.Counters, error) {
	var perCPU []captureAttachCounters
	if err := c.counters.Lookup(id, &perCPU); err != nil {
		return sample.Counters{}, fmt.Errorf("read counters of attachment %d: %w", id, err)
	}
	var sum sample.Counters
	for _, v := range perCPU {
		sum.Seen += v.Seen
		sum.Dropped += v.Dropped
		sum.Filtered += v.Filtered
	}
	return sum, nil
}

// Close unloads the programs and releases the maps. Detach the programs from
// their routes first: a route keeps its own reference to a program.
func (c *Collection) Close() error {
	for _, p := range c.progs {
		p.Close()
	}
	c.progs = nil
	if c.events != nil {
		c.events.Close()
	}
	if c.ring != nil {
		c.ring.Close()
	}
	if c.counters != nil {
		c.counters.Close()
	}
	if c.ringWoken != nil {
		c.ringWoken.Close()
	}
	return nil
}

// ErrPermission means the kernel refused for lack of privilege.
var ErrPermission = errors.New("permission denied: needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN")

func permission(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (%v)", ErrPermission, err)
	}
	return err
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

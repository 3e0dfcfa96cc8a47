// Package sample defines the one record that crosses from the kernel side of
// lwtdump to its writers: a captured packet with the metadata of the hook that
// saw it. It lives beside the kernel side, which defines the record, and is a
// leaf: it imports no other package of lwtdump and holds plain Go values only,
// no kernel types, so that writer and the readers depend on it and on nothing
// of bpf.
package sample

import (
	"errors"
	"fmt"
	"strings"
)

// Hook is an LWT hook (or the SRv6 End.BPF action) a capture program runs at.
type Hook uint8

// The hooks. Their numbers are those the capture program writes.
const (
	HookIn        Hook = 1 // lwt_in: the route's input path (packets received for it)
	HookOut       Hook = 2 // lwt_out: the route's output path, before the neighbour lookup
	HookXmit      Hook = 3 // lwt_xmit: the route's transmit path, just before the device
	HookSeg6Local Hook = 4 // lwt_seg6local: an SRv6 End.BPF action
)

// Hooks lists every hook in a fixed order.
var Hooks = []Hook{HookIn, HookOut, HookXmit, HookSeg6Local}

var hookNames = [...]string{
	HookIn:        "lwt_in",
	HookOut:       "lwt_out",
	HookXmit:      "lwt_xmit",
	HookSeg6Local: "lwt_seg6local",
}

// String returns the hook's kernel name, such as "lwt_xmit".
func (h Hook) String() string {
	if int(h) < len(hookNames) && hookNames[h] != "" {
		return hookNames[h]
	}
	return fmt.Sprintf("hook%d", uint8(h))
}

// Inbound reports whether packets at the hook travel towards this host (the
// input path) rather than away from it.
func (h Hook) Inbound() bool { return h == HookIn || h == HookSeg6Local }

// ParseHook accepts a hook's kernel name ("lwt_xmit") or its short form ("xmit", "seg6local").
func ParseHook(s string) (Hook, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, h := range Hooks {
		full := h.String()
		if name == full || name == strings.TrimPrefix(full, "lwt_") {
			return h, nil
		}
	}
	return 0, fmt.Errorf("unknown hook %q (want in, out, xmit or seg6local)", s)
}

// Sample is one packet as a hook saw it.
type Sample struct {
	Attachment uint32 // index of the attachment (route x hook); the pcapng interface id
	Hook       Hook
	Cookie     uint64
	Ifindex    uint32 // the packet's device: input device at lwt_in, output device otherwise
	Mark       uint32 // skb mark
	CPU        uint32
	Protocol   uint16 // EtherType of the packet (0x0800 IPv4, 0x86dd IPv6)
	Time       int64  // wall-clock time, nanoseconds since the Unix epoch
	OrigLen    uint32 // length of the packet on the wire; Data may be shorter (snaplen)
	Data       []byte // the captured bytes, starting at the IP header; owned by the reader until the next read
}

// Counters are what became of one attachment's packets. The capture
// program counts Seen, Dropped and Filtered; user space counts the rest
// (where only the kernel's counters are read, they are 0). Each packet the
// hook saw is counted once, so that once a capture has ended, its
// programs detached and its buffers read out,
//
//	Seen = Filtered + Dropped + Written + Unwritten + AfterEnd
//
// but for samples that could not be decoded, which name no attachment.
// While it runs, the difference is what is on its way through the buffers.
type Counters struct {
	Seen     uint64 // packets that reached the hook
	Dropped  uint64 // packets lost before user space because the event buffer was full
	Filtered uint64 // packets that did not match the filter expression and were not copied

	// Written is the number of packets in the output: written to the
	// file or the pipe, or printed.
	Written uint64
	// Unwritten is the number of packets lost to a failed write: given
	// to the output when a write to it failed, or after (then read out of
	// the buffers and left out).
	Unwritten uint64
	// AfterEnd is the number of packets the hook copied after the capture
	// reached its end (the count of -c, the last file of -G with -W)
	// until its program was detached: read out of the buffers and left
	// out.
	AfterEnd uint64
}

// ErrDone is wrapped by the error of a writer of samples that wants no
// more, because its work is complete (such as package writer's ErrDone:
// its last file is): the capture ends then as at its count, normally.
var ErrDone = errors.New("no more samples wanted")

// Attachment describes where one capture program runs: a route and a hook.
// The writer names pcapng interfaces and writes packet comments from it.
type Attachment struct {
	Hook    Hook
	Cookie  uint64
	Route   string // the route's prefix, such as "2001:db8:20::/48"
	Dev     string // the route's output device name ("" when the route has none)
	Table   uint32 // routing table
	Netns   string // network namespace name ("" for the current one)
	Snaplen uint32
	Filter  string // filter expression, "" when none
}

// Name is the attachment's pcapng interface name: "lwt_xmit:2001:db8:20::/48@r1_h2".
func (a Attachment) Name() string {
	name := a.Hook.String() + ":" + a.Route
	if a.Dev != "" {
		name += "@" + a.Dev
	}
	return name
}

// Gap is a time during which an attachment's capture point was gone: its
// route was removed or replaced by another process, and no packet could
// reach the program until lwtdump attached it to the route again.
type Gap struct {
	Start int64 // when the capture point went away, nanoseconds since the Unix epoch
	End   int64 // when it came back; 0 while it is still gone
	// Cause says what happened, such as "route removed by zebra (pid 4242)".
	Cause string
	// Back says what the capture point came back on, such as "proto bgp
	// via fe80::1 dev r1_h2"; empty while it is still gone.
	Back string
}

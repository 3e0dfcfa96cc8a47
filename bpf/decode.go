package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/lwtdump/lwtdump/bpf/sample"
)

// HeaderSize is the size of the header the program sends before the packet bytes.
const HeaderSize = int(unsafe.Sizeof(captureSampleHdr{}))

// Offsets of the header's fields, taken from the bpf2go mirror of the C struct.
const (
	offTs         = unsafe.Offsetof(captureSampleHdr{}.TsNs)
	offCookie     = unsafe.Offsetof(captureSampleHdr{}.Cookie)
	offAttachment = unsafe.Offsetof(captureSampleHdr{}.Attachment)
	offIfindex    = unsafe.Offsetof(captureSampleHdr{}.Ifindex)
	offMark       = unsafe.Offsetof(captureSampleHdr{}.Mark)
	offOrigLen    = unsafe.Offsetof(captureSampleHdr{}.OrigLen)
	offCapLen     = unsafe.Offsetof(captureSampleHdr{}.CapLen)
	offCPU        = unsafe.Offsetof(captureSampleHdr{}.Cpu)
	offProtocol   = unsafe.Offsetof(captureSampleHdr{}.Protocol)
	offHook       = unsafe.Offsetof(captureSampleHdr{}.Hook)
)

// ErrMalformed means a sample does not have the layout the program writes.
var ErrMalformed = errors.New("malformed sample")

// Decode fills s from one raw sample: the header, then cap_len packet bytes,
// and whatever follows them (the perf buffer pads a sample to 8 bytes; a
// ring buffer record has the fixed size of its size class, see capture.c). s.Data aliases
// raw.
func Decode(raw []byte, clock Clock, s *sample.Sample) error {
	if len(raw) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, header alone is %d", ErrMalformed, len(raw), HeaderSize)
	}
	ne := binary.NativeEndian
	capLen := ne.Uint32(raw[offCapLen:])
	origLen := ne.Uint32(raw[offOrigLen:])
	if uint64(capLen) > uint64(len(raw)-HeaderSize) || capLen > origLen {
		return fmt.Errorf("%w: cap_len %d, orig_len %d, %d bytes of data", ErrMalformed, capLen, origLen, len(raw)-HeaderSize)
	}
	hook := sample.Hook(raw[offHook])
	if hook < sample.HookIn || hook > sample.HookSeg6Local {
		return fmt.Errorf("%w: hook %d", ErrMalformed, hook)
	}
	s.Time = clock.Wall(ne.Uint64(raw[offTs:]))
	s.Cookie = ne.Uint64(raw[offCookie:])
	s.Attachment = ne.Uint32(raw[offAttachment:])
	s.Ifindex = ne.Uint32(raw[offIfindex:])
	s.Mark = ne.Uint32(raw[offMark:])
	s.CPU = ne.Uint32(raw[offCPU:])
	s.Protocol = binary.BigEndian.Uint16(raw[offProtocol:])
	s.Hook = hook
	s.OrigLen = origLen
	s.Data = raw[HeaderSize : HeaderSize+int(capLen)]
	return nil
}

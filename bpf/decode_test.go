package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/lwtdump/lwtdump/bpf/sample"
)

// rawSample builds a sample as the capture program sends it, with pad bytes
// of perf padding after the packet.
func rawSample(h captureSampleHdr, data []byte, pad int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.NativeEndian, h)
	b.Write(data)
	b.Write(make([]byte, pad))
	return b.Bytes()
}

func TestHeaderLayout(t *testing.T) {
	// The C struct is 48 bytes; a change must be made on both sides.
	if HeaderSize != 48 {
		t.Fatalf("sample header is %d bytes, want 48", HeaderSize)
	}
}

func TestDecode(t *testing.T) {
	clock := Clock{offset: 1_000_000_000}
	data := []byte{0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	hdr := captureSampleHdr{
		TsNs: 5, Cookie: 0xbeef, Attachment: 2, Ifindex: 3, Mark: 0x2a, OrigLen: 1500,
		CapLen: uint32(len(data)), Cpu: 1, Hook: uint8(sample.HookXmit),
	}
	hdr.Protocol = binary.NativeEndian.Uint16([]byte{0x86, 0xdd}) // network byte order in memory

	for _, tc := range []struct {
		name string
		raw  []byte
		err  bool
	}{
		{"exact", rawSample(hdr, data, 0), false},
		{"perf padding", rawSample(hdr, data, 6), false},
		{"empty", nil, true},
		{"short header", rawSample(hdr, data, 0)[:HeaderSize-1], true},
		{"data cut short", rawSample(hdr, data, 0)[:HeaderSize+3], true},
		{"caplen above origlen", rawSample(withLens(hdr, 20, 10), data, 10), true},
		{"unknown hook", rawSample(withHook(hdr, 9), data, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s sample.Sample
			err := Decode(tc.raw, clock, &s)
			if tc.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := sample.Sample{Attachment: 2, Hook: sample.HookXmit, Cookie: 0xbeef, Ifindex: 3, Mark: 0x2a, CPU: 1,
				Protocol: 0x86dd, Time: 1_000_000_005, OrigLen: 1500, Data: data}
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("decoded %+v, want %+v", s, want)
			}
		})
	}
}

func withLens(h captureSampleHdr, capLen, origLen uint32) captureSampleHdr {
	h.CapLen, h.OrigLen = capLen, origLen
	return h
}

func withHook(h captureSampleHdr, hook uint8) captureSampleHdr {
	h.Hook = hook
	return h
}

// Whatever the bytes, Decode returns a sample whose data lies inside the
// input and is no longer than its original length, or ErrMalformed; it never panics.
func FuzzDecode(f *testing.F) {
	hdr := captureSampleHdr{TsNs: 1, CapLen: 4, OrigLen: 100, Hook: uint8(sample.HookIn)}
	f.Add(rawSample(hdr, []byte{0x45, 0, 0, 20}, 4))
	f.Add(rawSample(hdr, nil, 0))
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var s sample.Sample
		err := Decode(raw, Clock{}, &s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(s.Data) > len(raw)-HeaderSize || uint32(len(s.Data)) > s.OrigLen {
			t.Fatalf("data of %d bytes from %d raw bytes, orig_len %d", len(s.Data), len(raw), s.OrigLen)
		}
	})
}

package pcapread

import (
	"errors"
	"io"

	"github.com/lwtdump/lwtdump/writer"
)

// Summary is what a whole capture holds, as lwtdump verify checks a file
// against its manifest.
type Summary struct {
	Section  writer.Section // the header of its first section
	Run      string         // the lwtdump run its first section header names, "" for none
	Seq      int            // its sequence number in that run
	Sections int
	Packets  uint64
	// First and Last are the earliest and latest packet times
	// (nanoseconds since the epoch), 0 without packets.
	First, Last int64
	// Damage is where the capture cannot be read on: it ends inside a
	// record, or a block is damaged. Nil when it reads cleanly to its end.
	Damage *Error
}

// Summarize reads a capture to its end. It returns an error wrapping
// ErrNotCapture for a stream that is no capture, and an error for a failed
// read; a damaged capture is a Summary with Damage.
func Summarize(r io.Reader, name string) (Summary, error) {
	var s Summary
	rd, err := NewReader(r, name)
	if err != nil {
		return s, err
	}
	s.Run, s.Seq, _ = rd.Run()
	s.Section = rd.first
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *Error
		if errors.As(err, &pe) {
			s.Damage = pe
			break
		}
		if err != nil {
			return s, err
		}
		if rec.Kind != KindPacket {
			continue
		}
		if s.Packets == 0 || rec.Time < s.First {
			s.First = rec.Time
		}
		if s.Packets == 0 || rec.Time > s.Last {
			s.Last = rec.Time
		}
		s.Packets++
	}
	s.Section, s.Sections = rd.first, rd.ng.section
	return s, nil
}

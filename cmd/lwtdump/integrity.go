package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lwtdump/lwtdump/rotate"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/lwtdump/lwtdump/writer"
)

// newRunID is the id of one capture run: 16 hex digits, random.
func newRunID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b)
}

// manifestRecording joins the two sides of a finished file for its manifest
// line: the Rotator reports the file (name, size, SHA-256 of the bytes it
// wrote) when it has finished it, and the writer, whose section has ended
// but whose next one has not begun yet, tells what the file holds (its
// section's number, packet count, earliest and latest time). Neither side
// knows the other; this is the only place they meet.
type manifestRecording struct {
	rec  *manifest.Recorder
	w    *writer.Writer // set once the writer exists; a file finished before holds no packet
	warn func(error)
	// records and failures count the files recorded and those that
	// could not be (for the metrics).
	records, failures uint64
}

// finished is the Rotator's Options.Finished. A manifest that cannot be
// written is a warning: the capture goes on, and lwtdump verify reports the
// file as one the manifest does not record.
func (m *manifestRecording) finished(f rotate.File) {
	c := manifest.Contents{Seq: 1}
	if m.w != nil {
		s := m.w.SectionStats()
		c = manifest.Contents{Seq: s.Seq, Packets: s.Packets}
		if s.Packets > 0 {
			c.First, c.Last = time.Unix(0, s.First), time.Unix(0, s.Last)
		}
	}
	if _, err := m.rec.Record(f, c); err != nil {
		m.failures++
		m.warn(fmt.Errorf("warning: %w (lwtdump verify will not know %s)", err, filepath.Base(f.Name)))
		return
	}
	m.records++
}

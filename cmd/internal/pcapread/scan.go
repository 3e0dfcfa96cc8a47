package pcapread

import (
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/lwtdump/lwtdump/writer"
)

// Scan hands fn every record of m that sel selects (a nil sel selects
// every record), and stops after limit packets (0 for no limit). A capture
// that cannot be read on (an *Error, a read error) is handed to problem, and
// the others are read on. Scan returns the first error of fn, or nil once
// every capture is read.
func Scan(m *Merger, sel *Selection, limit uint64, fn func(*Record) error, problem func(error)) error {
	var packets uint64
	for {
		rec, err := m.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			problem(err)
			continue
		}
		if sel != nil && !sel.Selects(rec) {
			continue
		}
		if rec.Kind == KindPacket {
			if limit > 0 && packets == limit {
				return nil
			}
			packets++
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// Section is the provenance of the merged captures, for the section header
// of a copy: the program, OS and hardware of the first capture's first
// section, and the comments of the first sections of all, one per line (of
// the files of one run, the first file's only).
// Each capture's first section is known once Next has been called.
func (m *Merger) Section() writer.Section {
	var s writer.Section
	var comments []string
	for _, src := range m.sources {
		sec := src.head.first
		if s.Application == "" && s.OS == "" && s.Hardware == "" {
			s.Application, s.OS, s.Hardware = sec.Application, sec.OS, sec.Hardware
		}
		if sec.Comment != "" && !slices.Contains(comments, sec.Comment) {
			comments = append(comments, sec.Comment)
		}
	}
	s.Comment = strings.Join(comments, "\n")
	return s
}

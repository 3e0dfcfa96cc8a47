package pcapread

import (
	"fmt"

	"github.com/lwtdump/lwtdump/writer"
)

// Rewriter copies records into a writer.Copier: every interface as it is
// met, packets with their comments and flags, and statistics. Interface ids
// are remapped consistently: one capture keeps its ids; when several are
// merged, an interface described exactly as one of an earlier capture (a
// rotated capture's next file) shares its id, and any other gets the next
// free id.
type Rewriter struct {
	c       *writer.Copier
	ids     map[*Interface]uint32
	byDesc  map[ifaceKey][]uint32
	claimed map[sectionKey]map[uint32]bool
	pkt     writer.Packet
}

type ifaceKey struct {
	name, description, comment, filter, os string
	linkType                               uint16
	snapLen                                uint32
}

type sectionKey struct {
	source  string
	section int
}

// NewRewriter copies records into c.
func NewRewriter(c *writer.Copier) *Rewriter {
	return &Rewriter{c: c, ids: map[*Interface]uint32{}, byDesc: map[ifaceKey][]uint32{}, claimed: map[sectionKey]map[uint32]bool{}}
}

// Write copies one record.
func (w *Rewriter) Write(rec *Record) error {
	switch rec.Kind {
	case KindInterface:
		_, err := w.id(rec.Interface)
		return err
	case KindPacket:
		id, err := w.id(rec.Interface)
		if err != nil {
			return err
		}
		w.pkt = writer.Packet{
			Interface: id, Time: rec.Time, OrigLen: rec.OrigLen, Data: rec.Data,
			Comments: rec.Comments, Flags: rec.Flags, HasFlags: rec.HasFlags,
		}
		return w.c.WritePacket(&w.pkt)
	case KindStats:
		id, err := w.id(rec.Interface)
		if err != nil {
			return err
		}
		return w.c.WriteStats(id, &rec.Stats)
	}
	return fmt.Errorf("copy record: unknown kind %d", rec.Kind)
}

// id returns the interface's id in the copy, adding the interface when it
// has none yet.
func (w *Rewriter) id(ifc *Interface) (uint32, error) {
	if id, ok := w.ids[ifc]; ok {
		return id, nil
	}
	k := ifaceKey{ifc.Name, ifc.Description, ifc.Comment, ifc.Filter, ifc.OS, uint16(ifc.LinkType), ifc.SnapLen}
	sk := sectionKey{ifc.Source, ifc.Section}
	claimed := w.claimed[sk]
	if claimed == nil {
		claimed = map[uint32]bool{}
		w.claimed[sk] = claimed
	}
	for _, id := range w.byDesc[k] {
		if !claimed[id] {
			claimed[id] = true
			w.ids[ifc] = id
			return id, nil
		}
	}
	id, err := w.c.AddInterface(ifc.NgInterface())
	if err != nil {
		return 0, err
	}
	claimed[id] = true
	w.ids[ifc] = id
	w.byDesc[k] = append(w.byDesc[k], id)
	return id, nil
}

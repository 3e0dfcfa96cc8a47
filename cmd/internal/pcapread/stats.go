package pcapread

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/writer"
)

// InterfaceStats is what a set of captures holds for one interface (one
// attachment, for lwtdump's captures). The files of a rotated capture
// describe the same interfaces: they count as one.
type InterfaceStats struct {
	Name          string     `json:"name"`
	Description   string     `json:"description,omitempty"`
	LinkType      string     `json:"link_type"`
	Files         []string   `json:"files"`
	Packets       uint64     `json:"packets"`
	Bytes         uint64     `json:"bytes"`          // on the wire: the packets' original lengths
	CapturedBytes uint64     `json:"captured_bytes"` // in the files
	First         *time.Time `json:"first"`          // first and last packet time stamps; null without packets
	Last          *time.Time `json:"last"`
	// Received and Dropped come from the interface statistics blocks: for
	// each capture run (isb_starttime) the last block counts, and runs add
	// up. Null when the captures hold no statistics for the interface.
	Received *uint64  `json:"received"`
	Dropped  *uint64  `json:"dropped"`
	Hooks    []string `json:"hooks"`   // lwtdump hooks seen in packets
	Cookies  []string `json:"cookies"` // lwtdump cookies seen in packets, in hex
	// Gaps are the times the interface's route was gone, from the
	// comments of its statistics blocks (see writer.GapComment).
	Gaps []Gap `json:"gaps,omitempty"`
}

// Gap is a time an interface's capture point was gone.
type Gap struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to"` // null when it was not back when the last file ended
	// Seconds counts an open gap up to the end of its last file.
	Seconds float64 `json:"seconds"`
	Comment string  `json:"comment"` // the comment of the statistics block
}

// Tally counts records per interface for InterfaceStats.
type Tally struct {
	order []*tally
	byKey map[ifaceKey]*tally
	byIfc map[*Interface]*tally
}

type tally struct {
	InterfaceStats
	first, last int64
	runs        map[runKey]writer.Stats // the last statistics of each run
	hooks       map[string]bool
	cookies     map[uint64]bool
	gaps        map[int64]gapSeen // by start
}

// gapSeen is a gap as the statistics blocks tell it; a gap that spans a
// rotation is open in one file and closed in the next.
type gapSeen struct {
	end     int64 // 0 while open
	upTo    int64 // the time of the last block that saw it open
	comment string
}

type runKey struct {
	start int64
	sk    sectionKey // for statistics without isb_starttime: per section
}

// Add counts one record.
func (t *Tally) Add(rec *Record) {
	if rec.Interface == nil {
		return
	}
	ti := t.interfaceTally(rec.Interface)
	switch rec.Kind {
	case KindPacket:
		ti.Packets++
		ti.Bytes += uint64(rec.OrigLen)
		ti.CapturedBytes += uint64(len(rec.Data))
		if ti.Packets == 1 || rec.Time < ti.first {
			ti.first = rec.Time
		}
		if ti.Packets == 1 || rec.Time > ti.last {
			ti.last = rec.Time
		}
		if m, ok := rec.Meta(); ok {
			if m.Hook != 0 {
				ti.hooks[m.Hook.String()] = true
			}
			if m.HasCookie {
				ti.cookies[m.Cookie] = true
			}
		}
	case KindStats:
		k := runKey{start: rec.Stats.Start}
		if k.start == 0 {
			k.sk = sectionKey{rec.Interface.Source, rec.Interface.Section}
		}
		if old, ok := ti.runs[k]; !ok || rec.Stats.Time >= old.Time {
			ti.runs[k] = rec.Stats
		}
		for _, c := range rec.Stats.Comments {
			start, end, ok := writer.ParseGap(c)
			if !ok {
				continue
			}
			g, seen := ti.gaps[start]
			switch {
			case end != 0:
				g = gapSeen{end: end, comment: c}
			case !seen || g.end == 0 && rec.Time > g.upTo:
				g = gapSeen{upTo: rec.Time, comment: c}
			}
			ti.gaps[start] = g
		}
	}
}

func (t *Tally) interfaceTally(ifc *Interface) *tally {
	if ti, ok := t.byIfc[ifc]; ok {
		return ti
	}
	if t.byIfc == nil {
		t.byIfc, t.byKey = map[*Interface]*tally{}, map[ifaceKey]*tally{}
	}
	// Interfaces without a name (a classic pcap file's) are not merged
	// across files: nothing says they are the same.
	k := ifaceKey{name: ifc.Name, description: ifc.Description, linkType: uint16(ifc.LinkType)}
	if ifc.Name == "" {
		k.name = fmt.Sprintf("%s#%d.%d", ifc.Source, ifc.Section, ifc.ID)
	}
	ti := t.byKey[k]
	if ti == nil {
		ti = &tally{
			InterfaceStats: InterfaceStats{Name: ifc.Name, Description: ifc.Description, LinkType: linkTypeName(ifc)},
			runs:           map[runKey]writer.Stats{},
			hooks:          map[string]bool{},
			cookies:        map[uint64]bool{},
			gaps:           map[int64]gapSeen{},
		}
		if ifc.Name == "" {
			ti.Name = ifc.Source + ":" + ifc.Label()
		}
		t.byKey[k] = ti
		t.order = append(t.order, ti)
	}
	if !slices.Contains(ti.Files, ifc.Source) {
		ti.Files = append(ti.Files, ifc.Source)
	}
	t.byIfc[ifc] = ti
	return ti
}

func linkTypeName(ifc *Interface) string {
	// gopacket names neither of the link types of lwtdump's IPv4 and IPv6
	// interfaces.
	switch ifc.LinkType {
	case layers.LinkTypeIPv4:
		return "IPv4"
	case layers.LinkTypeIPv6:
		return "IPv6"
	}
	s := ifc.LinkType.String()
	if strings.HasPrefix(s, "UnknownLinkType") {
		return strconv.Itoa(int(ifc.LinkType))
	}
	return s
}

// Interfaces returns the statistics of every interface, in the order they
// were first met.
func (t *Tally) Interfaces() []InterfaceStats {
	out := make([]InterfaceStats, 0, len(t.order))
	for _, ti := range t.order {
		s := ti.InterfaceStats
		if s.Packets > 0 {
			first, last := time.Unix(0, ti.first).UTC(), time.Unix(0, ti.last).UTC()
			s.First, s.Last = &first, &last
		}
		var recv, drop uint64
		var hasRecv, hasDrop bool
		for _, st := range ti.runs {
			if st.Received != writer.NoValue {
				recv, hasRecv = recv+st.Received, true
			}
			if st.Dropped != writer.NoValue {
				drop, hasDrop = drop+st.Dropped, true
			}
		}
		if hasRecv {
			s.Received = &recv
		}
		if hasDrop {
			s.Dropped = &drop
		}
		s.Hooks = sortedKeys(ti.hooks, func(h string) string { return h })
		s.Cookies = sortedKeys(ti.cookies, func(c uint64) string { return "0x" + strconv.FormatUint(c, 16) })
		s.Files = slices.Clone(s.Files)
		for _, start := range slices.Sorted(maps.Keys(ti.gaps)) {
			g := ti.gaps[start]
			gap := Gap{From: time.Unix(0, start).UTC(), Comment: g.comment, Seconds: float64(g.upTo-start) / 1e9}
			if g.end != 0 {
				to := time.Unix(0, g.end).UTC()
				gap.To, gap.Seconds = &to, float64(g.end-start)/1e9
			}
			s.Gaps = append(s.Gaps, gap)
		}
		out = append(out, s)
	}
	return out
}

func sortedKeys[K string | uint64](m map[K]bool, format func(K) string) []string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = format(k)
	}
	return out
}

// WriteJSON writes the statistics as one JSON object: {"interfaces": [...]}.
func (t *Tally) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Interfaces []InterfaceStats `json:"interfaces"`
	}{t.Interfaces()})
}

// WriteTable writes the statistics as a table, one interface a line, with
// time stamps in loc (local time when nil).
func (t *Tally) WriteTable(w io.Writer, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "INTERFACE\tLINK\tPACKETS\tBYTES\tFIRST\tLAST\tRECEIVED\tDROPPED\tHOOKS\tCOOKIES")
	for _, s := range t.Interfaces() {
		first, last := "-", "-"
		if s.First != nil {
			first, last = s.First.In(loc).Format(tableTime), s.Last.In(loc).Format(tableTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.LinkType, s.Packets, s.Bytes,
			first, last, optional(s.Received), optional(s.Dropped), orDash(strings.Join(s.Hooks, ",")), orDash(strings.Join(s.Cookies, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeGaps(w, t.Interfaces(), loc)
}

// writeGaps writes, when there are any, the gaps of every interface: the
// times its route was gone.
func writeGaps(w io.Writer, ifaces []InterfaceStats, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	header := false
	for _, s := range ifaces {
		for _, g := range s.Gaps {
			if !header {
				fmt.Fprintln(tw, "\nGAP ON INTERFACE\tFROM\tTO\tSECONDS\tWHY")
				header = true
			}
			to := "not back"
			if g.To != nil {
				to = g.To.In(loc).Format(tableTime)
			}
			_, why, _ := strings.Cut(g.Comment, ": ")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\n", s.Name, g.From.In(loc).Format(tableTime), to, g.Seconds, why)
		}
	}
	return tw.Flush()
}

const tableTime = "2006-01-02 15:04:05.000000"

func optional(v *uint64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatUint(*v, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

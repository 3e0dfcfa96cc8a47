package manifest

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Inspection is what a file holds, as an Inspector reads it.
type Inspection struct {
	// Capture is false for a file that is no capture at all: files other
	// than captures are left alone unless the manifest names them.
	Capture bool
	// Run and Seq are the run and sequence number the file's header
	// names; Run is "" when it names none.
	Run     string
	Seq     int
	Packets uint64
	// First and Last are the earliest and latest packet times, zero
	// without packets.
	First, Last time.Time
	// Damage says where the file cannot be read on (it ends inside a
	// record, or a block is damaged); nil when it reads cleanly to its end.
	Damage error
}

// Inspector reads the bytes of a file (decompressed, for a file that -z
// gzip compressed) and says what they hold. It need not read them to the
// end. An error is a failure to read, not a damaged file.
type Inspector func(r io.Reader, name string) (Inspection, error)

// The status of a file in a Report.
const (
	StatusIntact      = "intact"      // as recorded
	StatusOverwritten = "overwritten" // recorded, then replaced under its name by a later file: not expected
	StatusMissing     = "missing"     // recorded, not there
	StatusAltered     = "altered"     // recorded, but its bytes differ
	StatusTruncated   = "truncated"   // recorded, but shorter
	StatusSwapped     = "swapped"     // holds what the manifest records under another name
	StatusRenamed     = "renamed"     // not recorded under its name, but holds a recorded file
	StatusReplaced    = "replaced"    // holds a file of another capture in place of a recorded one
	StatusUnfinished  = "unfinished"  // holds a file of a recorded run that was never finished
	StatusForeign     = "foreign"     // a capture the manifest does not record
	StatusDamaged     = "damaged"     // as recorded, but what it holds does not read as recorded
	StatusUnverified  = "unverified"  // no manifest to check it against
	StatusUnreadable  = "unreadable"  // could not be read
)

// The kinds of findings that are not about one file's status.
const (
	KindChain      = "chain"       // the chain of a run is broken: the manifest was altered
	KindManifest   = "manifest"    // a line of the manifest is not an entry
	KindNoManifest = "no-manifest" // a directory of files has no manifest
)

// Report is the outcome of Verify.
type Report struct {
	Files       []FileStatus `json:"files"`
	Findings    []Finding    `json:"findings"`
	Intact      int          `json:"intact"`
	Overwritten int          `json:"overwritten"`
}

// FileStatus is what Verify found of one file, present or recorded.
type FileStatus struct {
	File   string `json:"file"`
	Status string `json:"status"`
	Run    string `json:"run,omitempty"`
	Seq    int    `json:"seq,omitempty"`
	Size   int64  `json:"size,omitempty"`   // as found
	SHA256 string `json:"sha256,omitempty"` // as found
	Note   string `json:"note,omitempty"`
}

// Finding is one thing that is not as the manifest records it.
type Finding struct {
	File    string `json:"file"` // the file, or the manifest for the chain
	Kind    string `json:"kind"` // a status, or a Kind
	Message string `json:"message"`
}

func (f Finding) String() string { return f.File + ": " + f.Message }

// entry is an entry of a loaded manifest.
type entry struct {
	Entry
	manifest string
	dir      string
	later    *entry // the later entry of the same name in the same manifest
	found    bool
	involved bool
}

func (e *entry) path() string { return filepath.Join(e.dir, e.File) }

func (e *entry) what() string { return fmt.Sprintf("run %s seq %d", e.Run, e.Seq) }

// candidate is a file Verify read.
type candidate struct {
	path, dir, key string // key: its name in the manifest
	size           int64
	sha            string
	in             Inspection
	err            error
}

type runSeq struct {
	run string
	seq int
}

// Verify checks files against their manifests. Each path is a directory
// (its manifest, every file the manifest records and every capture in it)
// or a file (the manifest next to it, and that file). A file is checked for
// its size and SHA-256, then what it holds: its block structure, its packet
// count, and the run and sequence number its header names. The chain of
// each run involved is checked across every manifest read: sequence numbers
// without gaps or doubles, each file's prev_sha256 the SHA-256 of the one
// before. A file that -z gzip compressed (NAME.gz for the NAME recorded) is
// checked by its decompressed bytes. Verify returns an error only when a
// path cannot be read at all.
func Verify(paths []string, inspect Inspector) (*Report, error) {
	v := &verification{
		rep:         &Report{Files: []FileStatus{}, Findings: []Finding{}},
		whole:       map[string]bool{},
		given:       map[string][]string{},
		latest:      map[string]map[string]*entry{},
		hasManifest: map[string]bool{},
		bySHA:       map[string][]*entry{},
		byRunSeq:    map[runSeq]*entry{},
		runs:        map[string]bool{},
	}
	if err := v.sortPaths(paths); err != nil {
		return nil, err
	}
	if err := v.loadManifests(); err != nil {
		return nil, err
	}
	cands, err := v.readFiles(inspect)
	if err != nil {
		return nil, err
	}
	v.checkFiles(cands)
	v.checkAbsent()
	v.rep.chain(v.all, v.involvedRuns())
	v.rep.sort()
	return v.rep, nil
}

// verification is the state of one Verify, phase after phase.
type verification struct {
	rep         *Report
	whole       map[string]bool              // directories checked as a whole
	given       map[string][]string          // directory -> files given in it
	dirs        []string                     // every directory involved, sorted
	all         []*entry                     // every entry of every manifest read
	latest      map[string]map[string]*entry // dir -> name -> last entry of that name
	hasManifest map[string]bool
	bySHA       map[string][]*entry
	byRunSeq    map[runSeq]*entry
	runs        map[string]bool
}

// sortPaths sorts the paths given into directories checked as a whole and
// files checked one by one.
func (v *verification) sortPaths(paths []string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			v.whole[filepath.Clean(p)] = true
		case filepath.Base(p) == Name:
			v.whole[filepath.Dir(p)] = true
		default:
			d := filepath.Dir(p)
			v.given[d] = append(v.given[d], p)
		}
	}
	for d := range v.whole {
		v.dirs = append(v.dirs, d)
	}
	for d := range v.given {
		if !v.whole[d] {
			v.dirs = append(v.dirs, d)
		}
	}
	sort.Strings(v.dirs)
	return nil
}

// loadManifests reads the manifest of every directory and indexes its
// entries by name, digest and run.
func (v *verification) loadManifests() error {
	for _, d := range v.dirs {
		m, err := Read(Path(d))
		if errors.Is(err, fs.ErrNotExist) {
			v.rep.add(Finding{Path(d), KindNoManifest, "missing: the files of " + d + " cannot be verified"})
			continue
		}
		if err != nil {
			return err
		}
		v.hasManifest[d] = true
		for _, b := range m.Bad {
			v.rep.add(Finding{m.Path, KindManifest, fmt.Sprintf("line %d: %v (manifest altered)", b.Line, b.Err)})
		}
		names := map[string]*entry{}
		for _, e := range m.Entries {
			ent := &entry{Entry: e, manifest: m.Path, dir: d}
			if prev := names[e.File]; prev != nil {
				prev.later = ent
			}
			names[e.File] = ent
			v.all = append(v.all, ent)
		}
		v.latest[d] = names
	}
	for _, e := range v.all {
		v.bySHA[e.SHA256] = append(v.bySHA[e.SHA256], e)
		if v.byRunSeq[runSeq{e.Run, e.Seq}] == nil {
			v.byRunSeq[runSeq{e.Run, e.Seq}] = e
		}
		v.runs[e.Run] = true
	}
	return nil
}

// readFiles reads the files to check: every regular file of a directory
// checked as a whole, and the files given. A file that is no capture and
// that the manifest does not name is none of verify's business (a -z
// script, notes), unless it was given by name.
func (v *verification) readFiles(inspect Inspector) ([]*candidate, error) {
	var cands []*candidate
	for _, d := range v.dirs {
		list := v.given[d]
		if v.whole[d] {
			var err error
			if list, err = regularFiles(d); err != nil {
				return nil, err
			}
		}
		for _, p := range list {
			c := read(p, inspect)
			c.dir = d
			c.key = filepath.Base(p)
			if base, ok := strings.CutSuffix(c.key, ".gz"); ok && v.latest[d][c.key] == nil && v.latest[d][base] != nil {
				c.key = base
			}
			if !c.in.Capture && c.err == nil && v.latest[d][c.key] == nil {
				if !v.whole[d] {
					v.rep.file(FileStatus{File: p, Status: StatusForeign, Size: c.size, SHA256: c.sha},
						"not a capture, and not in the manifest")
				}
				continue
			}
			cands = append(cands, c)
		}
	}
	return cands, nil
}

// regularFiles lists the regular files of dir other than its manifest.
func regularFiles(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var list []string
	for _, de := range es {
		if de.Name() == Name {
			continue
		}
		p := filepath.Join(dir, de.Name())
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			list = append(list, p)
		}
	}
	return list, nil
}

// checkFiles checks every file read against the entry recorded under its
// name.
func (v *verification) checkFiles(cands []*candidate) {
	for _, c := range cands {
		if !v.hasManifest[c.dir] {
			v.rep.Files = append(v.rep.Files, FileStatus{File: c.path, Status: StatusUnverified, Run: c.in.Run, Seq: c.in.Seq, Size: c.size, SHA256: c.sha})
			continue
		}
		e := v.latest[c.dir][c.key]
		if e != nil {
			e.found, e.involved = true, true
		}
		v.rep.check(c, e, v)
	}
	// The files that a file given replaced under its name are involved too.
	for _, e := range v.all {
		if l := v.latest[e.dir][e.File]; l != nil && l.involved {
			e.involved = true
		}
	}
}

// checkAbsent reports the recorded files that are not there: missing, or
// overwritten as expected. Only directories checked as a whole are
// expected to hold every recorded file.
func (v *verification) checkAbsent() {
	for _, e := range v.all {
		if v.whole[e.dir] {
			e.involved = true
		}
		if !e.involved || e.found {
			continue
		}
		if e.later != nil {
			l := e.later
			for l.later != nil {
				l = l.later
			}
			note := "replaced by " + l.what()
			if l.Run == e.Run {
				note = fmt.Sprintf("replaced by seq %d of the run", l.Seq)
			}
			v.rep.Files = append(v.rep.Files, FileStatus{File: e.path(), Status: StatusOverwritten, Run: e.Run, Seq: e.Seq, Note: note})
			v.rep.Overwritten++
			continue
		}
		v.rep.file(FileStatus{File: e.path(), Status: StatusMissing, Run: e.Run, Seq: e.Seq},
			fmt.Sprintf("missing (the manifest records it as %s)", e.what()))
	}
}

// involvedRuns are the runs of the entries involved, whose chains are checked.
func (v *verification) involvedRuns() map[string]bool {
	involved := map[string]bool{}
	for _, e := range v.all {
		if e.involved {
			involved[e.Run] = true
		}
	}
	return involved
}

// sort orders the findings: about the manifests first, then about files by
// name, then about the chain; and the files by name.
func (rep *Report) sort() {
	group := func(f Finding) int {
		switch f.Kind {
		case KindNoManifest, KindManifest:
			return 0
		case KindChain:
			return 2
		}
		return 1
	}
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int {
		if ga, gb := group(a), group(b); ga != gb {
			return ga - gb
		}
		if group(a) != 1 {
			return 0
		}
		return strings.Compare(a.File, b.File)
	})
	slices.SortStableFunc(rep.Files, func(a, b FileStatus) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Seq - b.Seq
	})
}

// read reads a file through inspect, hashing every byte.
func read(path string, inspect Inspector) *candidate {
	c := &candidate{path: path}
	f, err := os.Open(path)
	if err != nil {
		c.err = err
		return c
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			c.err = fmt.Errorf("gzip: %w", err)
			return c
		}
		r = gz
	}
	h := sha256.New()
	n := &counter{}
	tee := io.TeeReader(r, io.MultiWriter(h, n))
	c.in, c.err = inspect(tee, path)
	if c.err == nil {
		_, c.err = io.Copy(io.Discard, tee)
	}
	c.size, c.sha = n.n, hex.EncodeToString(h.Sum(nil))
	return c
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// add records a finding.
func (rep *Report) add(f Finding) { rep.Findings = append(rep.Findings, f) }

// file records a file with a finding about it.
func (rep *Report) file(s FileStatus, message string) {
	rep.Files = append(rep.Files, s)
	rep.add(Finding{s.File, s.Status, message})
}

// check compares a file with the entry recorded under its name (nil for
// none).
func (rep *Report) check(c *candidate, e *entry, v *verification) {
	st := FileStatus{File: c.path, Run: c.in.Run, Seq: c.in.Seq, Size: c.size, SHA256: c.sha}
	if c.err != nil {
		st.Status = StatusUnreadable
		rep.file(st, fmt.Sprintf("cannot be read: %v", c.err))
		return
	}
	// The recorded file whose bytes this file holds, other than e.
	var same *entry
	for _, x := range v.bySHA[c.sha] {
		if x != e && x.Size == c.size {
			same = x
			break
		}
	}
	named := v.byRunSeq[runSeq{c.in.Run, c.in.Seq}]
	switch {
	case e == nil:
		rep.checkUnrecorded(st, c, same, named, v.runs)
	case c.sha == e.SHA256 && c.size == e.Size:
		rep.checkContents(st, c, e)
	default:
		rep.checkDiffering(st, c, e, same, named, v.runs)
	}
}

// checkUnrecorded says what a file that the manifest does not record under
// its name holds: a recorded file under another name, a file of a recorded
// run, or of another capture.
func (rep *Report) checkUnrecorded(st FileStatus, c *candidate, same, named *entry, runs map[string]bool) {
	switch {
	case same != nil:
		st.Status, st.Run, st.Seq = StatusRenamed, same.Run, same.Seq
		rep.file(st, fmt.Sprintf("not in the manifest, but holds the file it records as %s (%s): renamed or copied", same.path(), same.what()))
	case c.in.Run != "" && named != nil:
		st.Status = StatusAltered
		rep.file(st, fmt.Sprintf("not in the manifest, holds run %s seq %d, recorded as %s, but differs from it: renamed and altered", c.in.Run, c.in.Seq, named.path()))
	case c.in.Run != "" && runs[c.in.Run]:
		st.Status = StatusUnfinished
		rep.file(st, fmt.Sprintf("holds run %s seq %d, which the manifest does not record as finished (a capture still writing it, or killed while writing it)", c.in.Run, c.in.Seq))
	case c.in.Run != "":
		st.Status = StatusForeign
		rep.file(st, fmt.Sprintf("not in the manifest: a file of another capture (run %s seq %d)", c.in.Run, c.in.Seq))
	default:
		st.Status = StatusForeign
		rep.file(st, "not in the manifest, and not a file of an lwtdump run")
	}
}

// checkContents checks a file whose bytes are those recorded: it must
// also read as recorded (to its end, with the recorded packet count, run
// and sequence number).
func (rep *Report) checkContents(st FileStatus, c *candidate, e *entry) {
	st.Run, st.Seq = e.Run, e.Seq
	var problems []string
	switch {
	case c.in.Damage != nil:
		problems = append(problems, fmt.Sprintf("matches the manifest, but does not read to its end: %v", c.in.Damage))
	case c.in.Packets != e.Packets:
		problems = append(problems, fmt.Sprintf("matches the manifest, but holds %d packets where it records %d", c.in.Packets, e.Packets))
	}
	if c.in.Run != e.Run || c.in.Seq != e.Seq {
		problems = append(problems, fmt.Sprintf("its header says run %q seq %d, the manifest %s", c.in.Run, c.in.Seq, e.what()))
	}
	if len(problems) == 0 {
		st.Status = StatusIntact
		rep.Files = append(rep.Files, st)
		rep.Intact++
		return
	}
	st.Status = StatusDamaged
	rep.file(st, strings.Join(problems, "; "))
}

// checkDiffering says how a file differs from the entry recorded under its
// name: another recorded file, a later file of the run, a file of another
// capture, or the recorded file truncated or altered.
func (rep *Report) checkDiffering(st FileStatus, c *candidate, e, same, named *entry, runs map[string]bool) {
	st.Run, st.Seq = e.Run, e.Seq
	detail := ""
	if c.in.Damage != nil {
		detail = "; " + c.in.Damage.Error()
	} else if c.in.Capture && c.in.Packets != e.Packets {
		detail = fmt.Sprintf("; it holds %d packets, the manifest records %d", c.in.Packets, e.Packets)
	}
	switch {
	case same != nil && same.dir == e.dir:
		st.Status = StatusSwapped
		rep.file(st, fmt.Sprintf("holds the file recorded as %s (%s), not %s: files swapped or renamed", same.File, same.what(), e.what()))
	case same != nil:
		st.Status = StatusSwapped
		rep.file(st, fmt.Sprintf("holds the file recorded as %s (%s), not %s: files swapped or copied", same.path(), same.what(), e.what()))
	case c.in.Run == e.Run && c.in.Seq > e.Seq && named == nil:
		st.Status = StatusUnfinished
		rep.file(st, fmt.Sprintf("holds seq %d of run %s, which the manifest does not record as finished (a capture still writing it, or killed while writing it); the recorded %s was overwritten", c.in.Seq, c.in.Run, e.what()))
	case c.in.Run != "" && !runs[c.in.Run]:
		st.Status = StatusReplaced
		rep.file(st, fmt.Sprintf("holds a file of another capture (run %s seq %d), not %s as the manifest records", c.in.Run, c.in.Seq, e.what()))
	case c.size < e.Size:
		st.Status = StatusTruncated
		rep.file(st, fmt.Sprintf("%d bytes, the manifest records %d (file truncated)%s", c.size, e.Size, detail))
	case c.size > e.Size:
		st.Status = StatusAltered
		rep.file(st, fmt.Sprintf("%d bytes, the manifest records %d (file altered: bytes added)%s", c.size, e.Size, detail))
	default:
		st.Status = StatusAltered
		rep.file(st, "sha256 differs from the manifest (file altered)"+detail)
	}
}

// chain checks the runs: every sequence number once, none missing between
// the first and the last, and each file's prev_sha256 the digest of the
// file before it.
func (rep *Report) chain(all []*entry, runs map[string]bool) {
	byRun := map[string][]*entry{}
	for _, e := range all {
		if runs[e.Run] {
			byRun[e.Run] = append(byRun[e.Run], e)
		}
	}
	var ids []string
	for r := range byRun {
		ids = append(ids, r)
	}
	sort.Strings(ids)
	for _, run := range ids {
		es := byRun[run]
		slices.SortStableFunc(es, func(a, b *entry) int { return a.Seq - b.Seq })
		for i, e := range es {
			where := fmt.Sprintf("run %s seq %d (%s)", run, e.Seq, e.File)
			if e.Seq == 1 && e.PrevSHA256 != "" {
				rep.add(Finding{e.manifest, KindChain, where + ": the first file of a run has a prev_sha256 (manifest altered)"})
			}
			if e.Overwrites > 0 {
				if o := find(es, e.Overwrites); o != nil && o.File != e.File {
					rep.add(Finding{e.manifest, KindChain, fmt.Sprintf("%s: says it overwrote seq %d, which is %s (manifest altered)", where, e.Overwrites, o.File)})
				}
			}
			if i == 0 {
				continue
			}
			p := es[i-1]
			switch {
			case p.Seq == e.Seq:
				rep.add(Finding{e.manifest, KindChain, fmt.Sprintf("run %s: seq %d recorded twice (%s line %d, %s line %d) (manifest altered)", run, e.Seq, p.File, p.line, e.File, e.line)})
			case p.Seq+1 < e.Seq:
				missing := fmt.Sprintf("seq %d", p.Seq+1)
				if e.Seq-p.Seq > 2 {
					missing = fmt.Sprintf("seq %d to %d", p.Seq+1, e.Seq-1)
				}
				rep.add(Finding{e.manifest, KindChain, fmt.Sprintf("run %s: %s missing from the manifest, between %s and %s (manifest altered, or a line not written)", run, missing, p.File, e.File)})
			case e.PrevSHA256 != p.SHA256:
				rep.add(Finding{e.manifest, KindChain, fmt.Sprintf("%s: prev_sha256 is not the sha256 of seq %d (%s) (manifest altered)", where, p.Seq, p.File)})
			}
		}
	}
}

func find(es []*entry, seq int) *entry {
	for _, e := range es {
		if e.Seq == seq {
			return e
		}
	}
	return nil
}

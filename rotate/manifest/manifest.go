// Package manifest keeps the integrity record of a capture's files and
// checks files against it. The record is a JSON-lines file next to the
// files, Name, with one line per finished file: its name, size and
// SHA-256, what it holds (packets, earliest and latest time), and where it
// belongs (run, sequence number), chained to the file before it of the same
// run by that file's SHA-256.
//
// The package knows files, digests and the chain, and nothing of pcapng: the
// program tells it what a file holds. When recording, the Rotator reports a
// finished file (rotate.File: name, size, SHA-256 of the bytes it wrote) and
// the program adds the writer's count of the file's section (Contents). When
// verifying, the program gives an Inspector that reads a file's bytes and
// says what they hold.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lwtdump/lwtdump/rotate"
)

// Name is the file name of the manifest in the directory of the files it
// records. Every run that writes into the directory appends to it.
const Name = "lwtdump.manifest.jsonl"

// Path is the manifest of the files in dir.
func Path(dir string) string { return filepath.Join(dir, Name) }

// Entry is one line of a manifest: a finished file.
type Entry struct {
	File    string `json:"file"`   // base name, in the manifest's directory
	SHA256  string `json:"sha256"` // hex
	Size    int64  `json:"size"`
	Packets uint64 `json:"packets"`
	// First and Last are the earliest and latest packet times, null for a
	// file without packets.
	First *time.Time `json:"first"`
	Last  *time.Time `json:"last"`
	Run   string     `json:"run"`
	Seq   int        `json:"seq"` // the file's number in its run, from 1
	// PrevSHA256 is the SHA-256 of the file of sequence number Seq-1 of the
	// run, "" for the first.
	PrevSHA256 string `json:"prev_sha256"`
	// Overwrites is the sequence number of the file of this run that this
	// file replaced under the same name (a -W ring coming round), 0 for none.
	Overwrites int `json:"overwrites,omitempty"`

	line int // in the manifest it was read from
}

// Contents is what a finished file holds, as the program that wrote it
// counts.
type Contents struct {
	Seq         int // the file's number in its run, from 1
	Packets     uint64
	First, Last time.Time // earliest and latest packet; zero without packets
}

// Recorder appends the manifest line of each file of one run as the file is
// finished. It is not safe for concurrent use.
type Recorder struct {
	run      string
	mode     fs.FileMode
	prev     [32]byte
	hasPrev  bool
	recorded map[string]int  // file path -> sequence number of the run's last file of that name
	order    []string        // the paths in recorded, a ring of at most maxRecorded
	oldest   int             // index in order of the oldest path once the ring is full
	synced   map[string]bool // directories whose manifest entry is on disk
}

// maxRecorded bounds the file names a Recorder remembers for Overwrites, so
// that a capture of weeks with -G keeps its memory flat. A run that uses at
// most this many names (a -W ring, a strftime name that repeats) is told
// exactly; beyond that, the names first written longest ago are forgotten,
// and a file that replaces one of them is recorded without Overwrites,
// which lwtdump verify does not need (it follows the manifest's order).
const maxRecorded = 1 << 15

// NewRecorder records the files of run. A manifest it creates gets mode,
// whatever the umask.
func NewRecorder(run string, mode fs.FileMode) *Recorder {
	return &Recorder{run: run, mode: mode, recorded: map[string]int{}, synced: map[string]bool{}}
}

// Record appends the line of a finished file to the manifest in the file's
// directory and returns it. The line is written with one write to a file
// opened for appending, and is on disk (fsync'ed) when Record returns. The
// chain goes on even when the line cannot be written: the next file's
// PrevSHA256 is this file's digest.
func (r *Recorder) Record(f rotate.File, c Contents) (Entry, error) {
	e := Entry{
		File:    filepath.Base(f.Name),
		SHA256:  hex.EncodeToString(f.SHA256[:]),
		Size:    f.Size,
		Packets: c.Packets,
		Run:     r.run,
		Seq:     c.Seq,
	}
	if c.Packets > 0 {
		first, last := c.First.UTC(), c.Last.UTC()
		e.First, e.Last = &first, &last
	}
	if r.hasPrev {
		e.PrevSHA256 = hex.EncodeToString(r.prev[:])
	}
	e.Overwrites = r.recorded[f.Name]
	r.prev, r.hasPrev = f.SHA256, true
	r.remember(f.Name, c.Seq)
	return e, r.append(filepath.Dir(f.Name), e)
}

// remember records that the run's file seq is named path; beyond
// maxRecorded names it forgets the one first written longest ago.
func (r *Recorder) remember(path string, seq int) {
	if _, ok := r.recorded[path]; !ok {
		if len(r.order) < maxRecorded {
			r.order = append(r.order, path)
		} else {
			delete(r.recorded, r.order[r.oldest])
			r.order[r.oldest] = path
			r.oldest = (r.oldest + 1) % maxRecorded
		}
	}
	r.recorded[path] = seq
}

// append writes e as one line to the manifest of dir.
func (r *Recorder) append(dir string, e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("record %s in the manifest: %w", e.File, err)
	}
	line = append(line, '\n')
	path := Path(dir)
	f, err := rotate.OpenAppend(path, r.mode)
	if err != nil {
		return fmt.Errorf("record %s in the manifest: %w", e.File, err)
	}
	err = r.setMode(f)
	if err == nil {
		_, err = f.Write(line)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !r.synced[dir] {
		// The manifest's name must be on disk too, once.
		if err = rotate.SyncDir(dir); err == nil {
			r.synced[dir] = true
		}
	}
	if err != nil {
		return fmt.Errorf("record %s in the manifest: %w", e.File, err)
	}
	return nil
}

// setMode gives a manifest that holds no line yet, such as one just
// created, the Recorder's mode exactly: O_CREATE applies the umask, which
// would leave a manifest of the capture files' group (--file-mode 0640)
// unreadable to it under umask 077. A manifest that holds lines keeps its
// mode: other runs write into it too.
func (r *Recorder) setMode(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > 0 || fi.Mode().Perm() == r.mode {
		return nil
	}
	return f.Chmod(r.mode)
}

// Chown creates the manifest of dir if it does not exist and gives it to
// uid and gid, so that a capture that drops its privileges can go on
// appending to it.
func (r *Recorder) Chown(dir string, uid, gid int) error {
	f, err := rotate.OpenAppend(Path(dir), r.mode)
	if err != nil {
		return fmt.Errorf("create the manifest: %w", err)
	}
	defer f.Close()
	if err := r.setMode(f); err != nil {
		return fmt.Errorf("create the manifest: %w", err)
	}
	if err := f.Chown(uid, gid); err != nil {
		return fmt.Errorf("give %s to uid %d: %w", Path(dir), uid, err)
	}
	return nil
}

// Manifest is a manifest as read: its entries in line order, and the lines
// that are not entries.
type Manifest struct {
	Path    string
	Entries []Entry
	Bad     []BadLine
}

// BadLine is a line of a manifest that is not an entry.
type BadLine struct {
	Line int
	Err  error
}

var (
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
	runID     = regexp.MustCompile(`^[^ =\n]+$`)
)

// Read reads the manifest at path.
func Read(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m := &Manifest{Path: path}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			m.Bad = append(m.Bad, BadLine{n, err})
			continue
		}
		e.line = n
		m.Entries = append(m.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	return m, nil
}

// parseEntry reads and checks one line.
func parseEntry(line []byte) (Entry, error) {
	var e Entry
	d := json.NewDecoder(bytes.NewReader(line))
	if err := d.Decode(&e); err != nil {
		return e, fmt.Errorf("not JSON: %v", err)
	}
	switch {
	case e.File == "" || strings.Contains(e.File, "/") || e.File == "." || e.File == "..":
		return e, fmt.Errorf("file %q is not a file name", e.File)
	case !hexDigest.MatchString(e.SHA256):
		return e, fmt.Errorf("%s: sha256 %q is not a SHA-256 in hex", e.File, e.SHA256)
	case e.PrevSHA256 != "" && !hexDigest.MatchString(e.PrevSHA256):
		return e, fmt.Errorf("%s: prev_sha256 %q is not a SHA-256 in hex", e.File, e.PrevSHA256)
	case !runID.MatchString(e.Run):
		return e, fmt.Errorf("%s: run %q is not a run id", e.File, e.Run)
	case e.Seq < 1:
		return e, fmt.Errorf("%s: seq %d is not a sequence number", e.File, e.Seq)
	case e.Size < 0:
		return e, fmt.Errorf("%s: size %d", e.File, e.Size)
	case e.Overwrites < 0 || e.Overwrites >= e.Seq && e.Overwrites != 0:
		return e, fmt.Errorf("%s: overwrites %d is not an earlier file of the run", e.File, e.Overwrites)
	}
	return e, nil
}

// Package rotate writes an output into a series of files that roll over by
// size, by time and by count, named like tcpdump's -C, -G and -W files, and
// runs a command on every finished file like tcpdump's -z.
//
// A Rotator knows files and nothing of what is written into them. It is the
// file side of the seam with package writer (writer.Output): the writer hands
// it only whole blocks, asks RolloverDue before every packet and on every
// flush, and when a rollover is due ends its section, writes it out, calls
// Rollover and writes a new section header into the next file. The Rotator
// decides when a file is complete and what the next one is called; the
// writer decides what a complete file holds. So every file is complete on its
// own, and no record is split across files. When a file is finished, the
// Rotator reports its name, size and SHA-256 (Options.Finished), from which
// the program writes the file's manifest line (package manifest).
//
// Two consequences of the seam shape the Rotator. Because every Write is
// whole blocks, a failed Write is undone by cutting the file back to its
// size before it, and the file still ends with a whole block. Because the
// writer asks on every flush (at least every 100 ms, with or without
// packets), time rotation needs no timer of its own. The package imports
// nothing of writer: its ErrDone is its own, and the program maps it to
// writer.ErrDone.
package rotate

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultFileMode is the mode of new files: captures hold private traffic.
const DefaultFileMode fs.FileMode = 0o600

// Options configure a Rotator. The zero values of SizeLimit, Interval and
// Count mean no limit: a single file named Path.
type Options struct {
	// Path is the file name (tcpdump's -w FILE). With an Interval it is a
	// strftime pattern (see Conversions), expanded at each file's start in
	// the Clock's location.
	Path string
	// SizeLimit starts a new file once the current one holds more than this
	// many bytes (tcpdump -C, in bytes). Files are named Path, Path1, Path2...
	SizeLimit int64
	// Interval starts a new file once this much time has passed since the
	// current one was opened (tcpdump -G), also when nothing is written.
	// With a SizeLimit too, it is a time slot: the files a slot holds are
	// counted 0, 1, 2... and a new slot starts once this much time has
	// passed since the slot's first file was opened.
	Interval time.Duration
	// Count is tcpdump's -W. With a SizeLimit, the files form a ring of
	// Count files, Path0 to Path<Count-1> zero-padded to one width, the
	// newest overwriting the oldest. With an Interval alone, Rollover
	// returns ErrDone once Count files are complete.
	Count int
	// PostRotate is a program run on every finished file (tcpdump -z): it is
	// started, without a shell, with the file's name as its only argument
	// once the file is on disk and closed, and is not waited for.
	PostRotate string
	// FileMode is the exact permission of every file (umask does not
	// apply, and a file that already exists is given it); default 0600.
	FileMode fs.FileMode
	// Clock tells the time of a file's start; default time.Now.
	Clock func() time.Time
	// Warn receives a problem that does not stop the capture, such as a
	// PostRotate program that cannot start (reported once); default: dropped.
	Warn func(error)
	// Finished is called with every file that is finished (on disk and
	// closed), before PostRotate starts on it: at each rollover and at
	// Close. A file that holds nothing (and is removed) and an output that
	// is not a regular file are not reported. Files are hashed only when
	// Finished is set: SHA-256 costs about 0.6 ns a byte.
	Finished func(File)
}

// File is a finished file: its name, its size and the SHA-256 of its bytes.
//
// The Rotator hashes each Write as it succeeds. A Write that fails is cut
// back (see Write) and never hashed, so the digest is always that of the
// bytes the file holds when it is finished, without reading it again.
type File struct {
	Name   string // as created: Path with its conversions and number
	Size   int64
	SHA256 [sha256.Size]byte
}

// ErrDone is returned by Rollover when the last of Count files (with an
// Interval and no SizeLimit) is complete: no further file is wanted.
var ErrDone = errors.New("last file of the rotation complete")

// Validate checks the options without touching any file.
func (o Options) Validate() error {
	switch {
	case o.Path == "":
		return errors.New("no file name")
	case o.SizeLimit < 0:
		return fmt.Errorf("size limit %d: must be positive", o.SizeLimit)
	case o.Interval < 0:
		return fmt.Errorf("interval %v: must be positive", o.Interval)
	case o.Count < 0:
		return fmt.Errorf("file count %d: must be positive", o.Count)
	case o.Count > 0 && o.SizeLimit == 0 && o.Interval == 0:
		return errors.New("a file count needs a size limit or an interval")
	case o.FileMode&^fs.ModePerm != 0:
		return fmt.Errorf("file mode %#o: only permission bits (0 to 0777) are allowed", uint32(o.FileMode))
	}
	if o.Interval > 0 {
		if _, err := strftime(o.Path, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// FileName is the name of file number n of the time slot that starts at
// start: Path with its strftime conversions expanded when there is an
// Interval, followed with a SizeLimit by n (none for the first file unless
// Count is given, then zero-padded to the width of Count-1, as tcpdump
// does). The options must be valid.
func (o Options) FileName(start time.Time, n int) string {
	name := o.Path
	if o.Interval > 0 {
		name, _ = strftime(o.Path, start)
	}
	if o.SizeLimit == 0 {
		return name
	}
	width := 0
	for c := o.Count - 1; c > 0; c /= 10 {
		width++
	}
	if n == 0 && width == 0 {
		return name
	}
	return fmt.Sprintf("%s%0*d", name, width, n)
}

// numbered reports whether FileName appends a number to the name of file n
// of a slot.
func (o Options) numbered(n int) bool { return o.SizeLimit > 0 && (n > 0 || o.Count > 1) }

// TimeInName reports whether Path has a conversion that changes with time.
// With an Interval and none, every file replaces the one before it (as in
// tcpdump).
func (o Options) TimeInName() bool { return hasTimeConversion(o.Path) }

// reason is why a rollover is due.
type reason int

const (
	notDue reason = iota
	dueSize
	dueTime
)

// Rotator is an output that writes into a series of files. It is not safe for
// concurrent use.
type Rotator struct {
	opts     Options
	f        *os.File
	name     string
	size     int64     // bytes in f, all of them complete writes
	special  bool      // f is not a regular file (/dev/null, a fifo): no mode, cut, sync or removal
	slot     time.Time // start of the current time slot: for the Interval and names
	n        int       // number of the current file in its slot
	finished int       // files finished
	due      reason    // the reason RolloverDue last gave
	warned   bool
	children sync.WaitGroup // running PostRotate programs
	hash     hash.Hash      // of the bytes of f, all of them complete writes; nil without Finished or for a special file
}

// New checks opts and creates the first file.
func New(opts Options) (*Rotator, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("rotate %s: %w", opts.Path, err)
	}
	if opts.FileMode == 0 {
		opts.FileMode = DefaultFileMode
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Warn == nil {
		opts.Warn = func(error) {}
	}
	r := &Rotator{opts: opts}
	r.slot = opts.Clock()
	if err := r.open(r.slot); err != nil {
		return nil, err
	}
	return r, nil
}

// Name is the name of the file being written ("" after Close or ErrDone).
func (r *Rotator) Name() string { return r.name }

// Regular reports whether the output is a regular file, which Finished
// hears of, rather than a device or a fifo (-w /dev/null), which it does not.
func (r *Rotator) Regular() bool { return !r.special }

// Size is the number of bytes written to the current file so far.
func (r *Rotator) Size() int64 { return r.size }

// Finished is the number of files finished so far.
func (r *Rotator) Finished() int { return r.finished }

// Write writes p into the current file. On a failed or short write (a full
// disk, an I/O error) it cuts the file back to where it was before, so that a
// file made of whole blocks still ends with a whole block, and returns the
// error.
func (r *Rotator) Write(p []byte) (int, error) {
	if r.f == nil {
		return 0, fmt.Errorf("write %s: %w", r.opts.Path, os.ErrClosed)
	}
	n, err := r.f.Write(p)
	if err == nil {
		r.size += int64(n)
		if r.hash != nil {
			r.hash.Write(p)
		}
		return n, nil
	}
	if n > 0 && !r.special {
		if terr := r.cut(); terr != nil {
			return 0, errors.Join(err, terr)
		}
	}
	return 0, err
}

// Last reports whether the current file is the last one: the Count-th of
// an Interval without a SizeLimit, which Rollover would finish and then
// return ErrDone.
func (r *Rotator) Last() bool {
	o := &r.opts
	return r.f != nil && o.Count > 0 && o.SizeLimit == 0 && o.Interval > 0 && r.finished+1 >= o.Count
}

// UndoesFailedWrites reports whether a failed Write leaves the current
// file as it was before: a regular file, which Write cuts back, and not a
// device or a fifo.
func (r *Rotator) UndoesFailedWrites() bool { return r.f != nil && !r.special }

// cut truncates the current file back to its last complete write.
func (r *Rotator) cut() error {
	if err := r.f.Truncate(r.size); err != nil {
		return fmt.Errorf("cut %s back to %d bytes: %w", r.name, r.size, err)
	}
	if _, err := r.f.Seek(r.size, io.SeekStart); err != nil {
		return fmt.Errorf("cut %s back to %d bytes: %w", r.name, r.size, err)
	}
	return nil
}

// RolloverDue reports whether the current file is complete: the Interval has
// passed since its time slot began (the file's start, or with a SizeLimit the
// start of the slot's first file) at now (a packet's time, or the time of a flush, so that an idle
// interval still ends its file), or it holds more than SizeLimit bytes (size
// counts what the writer holds for it too). Time comes first, as in tcpdump.
// Unlike tcpdump, which waits for the next packet, a file over its size is
// finished on a flush too, so that it reaches PostRotate without waiting for
// more traffic.
func (r *Rotator) RolloverDue(now time.Time, size int64) bool {
	r.due = notDue
	switch {
	case r.f == nil:
	case r.opts.Interval > 0 && now.Sub(r.slot) >= r.opts.Interval:
		r.due = dueTime
	case r.opts.SizeLimit > 0 && size > r.opts.SizeLimit:
		r.due = dueSize
	}
	return r.due != notDue
}

// Rollover finishes the current file (flushed to disk, closed, PostRotate
// started) and creates the next one: the next of the time slot after a size
// rollover, the first of a new slot after a time rollover. It returns
// ErrDone instead when Count files of an Interval without SizeLimit are
// complete.
func (r *Rotator) Rollover() error {
	if r.f == nil {
		return fmt.Errorf("roll over %s: %w", r.opts.Path, os.ErrClosed)
	}
	due := r.due
	r.due = notDue
	if err := r.finish(); err != nil {
		return err
	}
	o := &r.opts
	if due == dueTime || (due == notDue && o.SizeLimit == 0) {
		if o.Count > 0 && o.SizeLimit == 0 && r.finished >= o.Count {
			return ErrDone
		}
		r.slot, r.n = o.Clock(), 0
		return r.open(r.slot)
	}
	r.n++
	if o.Count > 0 && r.n >= o.Count {
		r.n = 0
	}
	return r.open(r.slot)
}

// Chown gives the current file to uid and gid. The files after it are
// created by whoever runs then: after lwtdump -Z drops to a user, that user.
func (r *Rotator) Chown(uid, gid int) error {
	if r.f == nil || r.special {
		return nil
	}
	if err := r.f.Chown(uid, gid); err != nil {
		return fmt.Errorf("give %s to uid %d: %w", r.name, uid, err)
	}
	return nil
}

// Close finishes the current file, PostRotate included (an empty file is
// removed). It does not wait for PostRotate programs. It may be called more
// than once.
func (r *Rotator) Close() error {
	if r.f == nil {
		return nil
	}
	return r.finish()
}

// open creates (or truncates) the next file: a numbered name, which
// lwtdump makes itself, is always a new file; Path (with its strftime
// conversions) is opened as given, without following a planted link (see
// CreateFile).
func (r *Rotator) open(start time.Time) error {
	name := r.opts.FileName(start, r.n)
	create := CreateFile
	if r.opts.numbered(r.n) {
		create = createOwn
	}
	f, err := create(name, r.opts.FileMode)
	if err != nil {
		return fmt.Errorf("create output file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("create output file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		// -w /dev/null or a fifo: write to it as it is, never change its mode.
		if r.opts.SizeLimit > 0 || r.opts.Interval > 0 {
			f.Close()
			return fmt.Errorf("create output file: %s is not a regular file, so it cannot be rotated (drop -C and -G)", name)
		}
		r.f, r.name, r.size, r.special = f, name, 0, true
		return nil
	}
	r.special = false
	// O_CREATE leaves an existing file's mode as it was and applies the
	// umask to a new one: set the mode asked for in both cases.
	if err := f.Chmod(r.opts.FileMode); err != nil {
		f.Close()
		return fmt.Errorf("set mode of output file: %w", err)
	}
	r.f, r.name, r.size = f, name, 0
	if r.opts.Finished != nil {
		if r.hash == nil {
			r.hash = sha256.New()
		}
		r.hash.Reset()
	}
	return nil
}

// finish puts the current file on disk, closes it and starts PostRotate on
// it. A file that holds nothing (its first write failed, say on a full disk)
// is not a file of any format: it is removed instead.
func (r *Rotator) finish() error {
	f, name := r.f, r.name
	r.f, r.name = nil, ""
	if r.special {
		return f.Close() // a device or a pipe: nothing to put on disk, never removed
	}
	if r.size == 0 {
		return errors.Join(f.Close(), os.Remove(name))
	}
	err := f.Sync()
	if err != nil {
		err = fmt.Errorf("sync %s: %w", name, err)
	}
	if cerr := f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close %s: %w", name, cerr))
	}
	if err == nil {
		err = SyncDir(filepath.Dir(name))
	}
	if err != nil {
		return err
	}
	r.finished++
	if r.opts.Finished != nil {
		file := File{Name: name, Size: r.size}
		r.hash.Sum(file.SHA256[:0])
		r.opts.Finished(file)
	}
	r.postRotate(name)
	return nil
}

// SyncDir puts a directory's entries (the name of a new file) on disk. A
// file system that cannot sync a directory (EINVAL) is not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// postRotate starts PostRotate on a finished file: no shell, the lowest CPU
// priority as in tcpdump, its own process group so that a Ctrl-C meant for
// the capture does not cut it short, and a goroutine that reaps it.
func (r *Rotator) postRotate(name string) {
	if r.opts.PostRotate == "" {
		return
	}
	cmd := exec.Command(r.opts.PostRotate, name)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		if !r.warned {
			r.warned = true
			r.opts.Warn(fmt.Errorf("run -z %s on %s: %w (not reported again)", r.opts.PostRotate, name, err))
		}
		return
	}
	_ = unix.Setpriority(unix.PRIO_PROCESS, cmd.Process.Pid, 19)
	r.children.Add(1)
	go func() {
		defer r.children.Done()
		_ = cmd.Wait()
	}()
}

package rotate

// Creating files without following a link planted for them. lwtdump often
// runs as root and writes where it is told, such as a directory like /tmp
// that everyone can write. Someone there could name a link (or a hard
// link) after the file lwtdump is about to write, so that root overwrites
// whatever the link points to. The kernel stops this when
// fs.protected_symlinks and fs.protected_regular are set, which not every
// system does; these functions apply the same rules themselves:
//
//   - a name lwtdump makes itself (FILE1, FILE2... of -C, the ring of -W) is
//     always a new file: whatever has the name is removed first, and the
//     file is created with O_EXCL and O_NOFOLLOW;
//   - a name given on the command line is opened with O_NOFOLLOW; a link
//     there (and each link it leads to) is followed only if it is not in a
//     sticky directory that everyone can write, or if its owner is the
//     caller or the directory's owner, as protected_symlinks does;
//     /dev/stdout and /proc/self/fd/N, links the kernel resolves to an open
//     file, are followed as they are;
//   - an existing file, FIFO or device in such a directory is written into
//     only if its owner is the caller or the directory's owner, as
//     protected_regular and protected_fifos do, and a regular file there
//     only if it has no other hard link.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrPlanted means a link or a file is not followed or written into,
// because someone else could have put it there for lwtdump to overwrite
// another file; PlantedError says which.
var ErrPlanted = errors.New("planted link or file")

// PlantedError is a link or a file in a sticky directory that everyone can
// write (Dir) that is not followed or written into.
type PlantedError struct {
	Path  string
	Dir   string
	Link  bool   // a symlink, whose owner is neither the caller nor Dir's
	UID   uint32 // its owner
	Nlink uint64 // a regular file of the caller or Dir's owner with other hard links: how many
}

func (e *PlantedError) Error() string {
	where := fmt.Sprintf("in the sticky directory %s that everyone can write", e.Dir)
	switch {
	case e.Link:
		return fmt.Sprintf("%s is a symlink of uid %d %s: not followed, as fs.protected_symlinks=1 does; remove it or write elsewhere", e.Path, e.UID, where)
	case e.Nlink > 1:
		return fmt.Sprintf("%s has %d hard links %s: not written into; remove it or write elsewhere", e.Path, e.Nlink, where)
	}
	return fmt.Sprintf("%s is a file of uid %d %s: not written into, as fs.protected_regular=1 does; remove it or write elsewhere", e.Path, e.UID, where)
}

func (e *PlantedError) Unwrap() error { return ErrPlanted }

// errRaced means a name changed between two looks at it: try again.
var errRaced = errors.New("changed while it was created")

// CreateFile opens the file name given on the command line for writing,
// as O_CREATE|O_TRUNC would, with mode for a new file, without following a
// link or overwriting a file that someone else planted (see above). A
// device or a FIFO is opened as it is.
func CreateFile(name string, mode fs.FileMode) (*os.File, error) {
	for range 3 {
		f, err := createFile(name, mode)
		if !errors.Is(err, errRaced) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "create", Path: name, Err: errRaced}
}

func createFile(name string, mode fs.FileMode) (*os.File, error) {
	path, magic, err := followLinks(name)
	if err != nil {
		return nil, err
	}
	if magic {
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	}
	if err := checkPlanted(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
		if errors.Is(err, fs.ErrExist) {
			return nil, errRaced
		}
		return f, err
	case errors.Is(err, syscall.ELOOP):
		return nil, errRaced // a link since followLinks looked
	case err != nil:
		return nil, err
	}
	// What was opened is what counts; checkPlanted before the open only
	// spares waiting on a planted FIFO.
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if err := planted(path, &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// CheckCreate reports whether the first file, which starts at start,
// would be refused as planted, without creating anything: for checking a
// command line before anything is touched.
func (o Options) CheckCreate(start time.Time) error {
	if o.numbered(0) {
		return nil // always made anew
	}
	return CheckCreate(o.FileName(start, 0))
}

// CheckCreate reports whether CreateFile would refuse name as planted,
// without creating anything.
func CheckCreate(name string) error {
	path, magic, err := followLinks(name)
	if err != nil || magic {
		return err
	}
	return checkPlanted(path)
}

// createOwn creates the file name, a name lwtdump makes itself: whatever
// has the name, a file of an earlier run or a link, is removed, and the
// file is created new with O_EXCL and O_NOFOLLOW. Only a directory, FIFO
// or device of that name stops it.
func createOwn(name string, mode fs.FileMode) (*os.File, error) {
	for range 3 {
		var st unix.Stat_t
		if err := unix.Lstat(name, &st); err == nil {
			if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFLNK {
				return nil, fmt.Errorf("%s is not a regular file, so it cannot be rotated into", name)
			}
			if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "create", Path: name, Err: errRaced}
}

// OpenAppend opens name for appending, creating it with mode if it does
// not exist, without following a link there; an existing file must be a
// regular file, and in a sticky directory that everyone can write, be the
// caller's or the directory owner's with no other hard link. It is how
// the manifest, a name lwtdump makes itself but shares between runs, is
// opened.
func OpenAppend(name string, mode fs.FileMode) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Lstat(name, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, notRegular(name, &st)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, mode)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symlink: not followed", name)
	}
	if err != nil {
		return nil, err
	}
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, notRegular(name, &st)
	}
	if err := planted(name, &st); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// notRegular says that name, which OpenAppend takes only as a regular
// file, is something else.
func notRegular(name string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("%s is a symlink: not followed", name)
	}
	return fmt.Errorf("%s is not a regular file", name)
}

// maxLinks is how many links are followed, as the kernel's MAXSYMLINKS.
const maxLinks = 40

// followLinks follows the links at the last component of name, checking
// each as protected_symlinks does, and returns what they lead to: a name
// that is not a link (or does not exist), or a link of /proc, which only
// the kernel resolves (magic).
func followLinks(name string) (path string, magic bool, err error) {
	path = name
	for range maxLinks {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return path, false, nil // not a link; open tells what else is wrong
		}
		dir := parent(path)
		if d, shared := sharedDir(dir); shared && st.Uid != uint32(os.Geteuid()) && st.Uid != d.Uid {
			return "", false, &PlantedError{Path: path, Dir: dir, Link: true, UID: st.Uid}
		}
		var fsst unix.Statfs_t
		if unix.Statfs(dir, &fsst) == nil && fsst.Type == unix.PROC_SUPER_MAGIC {
			return path, true, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", false, err
		}
		if !strings.HasPrefix(target, "/") {
			// Not filepath.Join: ".." after a link must stay the kernel's to resolve.
			target = dir + "/" + target
		}
		path = target
	}
	return "", false, &fs.PathError{Op: "open", Path: name, Err: syscall.ELOOP}
}

// checkPlanted applies planted to what is at path now, if anything.
func checkPlanted(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil
	}
	return planted(path, &st)
}

// planted refuses an existing file at path (st) that is in a sticky
// directory everyone can write, when neither the caller nor the
// directory's owner owns it, or when it is a regular file with another
// hard link.
func planted(path string, st *unix.Stat_t) error {
	dir := parent(path)
	d, shared := sharedDir(dir)
	switch {
	case !shared:
		return nil
	case st.Uid != uint32(os.Geteuid()) && st.Uid != d.Uid:
		return &PlantedError{Path: path, Dir: dir, UID: st.Uid}
	case st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink > 1:
		return &PlantedError{Path: path, Dir: dir, UID: st.Uid, Nlink: uint64(st.Nlink)}
	}
	return nil
}

// sharedDir reports whether dir is sticky and writable by everyone, as
// /tmp is, and returns its status.
func sharedDir(dir string) (unix.Stat_t, bool) {
	var d unix.Stat_t
	if err := unix.Stat(dir, &d); err != nil {
		return d, false
	}
	return d, d.Mode&unix.S_ISVTX != 0 && d.Mode&0o002 != 0
}

// parent is the directory of path as the kernel sees it: everything
// before its last slash.
func parent(path string) string {
	path = strings.TrimRight(path, "/")
	i := strings.LastIndex(path, "/")
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return path[:i]
}

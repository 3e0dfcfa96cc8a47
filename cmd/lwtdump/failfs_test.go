package main

// A file system that fails with EIO: a FUSE loopback of a directory whose
// writes succeed until a byte budget is spent and then fail with EIO, the
// error a dying disk gives, so that the end-to-end tests can drive lwtdump
// into an I/O error as they drive it into a full disk with a small tmpfs.

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// mountFailing mounts on a new directory a view of another new directory
// (returned second, to read the files back without FUSE) whose writes fail
// with EIO once budget bytes have been written through it. It unmounts when
// the test ends.
func mountFailing(t *testing.T, budget int64) (mnt, backing string) {
	t.Helper()
	mnt, backing = t.TempDir(), t.TempDir()
	root, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		t.Fatal(err)
	}
	left := new(atomic.Int64)
	left.Store(budget)
	failing := &failingNode{LoopbackNode: root.(*fs.LoopbackNode), left: left}
	failing.RootData.RootNode = failing
	server, err := fs.Mount(mnt, failing, &fs.Options{MountOptions: fuse.MountOptions{
		AllowOther:  true, // lwtdump may run as another user (-Z)
		DirectMount: true, // root mounts with mount(2), no fusermount needed
		FsName:      "lwtdump-test-eio",
		Name:        "lwtdump-test",
	}})
	if err != nil {
		t.Skipf("end-to-end test: cannot mount a FUSE file system (%v)", err)
	}
	t.Cleanup(func() {
		if err := server.Unmount(); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
			syscall.Unmount(mnt, syscall.MNT_DETACH) // never leave a mount behind
		}
	})
	return mnt, backing
}

// failingNode is a loopback node whose files fail their writes with EIO once
// the shared budget is spent.
type failingNode struct {
	*fs.LoopbackNode
	left *atomic.Int64 // bytes that may still be written
}

// WrapChild makes every node of the tree a failingNode.
func (n *failingNode) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &failingNode{LoopbackNode: ops.(*fs.LoopbackNode), left: n.left}
}

// Create creates a file that fails its writes.
func (n *failingNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	inode, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return inode, &failingFile{fileOps: fh.(fileOps), left: n.left}, fuseFlags, 0
}

// Open opens a file that fails its writes.
func (n *failingNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &failingFile{fileOps: fh.(fileOps), left: n.left}, fuseFlags, 0
}

// fileOps is what a failingFile passes on to the loopback file: everything
// but passthrough and writev, which would bypass Write.
type fileOps interface {
	fs.FileReleaser
	fs.FileGetattrer
	fs.FileReader
	fs.FileWriter
	fs.FileLseeker
	fs.FileFlusher
	fs.FileFsyncer
	fs.FileSetattrer
	fs.FileAllocater
}

// failingFile is a loopback file whose writes fail with EIO once the budget
// is spent; the write that would go over it fails whole.
type failingFile struct {
	fileOps
	left *atomic.Int64
}

// Write writes data unless the budget is spent.
func (f *failingFile) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if f.left.Add(-int64(len(data))) < 0 {
		return 0, syscall.EIO
	}
	return f.fileOps.Write(ctx, data, off)
}

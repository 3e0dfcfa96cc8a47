package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// watchReader ends the context once the read end of a pipe is closed, and
// leaves it alone for a file.
func TestWatchReader(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, stop := watchReader(t.Context(), w)
	defer stop()
	if ctx.Err() != nil {
		t.Fatal("context ended while the pipe has a reader")
	}
	r.Close()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("context not ended 10 s after the reader closed the pipe")
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, stop = watchReader(context.Background(), f)
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not end the context")
	}
}

// stop ends the watch while the reader is still there.
func TestWatchReaderStop(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, stop := watchReader(t.Context(), w)
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not end the context")
	}
}

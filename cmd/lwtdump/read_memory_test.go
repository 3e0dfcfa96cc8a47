package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/writertest"
)

// Reading is streaming: the peak resident memory of lwtdump reading a
// 1 GiB capture (LWTDUMP_READ_TEST_MB sets another size) is that of
// reading a 16 MiB one, for printing, copying a selection and stats.
func TestReadMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 1 GiB capture; skipped with -short")
	}
	bigMB := 1024
	if s := os.Getenv("LWTDUMP_READ_TEST_MB"); s != "" {
		var err error
		if bigMB, err = strconv.Atoi(s); err != nil || bigMB < 16 {
			t.Fatalf("LWTDUMP_READ_TEST_MB=%q: want a number of MiB, at least 16", s)
		}
	}
	dir := t.TempDir()
	// Without the race detector, whose shadow memory would hide what is
	// measured.
	bin := filepath.Join(dir, "lwtdump")
	// Static, as make build makes it: the binary that is measured is the one released.
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	small := filepath.Join(dir, "small.pcapng")
	big := filepath.Join(dir, "big.pcapng")
	writeLargeCapture(t, small, 16<<20)
	writeLargeCapture(t, big, int64(bigMB)<<20)

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"print", []string{"-r"}},
		{"print -v -X", []string{"-v", "-X", "-r"}},
		{"copy xmit", []string{"-w", filepath.Join(dir, "copy.pcapng"), "--hook", "xmit", "-r"}},
		{"stats", []string{"stats"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rssSmall := peakRSS(t, bin, append(tc.args, small)...)
			rssBig := peakRSS(t, bin, append(tc.args, big)...)
			t.Logf("peak RSS reading 16 MiB: %d KiB; reading %d MiB: %d KiB", rssSmall, bigMB, rssBig)
			if rssBig > rssSmall+16<<10 || rssBig > 128<<10 {
				t.Errorf("peak RSS %d KiB reading %d MiB, %d KiB reading 16 MiB: memory grows with the file", rssBig, bigMB, rssSmall)
			}
		})
	}
}

// peakRSS runs lwtdump to completion and returns its peak resident set
// size in KiB. It runs it under GNU time, which forks it: a process that
// this (large) test process started directly would report this process's
// peak instead, since Go starts it with vfork and the kernel keeps, at
// exec, the peak of the memory the process had before.
func peakRSS(t *testing.T, bin string, args ...string) int64 {
	t.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Fatalf("GNU time is needed to measure lwtdump's own peak memory: apt-get install time (scripts/deps.sh installs it)")
	}
	out := filepath.Join(t.TempDir(), "maxrss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", out, bin}, args...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lwtdump %q: %v\n%s", args, err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("GNU time's peak RSS %q: %v", b, err)
	}
	return kib
}

// writeLargeCapture writes a capture of at least size bytes as lwtdump
// writes it: UDP packets of 1440 bytes at lwt_in and lwt_xmit in turn.
func writeLargeCapture(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	atts := writertest.Attachments()[:2]
	var w *writer.Writer
	w, err = writer.New(writer.Stream(bw), writer.Options{
		Section: writertest.Section, Attachments: atts, Start: writertest.Start,
		Counters: writertest.Counters(func(a uint32) uint64 { return w.Delivered(a) }),
	})
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8:1::1"), DstIP: net.ParseIP("2001:db8:20::1")}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 50000}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(make([]byte, 1392))); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	ts := writertest.Start.UnixNano()
	var n int64
	for written := int64(0); written < size; n++ {
		a := uint32(n % 2)
		s := sample.Sample{Attachment: a, Hook: atts[a].Hook, Cookie: atts[a].Cookie, Ifindex: 3, Time: ts + n*1000, OrigLen: uint32(len(data)), Data: data}
		if err := w.WriteSample(&s); err != nil {
			t.Fatal(err)
		}
		written += int64(len(data)) + 128 // the block around the packet, about
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat(); err == nil {
		t.Logf("%s: %d packets, %d bytes", filepath.Base(path), n, fi.Size())
	}
}

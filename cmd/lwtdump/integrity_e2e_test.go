package main

// End-to-end tests of the integrity of rotated captures: real captures
// with -C -W and -G -W, their manifest, lwtdump verify on them and on
// copies changed in every way the issue names, and -r DIR against mergecap.

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/rotate/manifest"
)

// integrityCapture is a finished capture into files: its directory, its
// files in sequence order (those still there), and its manifest.
type integrityCapture struct {
	name     string
	dir      string
	run      string
	files    []string // in sequence order
	entries  []manifest.Entry
	captured int
	kept     uint64 // packets in the files still there
}

// TestIntegrity captures with -C 1 -W 3 (a ring that comes round, with -z)
// and with -G 1 -W 4 under steady traffic; checks the manifests; lwtdump
// verify passes on both; -r DIR reads each as mergecap -a of its files in
// sequence order does; then, each on a fresh copy, one byte flipped in a
// packet, a file truncated, a middle file deleted, two files' names
// swapped, a file of the other capture added: each is found and named,
// with exit code 1.
func TestIntegrity(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)

	// -C 1 -W 3, with a -z program that checks, when it runs on a file,
	// that the manifest already holds the file's line (its SHA-256).
	ringDir := t.TempDir()
	zdir := t.TempDir()
	zlog := filepath.Join(zdir, "z.log")
	script := filepath.Join(zdir, "z.sh")
	body := "#!/bin/sh\nsum=$(sha256sum \"$1\" | cut -c1-64)\n" +
		"if grep -q \"\\\"sha256\\\":\\\"$sum\\\"\" " + manifest.Path(ringDir) + "; then echo \"recorded $1\"; else echo \"not recorded $1\"; fi >> " + zlog + "\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(ringDir, "ring.pcapng"), "-C", "1", "-W", "3", "-z", script)
	// About 725 requests of 1248 bytes a file: five files, so that the
	// ring's oldest file left is ring.pcapng2, and name order is not the
	// order of the capture.
	const n = 3300
	f := tb.startFlood(tb.h1, "2001:db8:20::1", n, "0.001", 1200)
	if sent, recv := f.wait(); sent != n || recv != n {
		t.Fatalf("ping: %d sent, %d received, want %d", sent, recv, n)
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	ring := readCapture(t, "ring", ringDir, p.stderr.String())
	if len(ring.entries) < 4 || len(ring.files) != 3 {
		t.Fatalf("ring: %d files recorded, %d kept; want the ring to come round", len(ring.entries), len(ring.files))
	}

	// -G 1 -W 4.
	timeDir := t.TempDir()
	p = startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(timeDir, "t-%Y%m%d-%H%M%S.pcapng"), "-G", "1", "-W", "4")
	f = tb.startFlood(tb.h1, "2001:db8:20::1", 2000, "0.005", 56)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	f.stop()
	tb.requireRoutes(tb.r1, before)
	timed := readCapture(t, "timed", timeDir, p.stderr.String())
	if len(timed.entries) != 4 || len(timed.files) != 4 {
		t.Fatalf("-G 1 -W 4: %d files recorded, %d there", len(timed.entries), len(timed.files))
	}

	// -z ran on every file of the ring after its line was written.
	zs := waitLines(t, zlog, len(ring.entries))
	for _, l := range zs {
		if !strings.HasPrefix(l, "recorded ") {
			t.Errorf("-z: %s", l)
		}
	}

	for _, c := range []*integrityCapture{ring, timed} {
		code, out, stderr := runLwtdump(t, launch{}, "verify", c.dir)
		want := fmt.Sprintf("lwtdump verify: %d files intact, 0 findings", len(c.files))
		if code != 0 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 || stderr != "" {
			t.Errorf("%s: verify: exit code %d\n%s%s", c.name, code, out, stderr)
		}
		readDirMatchesMergecap(t, c)
	}

	other := map[string]*integrityCapture{"ring": timed, "timed": ring}
	for _, c := range []*integrityCapture{ring, timed} {
		for _, tc := range []struct {
			name   string
			mutate func(t *testing.T, files []string, dir string) string // returns the file to be named
			want   string
		}{
			{"flip a byte in a packet", func(t *testing.T, files []string, _ string) string {
				name := files[1]
				off := packetOffset(t, name)
				b, _ := os.ReadFile(name)
				b[off] ^= 0x01
				os.WriteFile(name, b, 0o600)
				return name
			}, "sha256 differs from the manifest (file altered)"},
			{"truncate a file", func(t *testing.T, files []string, _ string) string {
				name := files[len(files)-1]
				fi, _ := os.Stat(name)
				os.Truncate(name, fi.Size()/2)
				return name
			}, "(file truncated); truncated at offset"},
			{"delete a middle file", func(t *testing.T, files []string, _ string) string {
				os.Remove(files[1])
				return files[1]
			}, "missing (the manifest records it as run "},
			{"swap two files' names", func(t *testing.T, files []string, dir string) string {
				a, b := files[0], files[len(files)-1]
				tmp := filepath.Join(dir, "swap.tmp")
				os.Rename(a, tmp)
				os.Rename(b, a)
				os.Rename(tmp, b)
				return a
			}, "files swapped or renamed"},
			{"add a file from another run", func(t *testing.T, _ []string, dir string) string {
				name := filepath.Join(dir, "added.pcapng")
				copyTo(t, other[c.name].files[0], name)
				return name
			}, "not in the manifest: a file of another capture (run " + other[c.name].run + " seq "},
		} {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				var files []string
				for _, f := range c.files {
					files = append(files, filepath.Join(dir, filepath.Base(f)))
					copyTo(t, f, files[len(files)-1])
				}
				copyTo(t, manifest.Path(c.dir), manifest.Path(dir))
				named := tc.mutate(t, files, dir)
				code, out, stderr := runLwtdump(t, launch{}, "verify", dir)
				if code != 1 || stderr != "" {
					t.Fatalf("verify: exit code %d, want 1\n%s%s", code, out, stderr)
				}
				var found bool
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "lwtdump verify: "+named+": ") && strings.Contains(l, tc.want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no finding naming %s and saying %q:\n%s", filepath.Base(named), tc.want, out)
				}
				t.Logf("%s", out)
			})
		}
	}
}

// readCapture reads the manifest of a capture just finished into dir and
// checks it against the files and the capture's summary: one line per
// finished file, sequence numbers 1, 2, ... in order, each naming the run
// that lwtdump announced; the packets of all lines add up to the packets
// captured; the files there hold the newest lines' contents.
func readCapture(t *testing.T, name, dir, stderr string) *integrityCapture {
	t.Helper()
	c := &integrityCapture{name: name, dir: dir}
	c.captured, _ = summary(t, stderr)
	m, err := manifest.Read(manifest.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Bad) != 0 || len(m.Entries) == 0 {
		t.Fatalf("%s: manifest with %d entries, bad lines %v", name, len(m.Entries), m.Bad)
	}
	c.entries = m.Entries
	c.run = m.Entries[0].Run
	if !strings.Contains(stderr, "lwtdump: run "+c.run+": every finished file is recorded in "+manifest.Path(dir)+"\n") {
		t.Errorf("%s: lwtdump did not announce run %s:\n%s", name, c.run, stderr)
	}
	var packets uint64
	latest := map[string]int{}
	for i, e := range m.Entries {
		if e.Run != c.run || e.Seq != i+1 {
			t.Errorf("%s: line %d: run %s seq %d", name, i+1, e.Run, e.Seq)
		}
		packets += e.Packets
		if prev, ok := latest[e.File]; ok != (e.Overwrites != 0) || ok && e.Overwrites != prev {
			t.Errorf("%s: line %d: overwrites %d, the file's last line was seq %d", name, i+1, e.Overwrites, prev)
		}
		latest[e.File] = e.Seq
	}
	if packets != uint64(c.captured) {
		t.Errorf("%s: the manifest counts %d packets, lwtdump captured %d", name, packets, c.captured)
	}
	for _, e := range m.Entries {
		if latest[e.File] == e.Seq {
			path := filepath.Join(dir, e.File)
			c.files = append(c.files, path)
			c.kept += e.Packets
			comment := capinfos(t, path)
			if !strings.Contains(comment, fmt.Sprintf(" run=%s seq=%d\n", c.run, e.Seq)) {
				t.Errorf("%s: capinfos does not show run %s seq %d:\n%s", e.File, c.run, e.Seq, comment)
			}
		}
	}
	if got := ls(t, dir); len(got) != len(c.files) {
		t.Errorf("%s: directory holds %v, manifest keeps %d files", name, got, len(c.files))
	}
	return c
}

// readDirMatchesMergecap: lwtdump -r DIR prints what lwtdump -r prints of
// mergecap -a of the files in sequence order (not name order: the ring's
// files are named 0, 1, 2 whatever their order), every packet once.
func readDirMatchesMergecap(t *testing.T, c *integrityCapture) {
	t.Helper()
	merged := filepath.Join(t.TempDir(), "merged.pcapng")
	if out, err := exec.Command("mergecap", append([]string{"-a", "-w", merged}, c.files...)...).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, out)
	}
	code, want, stderr := runLwtdump(t, launch{}, "-tttt", "-v", "-r", merged)
	if code != 0 || stderr != "" {
		t.Fatalf("-r merged: exit code %d, %s", code, stderr)
	}
	code, got, stderr := runLwtdump(t, launch{}, "-tttt", "-v", "-r", c.dir)
	if code != 0 || stderr != "" {
		t.Fatalf("-r %s: exit code %d, %s", c.dir, code, stderr)
	}
	if got != want {
		t.Errorf("%s: -r DIR differs from mergecap -a of the files in sequence order", c.name)
	}
	if byName := slices.Sorted(slices.Values(c.files)); !slices.Equal(byName, c.files) {
		if out, err := exec.Command("mergecap", append([]string{"-a", "-w", merged}, byName...)...).CombinedOutput(); err != nil {
			t.Fatalf("mergecap: %v\n%s", err, out)
		}
		if _, inNameOrder, _ := runLwtdump(t, launch{}, "-tttt", "-v", "-r", merged); inNameOrder == got {
			t.Errorf("%s: the files in name order read as in sequence order", c.name)
		}
	}
	if lines := strings.Count(got, "\n") / 3; uint64(lines) != c.kept { // -v: a line, the interface, the comment
		t.Errorf("%s: -r DIR printed %d packets, the files hold %d", c.name, lines, c.kept)
	}
	t.Logf("%s: %d packets read in sequence order from %v", c.name, c.kept, names(c.files))
}

func names(files []string) []string {
	var n []string
	for _, f := range files {
		n = append(n, filepath.Base(f))
	}
	return n
}

// packetOffset is the offset of a byte inside the data of the middle
// packet block of a pcapng file.
func packetOffset(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var epbs []int
	for off := 0; off+12 <= len(b); {
		typ := binary.LittleEndian.Uint32(b[off:])
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if n < 12 {
			t.Fatalf("%s: bad block at %d", file, off)
		}
		if typ == blockEPB {
			epbs = append(epbs, off)
		}
		off += n
	}
	if len(epbs) == 0 {
		t.Fatalf("%s holds no packet", file)
	}
	return epbs[len(epbs)/2] + 28 + 40 // past the block header and the IPv6 header
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitLines waits until file holds n lines (the -z programs are not waited
// for) and returns them.
func waitLines(t *testing.T, file string, n int) []string {
	t.Helper()
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(file)
		if lines = strings.Split(strings.TrimSpace(string(b)), "\n"); len(b) > 0 && len(lines) >= n {
			return lines
		}
	}
	t.Fatalf("%s: %d lines, want %d", file, len(lines), n)
	return nil
}

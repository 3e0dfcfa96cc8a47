package main

// End-to-end tests of rotation (-C, -G, -W, -z, --file-mode) and of a full
// disk: real traffic through the testbed, every file read by capinfos,
// tshark and mergecap.

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/rotate/manifest"
)

// pcapng block types.
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 1
	blockISB = 5
	blockEPB = 6
)

// blocks walks a pcapng file block by block and returns the block types,
// failing the test unless the file ends exactly at the end of a block.
func blocks(t *testing.T, file string) []uint32 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			t.Fatalf("%s: %d bytes after the last whole block", filepath.Base(file), len(b)-off)
		}
		typ := binary.LittleEndian.Uint32(b[off:])
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if n < 12 || n%4 != 0 || off+n > len(b) || binary.LittleEndian.Uint32(b[off+n-4:]) != uint32(n) {
			t.Fatalf("%s: block %#x of %d bytes at offset %d is cut or broken (file: %d bytes)", filepath.Base(file), typ, n, off, len(b))
		}
		types = append(types, typ)
		off += n
	}
	return types
}

// requireComplete fails the test unless file is one complete pcapng section
// of one interface: SHB, IDB, packets, and an ISB when isb is set.
func requireComplete(t *testing.T, file string, isb bool) {
	t.Helper()
	if got := requireWhole(t, file); got != isb {
		t.Errorf("%s: ends with statistics: %v, want %v", filepath.Base(file), got, isb)
	}
}

// requireWhole fails the test unless file is SHB, IDB, packets and maybe an
// ISB, all whole, and says whether it ends with the ISB.
func requireWhole(t *testing.T, file string) (isb bool) {
	t.Helper()
	types := blocks(t, file)
	isb = len(types) > 0 && types[len(types)-1] == blockISB
	want := []uint32{blockSHB, blockIDB}
	for range len(types) - 2 - btoi(isb) {
		want = append(want, blockEPB)
	}
	if isb {
		want = append(want, blockISB)
	}
	if !slices.Equal(types, want) {
		t.Errorf("%s: blocks %x, want SHB, IDB, EPBs and maybe an ISB", filepath.Base(file), types)
	}
	return isb
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// echoSeqs returns the sequence numbers of the ICMPv6 echo requests in file,
// read by tshark, after capinfos has accepted the file.
func echoSeqs(t *testing.T, file string) []int {
	t.Helper()
	capinfos(t, file)
	var seqs []int
	for _, row := range tsharkFields(t, file, nil, "icmpv6.type", "icmpv6.echo.sequence_number") {
		seq, err := strconv.Atoi(row[1])
		if row[0] != "128" || err != nil {
			t.Fatalf("%s: not an echo request: %q", filepath.Base(file), row)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// requireConsecutive fails the test unless seqs are first, first+1, ... .
func requireConsecutive(t *testing.T, what string, seqs []int, first int) {
	t.Helper()
	for i, s := range seqs {
		if s != first+i {
			t.Fatalf("%s: packet %d has sequence number %d, want %d (missing or doubled): %v", what, i, s, first+i, seqs)
		}
	}
}

// merge joins files with mergecap and returns the echo sequence numbers of the result.
func merge(t *testing.T, files []string) []int {
	t.Helper()
	merged := filepath.Join(t.TempDir(), "merged.pcapng")
	if out, err := exec.Command("mergecap", append([]string{"-w", merged}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, out)
	}
	return echoSeqs(t, merged)
}

// summary reads "N packets captured, M dropped" from lwtdump's stderr.
func summary(t *testing.T, stderr string) (captured, dropped int) {
	t.Helper()
	s := readSummary(t, stderr)
	return int(s.captured), int(s.dropped)
}

// -C 1 -W 3 under steady traffic: a ring of three files, each a complete
// pcapng that capinfos and tshark read; together they hold the newest
// packets, none missing or doubled, and mergecap of the three gives them in
// order; -z ran once for every file the capture finished.
func TestRotateSizeRing(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	dir := t.TempDir()
	zlog := filepath.Join(dir, "z.log")
	script := filepath.Join(dir, "z.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+zlog+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ring.pcapng")
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out, "-C", "1", "-W", "3", "-z", script)

	// 4000 requests of 1248 bytes, about 1.45 MB of pcapng per 1000: five or
	// six files, so the ring wraps.
	const n = 4000
	f := tb.startFlood(tb.h1, "2001:db8:20::1", n, "0.001", 1200)
	if sent, recv := f.wait(); sent != n || recv != n {
		t.Fatalf("ping: %d sent, %d received, want %d", sent, recv, n)
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	captured, dropped := summary(t, p.stderr.String())
	if captured != n || dropped != 0 {
		t.Fatalf("%d packets captured, %d dropped; want %d, 0", captured, dropped, n)
	}

	names := []string{out + "0", out + "1", out + "2"}
	var files []string // oldest first
	perFile := map[string][]int{}
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("ring file: %v (directory holds %v)", err, ls(t, dir))
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
		requireComplete(t, name, true)
		perFile[name] = echoSeqs(t, name)
		if len(perFile[name]) == 0 {
			t.Fatalf("%s holds no packet", name)
		}
		files = append(files, name)
	}
	if got := ls(t, dir); len(got) != 5 { // three files, the script and its log
		t.Errorf("directory holds %v, want the three ring files", got)
	}
	slices.SortFunc(files, func(a, b string) int { return perFile[a][0] - perFile[b][0] })
	var all []int
	for _, name := range files {
		all = append(all, perFile[name]...)
	}
	first := all[0]
	requireConsecutive(t, "ring files, oldest first", all, first)
	if last := all[len(all)-1]; last != n || first == 1 {
		t.Fatalf("the ring holds packets %d to %d: want the newest, up to %d, and the oldest overwritten", first, last, n)
	}
	requireConsecutive(t, "mergecap of the ring", merge(t, files), first)

	// Every packet has the same size, so every full file holds the same
	// number k of packets, and the oldest file left is file (first-1)/k+1.
	k := len(perFile[files[0]])
	if len(perFile[files[1]]) != k || (first-1)%k != 0 {
		t.Fatalf("full files hold %d and %d packets; the oldest starts at packet %d", k, len(perFile[files[1]]), first)
	}
	for _, name := range files[:2] {
		fi, _ := os.Stat(name)
		if fi.Size() <= 1_000_000 || fi.Size() > 1_000_000+2_000 {
			t.Errorf("%s: %d bytes, want just over 1,000,000", filepath.Base(name), fi.Size())
		}
	}
	total := (first-1)/k + 3

	// -z ran once per finished file, in ring order, the last one at exit.
	// The programs are not waited for: wait for their lines.
	var zs []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(zlog)
		if zs = strings.Fields(string(b)); len(zs) >= total {
			break
		}
	}
	if len(zs) != total {
		t.Fatalf("-z ran %d times for %d files: %q", len(zs), total, zs)
	}
	slices.Sort(zs)
	for i, name := range names {
		if c := strings.Count(strings.Join(zs, "\n")+"\n", name+"\n"); c != (total-i+2)/3 {
			t.Errorf("-z ran %d times on %s, want %d", c, filepath.Base(name), (total-i+2)/3)
		}
	}
	t.Logf("%d packets, %d files of which 3 kept (%d, %d and %d packets), first kept packet %d", n, total,
		len(perFile[files[0]]), len(perFile[files[1]]), len(perFile[files[2]]), first)
}

// -G 1 -W 3 under steady traffic: three files named by strftime, then
// lwtdump ends by itself (exit 0, routes restored); every file complete, the
// packets consecutive across them and exactly those the summary counts;
// --file-mode gives their mode, and the manifest's, whatever the umask.
func TestRotateTime(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	dir := t.TempDir()
	umask := syscall.Umask(0o077) // lwtdump inherits it
	t.Cleanup(func() { syscall.Umask(umask) })
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(dir, "t-%Y%m%d-%H%M%S.pcapng"),
		"-G", "1", "-W", "3", "--file-mode", "0640")
	f := tb.startFlood(tb.h1, "2001:db8:20::1", 2000, "0.005", 56)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	sent, _ := f.stop()
	tb.requireRoutes(tb.r1, before)
	if !strings.Contains(p.stderr.String(), "lwtdump: file limit reached: 3 files\n") {
		t.Errorf("stderr: %s", p.stderr.String())
	}
	captured, dropped := summary(t, p.stderr.String())

	files := ls(t, dir)
	if len(files) != 3 {
		t.Fatalf("files %v, want 3", files)
	}
	var all []int
	for i, name := range files {
		if !regexp.MustCompile(`^t-\d{8}-\d{6}\.pcapng$`).MatchString(name) {
			t.Errorf("file name %q does not follow t-%%Y%%m%%d-%%H%%M%%S.pcapng", name)
		}
		path := filepath.Join(dir, name)
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", name, fi.Mode().Perm())
		}
		requireComplete(t, path, true)
		seqs := echoSeqs(t, path)
		if len(seqs) == 0 && i > 0 {
			t.Errorf("%s holds no packet under steady traffic", name)
		}
		all = append(all, seqs...)
		files[i] = path
	}
	if len(all) == 0 || len(all) != captured || dropped != 0 {
		t.Fatalf("%d packets in the files; summary %d captured, %d dropped", len(all), captured, dropped)
	}
	if fi, err := os.Stat(manifest.Path(dir)); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o640 {
		t.Errorf("%s: mode %v, want 0640 under umask 077", manifest.Name, fi.Mode().Perm())
	}
	requireConsecutive(t, "files in name order", all, all[0])
	requireConsecutive(t, "mergecap of the files", merge(t, files), all[0])
	t.Logf("%d requests sent, %d captured in 3 files: %v", sent, captured, files)
}

// -G with no traffic at all: the files still come, one per interval, each a
// valid pcapng with no packet.
func TestRotateIdle(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	dir := t.TempDir()
	p := startLwtdump(t, tb.launch(), "-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", filepath.Join(dir, "idle-%s"), "-G", "1", "-W", "2")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	files := ls(t, dir)
	if len(files) != 2 {
		t.Fatalf("files %v, want 2", files)
	}
	for _, name := range files {
		path := filepath.Join(dir, name)
		requireComplete(t, path, true)
		if !strings.Contains(capinfos(t, path, "-c"), "Number of packets:   0") {
			t.Errorf("%s: %s", name, capinfos(t, path, "-c"))
		}
	}
}

// A full disk (ENOSPC, a tmpfs of 256 KiB) or a failing one (EIO, a FUSE
// file system whose writes fail after 256 KiB): lwtdump ends with exit code 1
// and one line naming the error, the routes are restored, and the last file
// ends with its last whole packet, so capinfos, tshark and pcapgo read it to
// its end; with -C, the files finished before are complete, and no packet is
// missing between them. The numbers add up: the summary's "captured" is
// the packets in the files, the packets the failure lost are said (", N
// lost to a failed write"), and when the full disk leaves room for the
// last file's statistics blocks, they say the same numbers.
func TestRotateDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		err  syscall.Errno
	}{
		{"single", nil, syscall.ENOSPC},
		{"C100k", []string{"-C", "100k"}, syscall.ENOSPC},
		{"EIO", nil, syscall.EIO},
		{"EIO-C100k", []string{"-C", "100k"}, syscall.EIO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			// mnt is where lwtdump writes, dir where the test reads.
			var mnt, dir string
			if tc.err == syscall.EIO {
				mnt, dir = mountFailing(t, 256<<10)
			} else {
				mnt = mountTmpfs(t, "size=256k,mode=0700")
				dir = mnt
			}
			out := filepath.Join(mnt, "full.pcapng")
			p := startLwtdump(t, tb.launch(), append([]string{"-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out, "-v"}, tc.args...)...)
			f := tb.startFlood(tb.h1, "2001:db8:20::1", 3000, "0.002", 1200)
			code := p.wait()
			f.stop()
			if code != 1 {
				t.Fatalf("exit code %d, want 1\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			// The manifest, in the same directory, may fail too: that is a
			// warning naming the file it could not record, not a second error.
			var errLines []string
			for _, l := range strings.Split(p.stderr.String(), "\n") {
				if strings.HasPrefix(l, "lwtdump: warning: record ") && strings.Contains(l, "lwtdump verify will not know") {
					continue
				}
				if strings.Contains(l, tc.err.Error()) {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "lwtdump: write pcapng: write "+out) {
				t.Fatalf("want one line naming the error and the file; stderr: %s", p.stderr.String())
			}

			// Whole blocks only, read to a clean end by pcapgo, tshark and
			// capinfos; every file but the last ends with its statistics.
			files := ls(t, dir)
			if len(files) == 0 || files[0] != "full.pcapng" || (tc.args != nil && len(files) < 2) {
				t.Fatalf("files %v", files)
			}
			var all []int
			var sizes []int64
			for i, name := range files {
				path := filepath.Join(dir, name)
				if isb := requireWhole(t, path); !isb && i < len(files)-1 {
					t.Errorf("%s is not the last file but has no statistics block", name)
				}
				seqs := echoSeqs(t, path)
				if n := pcapgoCount(t, path); n != len(seqs) {
					t.Errorf("%s: pcapgo read %d packets, tshark %d", name, n, len(seqs))
				}
				all = append(all, seqs...)
				fi, _ := os.Stat(path)
				sizes = append(sizes, fi.Size())
			}
			if len(all) == 0 {
				t.Fatal("no packet in the files")
			}
			requireConsecutive(t, "the files in order", all, 1)
			a := requireAccounting(t, p.stderr.String(), paths(dir, files))
			if a.summary.lost == 0 {
				t.Errorf("no packet lost to the failed write: %v", a)
			}
			t.Logf("%v after 256 KiB: files %v of %v bytes, %d packets, then: %s; %v", tc.err, files, sizes, len(all), errLines[0], a)
		})
	}
}

// pcapgoCount reads file with pcapgo to its end and returns its packet count,
// failing the test unless the file ends cleanly after a whole packet.
func pcapgoCount(t *testing.T, file string) int {
	t.Helper()
	ng := ngReader(t, file)
	for n := 0; ; n++ {
		if _, _, err := ng.ReadPacketData(); errors.Is(err, io.EOF) {
			return n
		} else if err != nil {
			t.Fatalf("%s: packet %d: %v", file, n, err)
		}
	}
}

// An output directory that cannot be written fails at once with one line and
// exit code 2, before any route is touched.
func TestRotateReadOnlyDirectory(t *testing.T) {
	requireRoot(t)
	ro := mountTmpfs(t, "ro,size=64k")
	code, _, stderr := runLwtdump(t, launch{}, "-i", "2001:db8:20::/48", "-w", filepath.Join(ro, "out-%H.pcapng"), "-G", "60")
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "directory "+ro+" is not writable") {
		t.Fatalf("exit code %d, stderr %q; want 2 and one line saying the directory is not writable", code, stderr)
	}
}

// ls lists the names in dir, sorted, but for the manifest that every
// capture into files keeps there (the integrity tests check it).
func ls(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		if e.Name() != manifest.Name {
			names = append(names, e.Name())
		}
	}
	return names
}

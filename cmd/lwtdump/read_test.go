package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lwtdump/lwtdump/writer/writertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readFixture writes, in a new directory, the capture of writertest as
// lwtdump.pcapng and, when editcap is installed, as Wireshark's editcap
// rewrites it (editcap.pcapng, with a comment of its own on packet 3, and
// without the statistics, which editcap 4.0 drops), and as classic pcap
// (classic.pcap); and a filter file, filter.txt. It returns the directory
// and the names of the captures made.
func readFixture(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lwtdump.pcapng"), writertest.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "filter.txt"), []byte("# echo requests only\nicmp6[0] == 128 or icmp[0] == 8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []string{"lwtdump.pcapng"}
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Log("editcap is not installed (make deps installs it): reading only lwtdump's own pcapng")
		return dir, files
	}
	for _, c := range [][]string{
		{"-F", "pcapng", "-a", "3:analyst: looks like a retry", "lwtdump.pcapng", "editcap.pcapng"},
		{"-F", "pcap", "lwtdump.pcapng", "classic.pcap"},
	} {
		cmd := exec.Command("editcap", c...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("editcap %s: %v\n%s", strings.Join(c, " "), err, out)
		}
		files = append(files, c[len(c)-1])
	}
	return dir, files
}

// golden compares got with testdata/NAME.golden, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run '%s' -update rewrites it):\n--- got\n%s--- want\n%s", path, t.Name(), got, want)
	}
}

// -r in every print mode, on lwtdump's own pcapng and on editcap's, against
// golden files.
func TestReadGolden(t *testing.T) {
	dir, files := readFixture(t)
	modes := []struct {
		name string
		args []string
		expr []string // after the file
	}{
		{"default", nil, nil}, {"n", []string{"-n"}, nil}, {"t", []string{"-t"}, nil}, {"tt", []string{"-tt"}, nil}, {"ttt", []string{"-ttt"}, nil},
		{"tttt", []string{"-tttt"}, nil}, {"ttttt", []string{"-ttttt"}, nil}, {"v", []string{"-v"}, nil}, {"vv", []string{"-vv"}, nil},
		{"X", []string{"-X"}, nil}, {"nvX", []string{"-nvX"}, nil},
		{"hook-xmit", []string{"--hook", "xmit"}, nil}, {"hook-in-route", []string{"--hook", "lwt_in", "--route", "2001:db8:20::/48"}, nil},
		{"route4", []string{"--route", "203.0.113.0/24", "--cookie", "0xbeef"}, nil}, {"count", []string{"-c", "3", "-t"}, nil},
		{"filter", []string{"-t"}, []string{"icmp6", "or", "tcp"}},
		{"filter-hook", []string{"-t", "--hook", "xmit"}, []string{"ip6 and not udp"}},
		{"filter-file", []string{"-t", "-F", "filter.txt"}, nil},
	}
	for _, file := range files {
		if file == "classic.pcap" {
			continue // compared with tcpdump in TestReadMatchesTcpdump
		}
		src := strings.TrimSuffix(file, ".pcapng")
		for _, m := range modes {
			t.Run(src+"/"+m.name, func(t *testing.T) {
				args := append(append(append([]string{}, m.args...), "-r", file), m.expr...)
				code, stdout, stderr := runLwtdump(t, utcIn(dir), args...)
				if code != 0 || stderr != "" {
					t.Fatalf("exit code %d, stderr %q", code, stderr)
				}
				golden(t, "read-"+src+"-"+m.name, stdout)
			})
		}
		for _, json := range []bool{false, true} {
			name, args := "stats-"+src, []string{"stats", file}
			if json {
				name, args = name+"-json", append(args, "--json")
			}
			t.Run(src+"/"+name, func(t *testing.T) {
				code, stdout, stderr := runLwtdump(t, utcIn(dir), args...)
				if code != 0 || stderr != "" {
					t.Fatalf("exit code %d, stderr %q", code, stderr)
				}
				golden(t, name, stdout)
			})
		}
	}
}

// On a classic pcap file (no hooks to name) the lines are tcpdump's.
func TestReadMatchesTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (make deps installs it)")
	}
	dir, files := readFixture(t)
	if len(files) < 3 {
		t.Skip("editcap is not installed (make deps installs it)")
	}
	for _, args := range [][]string{
		{"-n", "-r", "classic.pcap"}, {"-n", "-tt", "-r", "classic.pcap"}, {"-n", "-ttt", "-r", "classic.pcap"},
		{"-n", "-tttt", "-r", "classic.pcap"}, {"-n", "-X", "-r", "classic.pcap"},
		// tcpdump's habits: -A, -l, -S, glued and grouped flags.
		{"-n", "-A", "-r", "classic.pcap"}, {"-nnl", "-r", "classic.pcap"}, {"-nS", "-r", "classic.pcap", "tcp"},
		{"-nttttc3", "-rclassic.pcap"}, {"-nXc2", "-r", "classic.pcap"},
		// Filter expressions select as tcpdump's do; "len" is the length on
		// the wire, also of the packet cut short by the snap length.
		{"-n", "-r", "classic.pcap", "icmp6"},
		{"-n", "-r", "classic.pcap", "ip and tcp[tcpflags] & tcp-syn != 0"},
		{"-n", "-r", "classic.pcap", "udp", "port", "50000", "or", "icmp"},
		{"-n", "-r", "classic.pcap", "ip6 and len > 100"},
		{"-n", "-r", "classic.pcap", "src net 2001:db8:1::/48 and not udp and ip6[40] == 128"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command("tcpdump", args...)
			cmd.Dir, cmd.Env = dir, append(os.Environ(), "TZ=UTC")
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			code, got, stderr := runLwtdump(t, utcIn(dir), args...)
			if code != 0 || got != string(want) {
				t.Errorf("exit code %d, stderr %q\n--- lwtdump\n%s--- tcpdump\n%s", code, stderr, got, want)
			}
		})
	}
}

// Several captures, given by repeated -r, by a glob lwtdump expands, or by
// a glob the shell expanded, are read as one, in time order.
func TestReadSeveral(t *testing.T) {
	dir, _ := readFixture(t)
	data := writertest.Bytes()
	for _, name := range []string{"rot-1.pcapng", "rot-2.pcapng"} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, one, _ := runLwtdump(t, utcIn(dir), "-t", "-r", "lwtdump.pcapng")
	var want strings.Builder
	for _, l := range strings.SplitAfter(one, "\n") { // the same packets twice, each pair together
		want.WriteString(l + l)
	}
	for _, args := range [][]string{
		{"-t", "-r", "rot-1.pcapng", "-r", "rot-2.pcapng"},
		{"-t", "-r", "rot-*.pcapng"},
		{"-t", "-r", "rot-1.pcapng", "rot-2.pcapng"},
	} {
		code, got, stderr := runLwtdump(t, utcIn(dir), args...)
		if code != 0 || got != want.String() {
			t.Errorf("%q: exit code %d, stderr %q\n%s", args, code, stderr, got)
		}
	}
	code, got, stderr := runLwtdump(t, utcIn(dir), "stats", "rot-*.pcapng")
	if code != 0 || !strings.Contains(got, "lwt_xmit:2001:db8:20::/48@r1_h2  Raw   10 ") {
		t.Errorf("stats of two files: exit code %d, stderr %q\n%s", code, stderr, got)
	}
}

// Damaged input: a truncated capture gives every complete record and one
// warning line; a file that is no capture, or empty, one error line; the
// other files are read all the same.
func TestReadDamaged(t *testing.T) {
	dir, _ := readFixture(t)
	data := writertest.Bytes()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("truncated.pcapng", data[:1000])
	write("garbage.pcapng", []byte("<html><body>not a capture</body></html>\n"))
	write("empty.pcapng", nil)
	_, full, _ := runLwtdump(t, utcIn(dir), "-r", "lwtdump.pcapng")
	lines := strings.SplitAfter(full, "\n")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"truncated", []string{"-r", "truncated.pcapng"}, 0, strings.Join(lines[:1], ""),
			"lwtdump: warning: truncated.pcapng: truncated at offset 864: the file ends 136 bytes into a 240-byte record (a capture killed while writing?)\n"},
		{"garbage", []string{"-r", "garbage.pcapng"}, 1, "",
			"lwtdump: garbage.pcapng: not a pcap or pcapng capture: it starts with \"<htm\"\n"},
		{"empty", []string{"-r", "empty.pcapng"}, 1, "", "lwtdump: empty.pcapng: empty file: not a pcap or pcapng capture\n"},
		{"missing", []string{"-r", "missing.pcapng"}, 1, "", "lwtdump: open missing.pcapng: no such file or directory\n"},
		{"one bad of two", []string{"-r", "garbage.pcapng", "-r", "lwtdump.pcapng"}, 1, full,
			"lwtdump: garbage.pcapng: not a pcap or pcapng capture: it starts with \"<htm\"\n"},
		{"stats of a truncated file", []string{"stats", "truncated.pcapng"}, 0, "",
			"lwtdump: warning: truncated.pcapng: truncated at offset 864: the file ends 136 bytes into a 240-byte record (a capture killed while writing?)\n"},
		{"copy of a truncated file", []string{"-r", "truncated.pcapng", "-w", "copy.pcapng"}, 0, "",
			"lwtdump: warning: truncated.pcapng: truncated at offset 864: the file ends 136 bytes into a 240-byte record (a capture killed while writing?)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLwtdump(t, utcIn(dir), tc.args...)
			if tc.name == "stats of a truncated file" {
				stdout = "" // the table is checked elsewhere
			}
			if code != tc.code || stdout != tc.stdout || stderr != tc.stderr {
				t.Errorf("exit code %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", code, tc.code, stdout, tc.stdout, stderr, tc.stderr)
			}
		})
	}
	_, copied, _ := runLwtdump(t, utcIn(dir), "-r", "copy.pcapng")
	if copied != lines[0] {
		t.Errorf("the copy of the truncated file: %q", copied)
	}
}

// Command lines that cannot work say so in one line, with exit code 2.
func TestReadUsage(t *testing.T) {
	dir, _ := readFixture(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-r", "lwtdump.pcapng", "-i", "2001:db8:20::/48"}, "-r and -i are mutually exclusive"},
		{[]string{"-r", "lwtdump.pcapng", "icmp6", "and", "bogus"}, `filter expression "icmp6 and bogus": `},
		{[]string{"-r", "lwtdump.pcapng", "ether", "host", "02:00:00:00:00:01"}, `filter expression "ether host 02:00:00:00:00:01": `},
		{[]string{"-F", "lwtdump.pcapng", "-r", "lwtdump.pcapng", "icmp6"}, "give the expression one way"},
		{[]string{"-r", "lwtdump.pcapng", "icmp6", "-n"}, "-n: flags go before the files"},
		{[]string{"--route", "2001:db8:20::/48"}, "--route selects packets when reading"},
		{[]string{"-r", "lwtdump.pcapng", "-tttttt"}, "at most five t"},
		{[]string{"-r", "lwtdump.pcapng", "--hook", "bogus"}, `--hook: unknown hook "bogus"`},
		{[]string{"-r", "lwtdump.pcapng", "--cookie", "beef"}, `--cookie "beef" is not a number`},
		{[]string{"-r", "lwtdump.pcapng", "--route", "2001:db8:20::1"}, "is not a prefix"},
		{[]string{"-r", "nothing-*.pcapng"}, "no file matches"},
		{[]string{"-r", "lwtdump.pcapng", "-w", "lwtdump.pcapng"}, "is also read with -r"},
		{[]string{"-r", "lwtdump.pcapng", "-s", "100"}, "-s is for capturing"},
		{[]string{"-r", "lwtdump.pcapng", "--netns", "r1"}, "--netns is for capturing"},
		{[]string{"-r", "lwtdump.pcapng", "lwtdump.pcapng", "-n"}, "-n: flags go before the files"},
		{[]string{"stats"}, "no capture given"},
	} {
		code, stdout, stderr := runLwtdump(t, utcIn(dir), tc.args...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "lwtdump: ") || !strings.Contains(stderr, tc.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.msg)
		}
	}
}

// -r -w copies the selection: every interface, the selected packets with
// their comments and direction, and the statistics, as tshark and capinfos
// read them; "stats" of the copy counts what was selected.
func TestReadWrite(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	dir, _ := readFixture(t)
	code, _, stderr := runLwtdump(t, utcIn(dir), "-r", "lwtdump.pcapng", "-w", "sel.pcapng", "--hook", "xmit", "--route", "2001:db8:20::/48")
	if code != 0 || stderr != "" {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	sel := filepath.Join(dir, "sel.pcapng")
	rows := tsharkFields(t, sel, nil, "frame.interface_name", "frame.comment", "frame.packet_flags_direction")
	var want [][]string
	for _, row := range tsharkFields(t, filepath.Join(dir, "lwtdump.pcapng"), nil, "frame.interface_name", "frame.comment", "frame.packet_flags_direction") {
		if row[0] == "lwt_xmit:2001:db8:20::/48@r1_h2" {
			want = append(want, row)
		}
	}
	if len(want) != 5 || strings.Join(flat(rows), "|") != strings.Join(flat(want), "|") {
		t.Errorf("copy:\n%q\nwant\n%q", rows, want)
	}
	info := capinfos(t, sel)
	for _, s := range []string{"Number of interfaces in file: 4", "Name = lwt_in:203.0.113.0/24@r1_h2", "Number of stat entries = 1",
		"selected by lwtdump", "--hook xmit --route 2001:db8:20::/48", "command=lwtdump -i 2001:db8:20::/48"} {
		if !strings.Contains(info, s) {
			t.Errorf("capinfos says no %q:\n%s", s, info)
		}
	}
	isb := tsharkFields(t, sel, []string{"-X", "read_format:MIME Files Format"},
		"pcapng.options.option.data.interface.received", "pcapng.options.option.data.interface.dropped")
	if len(isb) != 1 || isb[0][0] != "4,7,2,4" || isb[0][1] != "2,2,2,2" {
		t.Errorf("statistics blocks: %q", isb)
	}
	_, stats, _ := runLwtdump(t, utcIn(dir), "stats", "--json", "sel.pcapng")
	if !strings.Contains(stats, `"packets": 5,`) || !strings.Contains(stats, `"dropped": 2,`) {
		t.Errorf("stats of the copy:\n%s", stats)
	}
	// -w - writes the copy to a pipe.
	code, out, stderr := runLwtdump(t, launch{dir: dir}, "-r", "lwtdump.pcapng", "-w", "-", "--hook", "in")
	if code != 0 || !strings.HasPrefix(out, "\x0a\x0d\x0d\x0a") {
		t.Fatalf("-w -: exit %d, %d bytes\nstderr: %s", code, len(out), stderr)
	}
}

func flat(rows [][]string) []string {
	var s []string
	for _, r := range rows {
		s = append(s, strings.Join(r, ","))
	}
	return s
}

// -r in this process: a copy records in its section comment the command
// line given to run, not the process's, and -w - writes to the stdout given
// to run.
func TestReadInProcess(t *testing.T) {
	dir, _ := readFixture(t)
	in, out := filepath.Join(dir, "lwtdump.pcapng"), filepath.Join(dir, "copy.pcapng")
	args := []string{"-r", in, "-w", out, "--hook", "in"}
	if code, _, stderr := runLwtdump(t, inProcess, args...); code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := "selected by lwtdump " + version + ": " + quoteArgs(append([]string{"lwtdump"}, args...))
	if got := ngReader(t, out).SectionInfo().Comment; !strings.HasSuffix(got, want) {
		t.Errorf("section comment %q, want it to end with %q", got, want)
	}
	var stdout bytes.Buffer
	code, _, stderr := runLwtdump(t, launch{inProcess: true, stdout: &stdout}, "-r", in, "-w", "-", "--hook", "in")
	if code != 0 || stderr != "" || !bytes.HasPrefix(stdout.Bytes(), []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Fatalf("-w -: exit %d, stderr %q, %d bytes not a pcapng section", code, stderr, stdout.Len())
	}
}

package main

import (
	"bytes"
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

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/lwtdump/lwtdump/bpf/sample"
)

// The grammar of Wireshark's doc/extcap.adoc and of the developer guide's
// extcap chapter: one sentence per line, a keyword, then {key=value} elements.
var (
	sentenceRE = regexp.MustCompile(`^(extcap|interface|dlt|arg|value) (\{[a-z]+=[^{}\n]*\})+$`)
	elementRE  = regexp.MustCompile(`\{([a-z]+)=([^{}]*)\}`)
)

// sentence is one parsed line of extcap output.
type sentence struct {
	kind string
	el   map[string]string
}

// parseSentences checks every line of an extcap answer against the grammar.
func parseSentences(t *testing.T, out string) []sentence {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("answer does not end in a newline: %q", out)
	}
	var ss []sentence
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !sentenceRE.MatchString(line) {
			t.Errorf("line does not follow the extcap grammar: %q", line)
			continue
		}
		s := sentence{kind: strings.Fields(line)[0], el: map[string]string{}}
		for _, m := range elementRE.FindAllStringSubmatch(line, -1) {
			if _, dup := s.el[m[1]]; dup {
				t.Errorf("element %s twice: %q", m[1], line)
			}
			s.el[m[1]] = m[2]
		}
		ss = append(ss, s)
	}
	return ss
}

// requireElements fails when s lacks one of the keys or has one not allowed.
func requireElements(t *testing.T, s sentence, required, optional []string) {
	t.Helper()
	for _, k := range required {
		if s.el[k] == "" {
			t.Errorf("%s sentence without %s: %v", s.kind, k, s.el)
		}
	}
	for k := range s.el {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			t.Errorf("%s sentence with unknown element %s: %v", s.kind, k, s.el)
		}
	}
}

func TestExtcapInterfaces(t *testing.T) {
	for _, args := range [][]string{
		{"--extcap-interfaces"},
		{"--extcap-interfaces", "--extcap-version=4.0"},
		{"--extcap-version=4.2", "--extcap-interfaces"},
	} {
		code, out, errOut := runLwtdump(t, inProcess, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		ss := parseSentences(t, out)
		if len(ss) != 2 || ss[0].kind != "extcap" || ss[1].kind != "interface" {
			t.Fatalf("%v: want an extcap and an interface sentence: %q", args, out)
		}
		requireElements(t, ss[0], []string{"version", "help"}, []string{"display"})
		requireElements(t, ss[1], []string{"value", "display"}, nil)
		if ss[0].el["version"] != version {
			t.Errorf("version %q, want %q", ss[0].el["version"], version)
		}
		if ss[1].el["value"] != "lwtdump" {
			t.Errorf("interface %q, want lwtdump", ss[1].el["value"])
		}
	}
	// --extcap-version alone, with or without a value, prints the extcap sentence.
	for _, arg := range []string{"--extcap-version", "--extcap-version=4.0"} {
		code, out, errOut := runLwtdump(t, inProcess, arg)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errOut)
		}
		if ss := parseSentences(t, out); len(ss) != 1 || ss[0].kind != "extcap" || ss[0].el["version"] != version {
			t.Errorf("%s: %q", arg, out)
		}
	}
}

func TestExtcapDLTs(t *testing.T) {
	code, out, errOut := runLwtdump(t, inProcess, "--extcap-dlts", "--extcap-interface", "lwtdump")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	ss := parseSentences(t, out)
	if len(ss) != 1 || ss[0].kind != "dlt" {
		t.Fatalf("want one dlt sentence: %q", out)
	}
	requireElements(t, ss[0], []string{"number", "name", "display"}, nil)
	if ss[0].el["number"] != "101" || ss[0].el["name"] != "RAW" {
		t.Errorf("dlt %v, want 101 RAW (LINKTYPE_RAW, what the IDBs say)", ss[0].el)
	}
}

// Every arg has a unique number, a call that the extcap capture accepts, a
// display and a documented type; every value belongs to a selection arg;
// numbers stay within their range.
func TestExtcapConfig(t *testing.T) {
	code, out, errOut := runLwtdump(t, inProcess, "--extcap-interface", "lwtdump", "--extcap-config")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	accepted := map[string]bool{}
	for _, f := range newExtcapApp(nil, io.Discard, io.Discard).Flags {
		for _, n := range f.Names() {
			accepted["--"+n] = true
		}
	}
	types := []string{"integer", "unsigned", "long", "double", "string", "password", "boolean", "boolflag", "fileselect", "selector", "radio", "multicheck", "timestamp"}
	args := map[string]sentence{}
	calls := map[string]string{}
	for i, s := range parseSentences(t, out) {
		switch s.kind {
		case "arg":
			requireElements(t, s, []string{"number", "call", "display", "type"},
				[]string{"tooltip", "placeholder", "required", "default", "range", "validation", "group"})
			if n := s.el["number"]; n != strconv.Itoa(len(args)) {
				t.Errorf("line %d: arg number %s, want %d (unique, in order)", i+1, n, len(args))
			}
			args[s.el["number"]] = s
			if !accepted[s.el["call"]] {
				t.Errorf("arg %s calls %s, which the extcap capture does not accept", s.el["number"], s.el["call"])
			}
			calls[strings.TrimPrefix(s.el["call"], "--")] = s.el["type"]
			if !slices.Contains(types, s.el["type"]) {
				t.Errorf("arg %s: type %q is not one of %v", s.el["number"], s.el["type"], types)
			}
			if r := s.el["range"]; r != "" {
				lo, hi, ok := strings.Cut(r, ",")
				l, err1 := strconv.ParseUint(lo, 10, 64)
				h, err2 := strconv.ParseUint(hi, 10, 64)
				d, err3 := strconv.ParseUint(s.el["default"], 10, 64)
				if !ok || err1 != nil || err2 != nil || err3 != nil || l > d || d > h {
					t.Errorf("arg %s: range %q with default %q", s.el["number"], r, s.el["default"])
				}
			}
			if v := s.el["required"]; v != "" && v != "true" && v != "false" {
				t.Errorf("arg %s: required=%q", s.el["number"], v)
			}
		case "value":
			requireElements(t, s, []string{"arg", "value", "display"}, []string{"default", "enabled", "parent"})
			a, ok := args[s.el["arg"]]
			if !ok || !slices.Contains([]string{"selector", "radio", "multicheck"}, a.el["type"]) {
				t.Errorf("line %d: value for arg %s, which is no selection arg", i+1, s.el["arg"])
			}
		default:
			t.Errorf("line %d: %s sentence in a config answer", i+1, s.kind)
		}
	}
	for call, typ := range map[string]string{"interface": "string", "hook": "selector", "netns": "string", "cookie": "string", "snaplen": "integer", "table": "unsigned"} {
		if calls[call] != typ {
			t.Errorf("option --%s: type %q, want %q", call, calls[call], typ)
		}
	}
	if args["0"].el["required"] != "true" || args["0"].el["call"] != "--interface" {
		t.Errorf("the route is not the first, required option: %v", args["0"].el)
	}
}

// Wireshark checks a capture filter with --extcap-capture-filter alone:
// nothing on stdout means valid, a line says why not; exit 0 either way.
func TestExtcapCaptureFilterCheck(t *testing.T) {
	for _, tc := range []struct {
		filter string
		valid  bool
	}{{"", true}, {"  ", true}, {"ip6", true}, {"icmp6 or udp port 53", true}, {"icmp6 and and", false}} {
		code, out, errOut := runLwtdump(t, inProcess, "--extcap-interface", "lwtdump", "--extcap-capture-filter", tc.filter)
		if code != 0 || errOut != "" {
			t.Errorf("filter %q: exit %d, stderr %q", tc.filter, code, errOut)
		}
		if valid := out == ""; valid != tc.valid || strings.Count(out, "\n") > 1 {
			t.Errorf("filter %q: answer %q", tc.filter, out)
		}
	}
}

func TestExtcapErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--extcap-dlts", "--extcap-interface", "eth0"},
		{"--extcap-config"},
		{"--extcap-interface", "lwtdump"},
		{"--capture", "--extcap-interface", "lwtdump"},
	} {
		code, out, errOut := runLwtdump(t, inProcess, args...)
		if code != exitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "lwtdump: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", args, code, out, errOut)
		}
	}
}

func TestIsExtcapCall(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"lwtdump", "--extcap-interfaces"}, true},
		{[]string{"lwtdump", "--extcap-interface=lwtdump", "--extcap-dlts"}, true},
		{[]string{"lwtdump", "--capture", "--fifo", "/tmp/x"}, true},
		{[]string{"lwtdump", "-i", "2001:db8::/32", "-w", "-"}, false},
		{[]string{"lwtdump", "--version"}, false},
		{[]string{"lwtdump", "--", "--capture"}, false},
	} {
		if got := isExtcapCall(tc.args); got != tc.want {
			t.Errorf("isExtcapCall(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// installExtcap links lwtdump into the personal extcap folders of a home of
// the test's own with lwtdump wireshark install, and returns the
// environment for tshark: that HOME, and WIRESHARK_EXTCAP_DIR too (which
// tshark ignores when run as root).
func installExtcap(t *testing.T) []string {
	t.Helper()
	env := wiresharkHome(t)
	if code, stdout, stderr := runLwtdump(t, launch{env: env}, "wireshark", "install"); code != 0 {
		t.Fatalf("lwtdump wireshark install: exit %d\n%s%s", code, stdout, stderr)
	}
	home := strings.TrimPrefix(env[0], "HOME=")
	for _, dir := range []string{".config/wireshark/extcap", ".local/lib/wireshark/extcap"} {
		if target, err := os.Readlink(filepath.Join(home, dir, "lwtdump")); err != nil || target != lwtdumpBinary(t) {
			t.Fatalf("%s/lwtdump: link to %q (%v)", dir, target, err)
		}
	}
	return env
}

// wiresharkHome is the environment of a user whose home is a new directory
// of the test's own: HOME first, no XDG_CONFIG_HOME, and
// WIRESHARK_EXTCAP_DIR set to its 4.0 extcap folder.
func wiresharkHome(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=", "WIRESHARK_EXTCAP_DIR=" + filepath.Join(home, ".config/wireshark/extcap")}
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); k != "HOME" && k != "XDG_CONFIG_HOME" && k != "WIRESHARK_EXTCAP_DIR" {
			env = append(env, e)
		}
	}
	return env
}

// tshark -D, with lwtdump in the personal extcap folder, lists it.
func TestExtcapTsharkLists(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	cmd := exec.Command("tshark", "-D")
	cmd.Env = installExtcap(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -D: %v", err)
	}
	if !regexp.MustCompile(`(?m)^\d+\. lwtdump \(LWT-route-capture\)$`).Match(out) {
		t.Fatalf("tshark -D does not list lwtdump:\n%s", out)
	}
}

// tshark -i lwtdump -c 3, the options given as extcap preferences: tshark
// runs lwtdump through extcap, receives 3 packets with their comments, stops
// it, and the route is restored. Nothing shows up as an extcap error.
func TestExtcapTsharkCapture(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	cmd := exec.Command("tshark", "-i", "lwtdump", "-c", "3", "-l", "-f", "icmp6",
		"-o", "extcap.lwtdump.interface:2001:db8:20::/48",
		"-o", "extcap.lwtdump.netns:"+tb.r1,
		"-o", "extcap.lwtdump.cookie:0xbeef",
		"-T", "fields", "-e", "frame.comment", "-e", "frame.interface_name")
	tmp := t.TempDir() // where dumpcap writes its temporary file
	cmd.Env = append(installExtcap(t), "TMPDIR="+tmp)
	out, errOut := newTempOutput(t, "stdout"), newTempOutput(t, "stderr")
	cmd.Stdout, cmd.Stderr = out.f, errOut.f
	tshark := startBg(t, "tshark -i lwtdump -c 3", cmd)

	// Ready when the route carries the program.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(tb.ip("-n", tb.r1, "-6", "route", "show", "2001:db8:20::/48"), "encap bpf xmit lwtdump:") {
		if tshark.exited() {
			t.Fatalf("tshark exited before the capture started: %v\n%s", tshark.err, errOut.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("route not captured after 20 s\ntshark: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for sent := 0; sent < 20; sent++ {
		tb.ping(tb.h1, "2001:db8:20::1", 1)
		if strings.Count(out.String(), "\n") >= 3 {
			break
		}
	}
	// The temporary file is named after the interface's display name,
	// which makes a clean file name.
	var names []string
	if es, _ := os.ReadDir(tmp); len(es) > 0 {
		for _, e := range es {
			names = append(names, e.Name())
		}
	}
	clean := regexp.MustCompile(`^wireshark_LWT-route-capture[A-Za-z0-9_]+\.pcapng$`)
	if !slices.ContainsFunc(names, clean.MatchString) {
		t.Errorf("temporary files %q, want one named wireshark_LWT-route-captureXXXXXX.pcapng", names)
	}
	if err := tshark.wait(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, errOut.String())
	}
	waitExtcapGone(t, tb.r1)
	tb.requireRoutes(tb.r1, before)

	rows := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(rows) != 3 {
		t.Fatalf("tshark read %d packets, want 3: %q\n%s", len(rows), out.String(), errOut.String())
	}
	for i, row := range rows {
		comment, ifname, _ := strings.Cut(row, "\t")
		if !strings.HasPrefix(comment, "hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ") || ifname != "lwt_xmit:2001:db8:20::/48@r1_h2" {
			t.Errorf("packet %d: %q", i+1, row)
		}
	}
	if strings.Contains(errOut.String(), "Error") {
		t.Errorf("tshark reports an extcap error:\n%s", errOut.String())
	}
}

// waitExtcapGone waits until no lwtdump extcap capture in netns is running.
func waitExtcapGone(t *testing.T, netns string) {
	t.Helper()
	deadline := time.Now().Add(35 * time.Second)
	for {
		running := false
		pids, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range pids {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			args := strings.Split(string(b), "\x00")
			if slices.Contains(args, "--capture") && slices.Contains(args, netns) {
				running = true
			}
		}
		if !running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lwtdump extcap capture in %s still running after 35 s", netns)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mkfifo makes a FIFO and starts reading it, as Wireshark does; the returned
// function waits for the writer to close it and returns what was read.
func mkfifo(t *testing.T) (string, func() []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(path) // blocks until lwtdump opens it
		if err != nil {
			got <- []byte(err.Error())
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	return path, func() []byte {
		select {
		case b := <-got:
			return b
		case <-time.After(30 * time.Second):
			t.Fatal("the FIFO was not closed within 30 s")
			return nil
		}
	}
}

// Wireshark stops an extcap capture with SIGTERM: the route is restored,
// exit 0, nothing on stderr, and the FIFO holds a complete pcapng stream.
// An empty --hook (a multicheck with nothing checked) means lwt_xmit; the
// capture filter keeps the IPv4 packets only.
func TestExtcapCaptureSIGTERM(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	fifo, read := mkfifo(t)
	p := startLwtdump(t, tb.launch(), "--capture", "--extcap-interface", "lwtdump", "--fifo", fifo,
		"--interface", "2001:db8:20::/48 203.0.113.0/24,cookie=0x7", "--netns", tb.r1, "--hook=", "--snaplen", "96", "--table", "254",
		"--extcap-capture-filter", "ip")
	const n = 3
	if got := tb.ping(tb.h1, "2001:db8:20::1", n); got != n {
		t.Fatalf("%d of %d pings answered", got, n)
	}
	if got := tb.ping(tb.h1, "203.0.113.1", n); got != n {
		t.Fatalf("%d of %d pings answered", got, n)
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
	}
	tb.requireRoutes(tb.r1, before)
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr %q, want nothing (Wireshark shows it as an error)", s)
	}
	ng, err := pcapgo.NewNgReader(bytes.NewReader(read()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for {
		data, ci, opts, err := ng.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 96 || ci.Length != 84 && ci.Length != 104 {
			t.Errorf("packet %d: %d bytes of %d with snaplen 96", len(comments)+1, len(data), ci.Length)
		}
		comments = append(comments, strings.Join(opts.Comments, "|"))
	}
	if len(comments) != n {
		t.Fatalf("%d packets, want the %d IPv4 ones: %q", len(comments), n, comments)
	}
	for i, c := range comments {
		if want := "hook=lwt_xmit cookie=0x7 route=203.0.113.0/24 "; !strings.HasPrefix(c, want) {
			t.Errorf("packet %d: comment %q, want %s...", i+1, c, want)
		}
	}
	for i := range 2 {
		if intf, err := ng.Interface(i); err != nil || intf.Filter != "ip" {
			t.Errorf("interface %d: filter %q (%v), want ip", i, intf.Filter, err)
		}
	}
}

// A capture with a bad configuration opens the FIFO all the same, so that
// Wireshark does not wait for it forever, closes it, and says why on stderr.
func TestExtcapCaptureBadConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, "lwtdump: no route to capture: "},
		{[]string{"--interface", "2001:db8:20::/48", "--hook", "sideways"}, `lwtdump: --hook: unknown hook "sideways"`},
		{[]string{"--interface", "2001:db8:20::/48", "--extcap-capture-filter", "icmp6 and and"}, `lwtdump: capture filter "icmp6 and and": `},
	} {
		fifo, read := mkfifo(t)
		code, stdout, stderr := runLwtdump(t, launch{}, append([]string{"--capture", "--extcap-interface", "lwtdump", "--fifo", fifo}, tc.args...)...)
		if b := read(); len(b) != 0 {
			t.Errorf("%v: %d bytes in the FIFO", tc.args, len(b))
		}
		if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, tc.err) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %s...", tc.args, code, stdout, stderr, tc.err)
		}
	}
}

// The hooks selector opens on lwt_xmit, the default of --hook: Wireshark
// shows its first value when the saved preference is still empty (and a
// multicheck would show nothing ticked). It offers every combination of
// the hooks, each one --hook takes.
func TestExtcapHookSelector(t *testing.T) {
	_, out, _ := runLwtdump(t, inProcess, "--extcap-interface", "lwtdump", "--extcap-config")
	var values []sentence
	for _, s := range parseSentences(t, out) {
		if s.kind == "value" && s.el["arg"] == "1" {
			values = append(values, s)
		}
	}
	if len(values) == 0 || values[0].el["value"] != "xmit" || values[0].el["default"] != "true" {
		t.Fatalf("first hook value %v, want xmit, the default", values)
	}
	seen := map[string]bool{}
	for _, v := range values {
		var names []string
		for h := range strings.SplitSeq(v.el["value"], ",") {
			hook, err := sample.ParseHook(h)
			if err != nil || hook == sample.HookSeg6Local {
				t.Errorf("value %q: %q is not a hook --hook takes", v.el["value"], h)
			}
			names = append(names, hook.String())
		}
		if want := strings.Join(names[:len(names)-1], ", "); len(names) > 1 && !strings.HasPrefix(v.el["display"], want) {
			t.Errorf("value %q shows %q", v.el["value"], v.el["display"])
		}
		seen[v.el["value"]] = true
	}
	if len(seen) != 7 {
		t.Errorf("%d distinct combinations of the 3 hooks, want 7: %v", len(seen), seen)
	}
}

// A route that does not exist is reported in the words of Wireshark's
// options dialog, where the Routes field takes PREFIX@DEV, not in those of
// the command line; the route table is left as it was.
func TestExtcapCaptureNoRoute(t *testing.T) {
	tb := newTestbed(t)
	before := tb.routes(tb.r1)
	fifo, read := mkfifo(t)
	code, _, stderr := runLwtdump(t, tb.launch(), "--capture", "--extcap-interface", "lwtdump", "--fifo", fifo,
		"--interface", "2001:db8:21::/64", "--netns", tb.r1)
	read()
	want := "lwtdump: no route to 2001:db8:21::/64 in table 254 of netns " + tb.r1 +
		": capture an existing route, or add one for the capture: give 2001:db8:21::/64@DEV in Routes\n"
	if code != exitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, want)
	}
	tb.requireRoutes(tb.r1, before)
}

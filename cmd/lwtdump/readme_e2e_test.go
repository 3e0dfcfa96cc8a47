package main

// README's examples, checked against the program: every lwtdump command line
// of README.md must parse with lwtdump's own flag definitions, and the shell
// examples run in the testbed, so that the examples cannot drift from what
// lwtdump does.
//
// The examples are README's fenced code blocks with the info string sh. Each
// of their lines that is not a comment is a command. A block that cannot run
// in the testbed (a router run by FRR, ssh, a display, the user's Wireshark
// folders) carries, on the line just before its fence, the marker
//
//	<!-- readme-test: skip: WHY -->
//
// and TestREADMEExamples lists it as skipped with WHY; every other sh block
// holds only lwtdump commands, and is run. Output and configuration are in
// blocks of another info string; of those, the lines of a console block that
// start with "$ lwtdump" and the keys of lwtdump's YAML configuration are
// checked too.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// readmePath is README.md, from the package's directory.
const readmePath = "../../README.md"

// readmeSkipMarker starts the line that marks the next block as one the
// test cannot run.
const readmeSkipMarker = "<!-- readme-test: skip:"

// readmeBlock is one fenced code block of README.
type readmeBlock struct {
	line  int    // the line of its opening fence, counting from 1
	info  string // its info string
	skip  string // why it is not run ("" to run it)
	lines []readmeLine
}

// readmeLine is one line of a block, with the line it is on.
type readmeLine struct {
	line int
	text string
}

// readmeBlocks reads the fenced code blocks of the Markdown file path.
func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		prev   string // the line before the current one
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		text := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(text, "```"):
			cur = &readmeBlock{line: n, info: strings.TrimSpace(strings.TrimPrefix(text, "```"))}
			if strings.HasPrefix(prev, readmeSkipMarker) {
				cur.skip = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(prev, readmeSkipMarker), "-->"))
				if cur.skip == "" {
					t.Errorf("%s:%d: a skip marker without a reason", path, n-1)
				}
			}
		case cur != nil && strings.TrimSpace(text) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, readmeLine{n, text})
		}
		prev = text
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: a code block that is not closed", path, cur.line)
	}
	return blocks
}

// readmeCommand is one command line of an sh block: the words of each
// command of its pipeline.
type readmeCommand struct {
	line     int
	text     string
	pipeline [][]string
}

// commands are the command lines of an sh block: its lines but comments
// and blank ones, a line ending in a backslash joined with the next.
func (b readmeBlock) commands() ([]readmeCommand, error) {
	var cmds []readmeCommand
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		text := strings.TrimSpace(l.text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		for strings.HasSuffix(text, `\`) && i+1 < len(b.lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(b.lines[i].text)
		}
		pipeline, err := shellPipeline(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.line, err)
		}
		cmds = append(cmds, readmeCommand{line: l.line, text: text, pipeline: pipeline})
	}
	return cmds, nil
}

// shellPipeline splits a command line as sh does for what README's
// examples use: words, single and double quotes, backslashes, a comment
// from a # that starts a word, and | between the commands of a pipeline.
func shellPipeline(s string) ([][]string, error) {
	var (
		pipeline [][]string
		words    []string
		word     strings.Builder
		inWord   bool
	)
	end := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			end()
		case c == '#' && !inWord:
			i = len(s)
		case c == '|':
			end()
			pipeline = append(pipeline, words)
			words = nil
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("an unclosed %c in %q", c, s)
			}
			word.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '\\' && i+1 < len(s):
			i++
			word.WriteByte(s[i])
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	return append(pipeline, words), nil
}

// readmeLwtdumpArgs are the lwtdump command lines of README: those of the
// sh blocks (each command of a pipeline that runs lwtdump, after ssh too),
// and those a console block shows after a "$ " prompt. Each comes with
// where it is.
func readmeLwtdumpArgs(t *testing.T, blocks []readmeBlock) (where []string, args [][]string) {
	t.Helper()
	for _, b := range blocks {
		switch {
		case b.info == "sh":
			cmds, err := b.commands()
			if err != nil {
				t.Errorf("README.md: block at line %d: %v", b.line, err)
				continue
			}
			for _, c := range cmds {
				for _, words := range c.pipeline {
					if i := slices.Index(words, "lwtdump"); i == 0 || (i > 0 && words[0] == "ssh") {
						where = append(where, fmt.Sprintf("README.md:%d: %s", c.line, c.text))
						args = append(args, words[i:])
					}
				}
			}
		default:
			for _, l := range b.lines {
				if text, ok := strings.CutPrefix(l.text, "$ lwtdump "); ok {
					pipeline, err := shellPipeline("lwtdump " + text)
					if err != nil {
						t.Errorf("README.md:%d: %v", l.line, err)
						continue
					}
					where = append(where, fmt.Sprintf("README.md:%d: %s", l.line, l.text))
					args = append(args, pipeline[0])
				}
			}
		}
	}
	return where, args
}

// parseWithAppFlags parses args (args[0] the program) as lwtdump does,
// with its own flag definitions and subcommands, but runs nothing.
func parseWithAppFlags(args []string) error {
	app := newApp(args, io.Discard, io.Discard)
	app.Setup()
	noop := func(*cli.Context) error { return nil }
	app.Action, app.Before = noop, nil
	// urfave/cli's help command is one value shared by every app of the
	// process, added to every command it has run, itself included: it is
	// left as it is (it prints to the app's writer, io.Discard here).
	var quiet func([]*cli.Command)
	quiet = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" {
				continue
			}
			c.Action, c.Before = noop, nil
			quiet(c.Subcommands)
		}
	}
	quiet(app.Commands)
	argv, err := tcpdumpArgs(args, app.Flags)
	if err != nil {
		return err
	}
	return app.Run(argv)
}

// TestREADMEFlags checks that every lwtdump command line of README,
// including those the testbed cannot run, uses only flags and subcommands
// lwtdump defines, and that the keys of its configuration example are
// flags' long names.
func TestREADMEFlags(t *testing.T) {
	blocks := readmeBlocks(t, readmePath)
	where, args := readmeLwtdumpArgs(t, blocks)
	if len(args) < 20 {
		t.Fatalf("README.md: only %d lwtdump command lines found", len(args))
	}
	for i, a := range args {
		if err := parseWithAppFlags(a); err != nil {
			t.Errorf("%s\n\tlwtdump refuses it: %v", where[i], err)
		}
	}
	names := map[string]bool{}
	for _, f := range newApp(nil, io.Discard, io.Discard).Flags {
		names[f.Names()[0]] = true
	}
	key := regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*):`)
	configs := 0
	for _, b := range blocks {
		if b.info != "yaml" || len(b.lines) == 0 || !strings.HasPrefix(b.lines[0].text, "# /etc/lwtdump/") {
			continue
		}
		configs++
		for _, l := range b.lines {
			if m := key.FindStringSubmatch(l.text); m != nil && !names[m[1]] {
				t.Errorf("README.md:%d: %q is no long flag name of lwtdump, so the configuration refuses it", l.line, m[1])
			}
		}
	}
	if configs == 0 {
		t.Error("README.md: no configuration example (a yaml block starting with # /etc/lwtdump/)")
	}
}

// TestREADMELinks checks that every link to a heading, in README.md and
// CONTRIBUTING.md and between them, leads to a heading there.
func TestREADMELinks(t *testing.T) {
	files := []string{"README.md", "CONTRIBUTING.md"}
	anchors := map[string]map[string]bool{}
	texts := map[string]string{}
	heading := regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = stripCodeBlocks(string(b))
		anchors[f] = map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(texts[f], -1) {
			anchors[f][githubAnchor(m[1])] = true
		}
	}
	link := regexp.MustCompile(`\]\(((?:README|CONTRIBUTING)\.md)?(?:#([^)\s]*))?\)`)
	for _, f := range files {
		for _, m := range link.FindAllStringSubmatch(texts[f], -1) {
			target := f
			if m[1] != "" {
				target = m[1]
			}
			if m[2] != "" && !anchors[target][m[2]] {
				t.Errorf("%s: the link %s leads to no heading of %s", f, m[0], target)
			}
		}
	}
}

// stripCodeBlocks blanks the fenced code blocks of a Markdown text, whose
// lines starting with # are not headings.
func stripCodeBlocks(s string) string {
	var out strings.Builder
	in := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "```") {
			in = !in
			out.WriteString("\n")
			continue
		}
		if !in {
			out.WriteString(line)
		}
		out.WriteString("\n")
	}
	return out.String()
}

// githubAnchor is the anchor GitHub gives a heading: lower case, spaces as
// hyphens, and no punctuation but hyphens and underscores.
func githubAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readmeRoutes are the routes of r1 that README's examples capture and that
// a --table N example needs in its table: each is copied there.
var readmeRoutes = map[string][]string{
	"2001:db8:20::/48": {"via", "2001:db8:2::1", "dev", "r1_h2"},
	"203.0.113.0/24":   {"via", "198.51.100.1", "dev", "r1_h2"},
}

// readmeFixtures are the files README's examples read, made in the
// directory the examples run in.
var readmeFixtures = map[string]string{
	"flows.txt": "# the flows to watch\nicmp6 or tcp port 443\n",
}

// TestREADMEExamples runs README's sh blocks, in README's order, in one
// testbed (later blocks read what earlier ones wrote, as a reader of README
// would). r1 is the router: the commands run in its namespace, in a
// directory of the test's, with /var/cap a directory of the test's, the
// device eth1 being r1_h2 and the namespace r1 the testbed's. A capture gets
// pings from h1 through the routes the examples use, and SIGINT unless it
// stopped by itself, and must leave r1's routes as they were; every command
// must exit 0, and every file it wrote must read with capinfos.
func TestREADMEExamples(t *testing.T) {
	requireRoot(t)
	blocks := readmeBlocks(t, readmePath)
	tb := newTestbed(t)
	work := t.TempDir()
	capDir := filepath.Join(work, "cap")
	if err := os.Mkdir(capDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range readmeFixtures {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ex := &readmeRun{tb: tb, work: work, capDir: capDir, tables: map[string]bool{}}
	ran := 0
	for _, b := range blocks {
		if b.info != "sh" {
			continue
		}
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			if b.skip != "" {
				t.Skipf("README.md:%d: %s", b.line, b.skip)
			}
			cmds, err := b.commands()
			if err != nil {
				t.Fatalf("README.md: block at line %d: %v", b.line, err)
			}
			if len(cmds) == 0 {
				t.Fatalf("README.md: the sh block at line %d has no command", b.line)
			}
			for _, c := range cmds {
				ex.run(t, c)
				ran++
			}
		})
	}
	if ran < 15 {
		t.Errorf("only %d of README's commands ran", ran)
	}
}

// readmeRun is the state of TestREADMEExamples across blocks.
type readmeRun struct {
	tb           *testbed
	work, capDir string
	srv6         bool            // the testbed has its SRv6 path
	tables       map[string]bool // the tables readmeRoutes were copied to
}

// run runs one command of README in the testbed and checks what it did.
func (ex *readmeRun) run(t *testing.T, c readmeCommand) {
	t.Helper()
	tb := ex.tb.in(t)
	if len(c.pipeline) != 1 || len(c.pipeline[0]) == 0 || c.pipeline[0][0] != "lwtdump" {
		t.Fatalf("README.md:%d: %s\n\tnot an lwtdump command the test can run: mark its block with %s WHY -->", c.line, c.text, readmeSkipMarker)
	}
	args := ex.substitute(c.pipeline[0][1:])
	capture := false
	for i, a := range args {
		switch a {
		case "-i", "--interface", "--srv6-sid":
			capture = true
		}
		if a == "--srv6-sid" && !ex.srv6 {
			if out, err := exec.Command("../../scripts/testbed.sh", "srv6", tb.name).CombinedOutput(); err != nil {
				t.Fatalf("testbed srv6: %v\n%s", err, out)
			}
			ex.srv6 = true
		}
		if a == "--table" && i+1 < len(args) && !ex.tables[args[i+1]] {
			for prefix, via := range readmeRoutes {
				tb.ip(append(append([]string{"-n", tb.r1, "route", "replace", prefix}, via...), "table", args[i+1])...)
			}
			ex.tables[args[i+1]] = true
		}
	}
	l := launch{ns: tb.r1, dir: ex.work}
	if capture || (len(args) > 0 && (args[0] == "list" || args[0] == "cleanup")) {
		l.stateDir = tb.stateDir
	}
	before := ex.files(t)
	var code int
	var stderr string
	if capture {
		routes := tb.routes(tb.r1)
		defer tb.requireRoutes(tb.r1, routes)
		p := startLwtdump(t, l, args...)
		for _, dst := range []string{"2001:db8:20::1", "203.0.113.1", "2001:db8:21::1", "198.51.100.1"} {
			tb.pingEvery(tb.h1, dst, 3, "0.05")
		}
		select {
		case <-p.done:
			code = p.wait()
		default:
			code = p.stop(syscall.SIGINT)
		}
		stderr = p.stderr.String()
		if !strings.Contains(stderr, "packets captured") {
			t.Errorf("README.md:%d: %s\n\tno summary line on stderr:\n%s", c.line, c.text, stderr)
		}
	} else {
		code, _, stderr = runLwtdump(t, l, args...)
	}
	t.Logf("README.md:%d: %s: exit code %d", c.line, c.text, code)
	if code != 0 {
		t.Fatalf("README.md:%d: %s\n\texit code %d, not 0\n\tstderr: %s", c.line, c.text, code, stderr)
	}
	written := ex.checkWritten(t, before)
	if capture && slices.ContainsFunc(args, func(a string) bool { return a == "-w" || a == "--write" }) && len(written) == 0 {
		t.Errorf("README.md:%d: %s\n\tno file written", c.line, c.text)
	}
}

// substitute puts the testbed's names in place of the router's in args.
func (ex *readmeRun) substitute(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "/var/cap", ex.capDir)
		a = strings.ReplaceAll(a, "@eth1", "@r1_h2")
		if i > 0 && args[i-1] == "--netns" && a == "r1" {
			a = ex.tb.r1
		}
		out[i] = a
	}
	return out
}

// files are the files of the examples' directories, with their modification
// times.
func (ex *readmeRun) files(t *testing.T) map[string]time.Time {
	t.Helper()
	files := map[string]time.Time{}
	for _, dir := range []string{ex.work, ex.capDir} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				files[filepath.Join(dir, e.Name())] = info.ModTime()
			}
		}
	}
	return files
}

// checkWritten reads every capture written or changed since before with
// capinfos, and returns them. A -z program may still be compressing a file,
// so the check is tried again for a few seconds before it fails.
func (ex *readmeRun) checkWritten(t *testing.T, before map[string]time.Time) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var written []string
		var errs []error
		for f, mtime := range ex.files(t) {
			if old, ok := before[f]; (ok && old.Equal(mtime)) || strings.HasSuffix(f, ".jsonl") || readmeFixtures[filepath.Base(f)] != "" {
				continue
			}
			written = append(written, f)
			if out, err := exec.Command("capinfos", f).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("capinfos %s: %v\n%s", f, err, out))
			}
		}
		if len(errs) == 0 {
			return written
		}
		if time.Now().After(deadline) {
			t.Fatal(errors.Join(errs...))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

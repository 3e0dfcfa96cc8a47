package main

// The numbers of a capture add up, whatever ended it: every packet a hook
// saw is in the files, or dropped by the kernel's buffer, or rejected by
// the filter, or lost to a failed write, or seen after the capture's end;
// and the summary line, the per-attachment lines of -v, the files and
// their statistics blocks say the same numbers.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/lwtdump/lwtdump/writer"
	"github.com/lwtdump/lwtdump/writer/pcapngtest"
)

// summaryLine is the summary line on lwtdump's stderr, read back.
type summaryLine struct {
	captured, dropped, filtered, lost, after uint64
	line                                     string
}

var (
	summaryRE = regexp.MustCompile(`(?m)^(\d+) packets captured, (\d+) dropped((?:, \d+ [^,\n]+)*)$`)
	clauseRE  = regexp.MustCompile(`^(\d+) (filtered|lost to a failed write|seen after .+)$`)
	// The per-attachment line of -v.
	attachmentRE = regexp.MustCompile(`(?m)^lwtdump: (\S+): (\d+) seen: (\d+) written, (\d+) dropped, (\d+) filtered, (\d+) lost to a failed write, (\d+) seen after the end$`)
)

// readSummary reads the summary line and its clauses from stderr.
func readSummary(t *testing.T, stderr string) summaryLine {
	t.Helper()
	m := summaryRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary line on stderr:\n%s", stderr)
	}
	s := summaryLine{line: m[0]}
	s.captured, _ = strconv.ParseUint(m[1], 10, 64)
	s.dropped, _ = strconv.ParseUint(m[2], 10, 64)
	for _, c := range strings.Split(m[3], ", ")[1:] {
		cm := clauseRE.FindStringSubmatch(c)
		if cm == nil {
			continue // a gap
		}
		n, _ := strconv.ParseUint(cm[1], 10, 64)
		switch {
		case cm[2] == "filtered":
			s.filtered = n
		case cm[2] == "lost to a failed write":
			s.lost = n
		default:
			s.after = n
		}
	}
	return s
}

// attachmentTally is a per-attachment line of -v, read back.
type attachmentTally struct {
	name string
	sample.Counters
}

// readAttachments reads the per-attachment lines of -v, in attachment order.
func readAttachments(t *testing.T, stderr string) []attachmentTally {
	t.Helper()
	var out []attachmentTally
	for _, m := range attachmentRE.FindAllStringSubmatch(stderr, -1) {
		var n [6]uint64
		for i := range n {
			n[i], _ = strconv.ParseUint(m[i+2], 10, 64)
		}
		out = append(out, attachmentTally{m[1], sample.Counters{Seen: n[0], Written: n[1], Dropped: n[2], Filtered: n[3], Unwritten: n[4], AfterEnd: n[5]}})
	}
	if len(out) == 0 {
		t.Fatalf("no per-attachment line (-v) on stderr:\n%s", stderr)
	}
	return out
}

// isbRecord is an interface's statistics block as tshark reads it.
type isbRecord struct {
	received, dropped, accepted, delivered string // "" when absent
	comments                               []string
}

// readISBs reads the statistics blocks of a file, by interface; nil when
// it has none.
func readISBs(t *testing.T, file string) []isbRecord {
	t.Helper()
	rows := tsharkFields(t, file, []string{"-X", "read_format:MIME Files Format"},
		"pcapng.options.option.data.interface.received", "pcapng.options.option.data.interface.dropped",
		"pcapng.options.option.data.interface.accepted_by_filter", "pcapng.options.option.data.interface.delivered_to_user")
	if len(rows) != 1 || len(rows[0]) != 4 || rows[0][0] == "" {
		return nil
	}
	cols := make([][]string, 4)
	for i, v := range rows[0] {
		cols[i] = strings.Split(v, ",")
	}
	comments := pcapngtest.ISBComments(t, file)
	var out []isbRecord
	for i := range cols[0] {
		r := isbRecord{received: cols[0][i], comments: comments[i]}
		for j, dst := range []*string{&r.dropped, &r.accepted, &r.delivered} {
			if i < len(cols[j+1]) {
				*dst = cols[j+1][i]
			}
		}
		out = append(out, r)
	}
	return out
}

// accounting is what requireAccounting checked: the summary, the tally of
// each attachment, the packets in the files, and the statistics blocks of
// the last file (nil when it has none).
type accounting struct {
	summary     summaryLine
	attachments []attachmentTally
	inFiles     int
	lastISBs    []isbRecord
}

func (a accounting) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "summary %q; %d packets in the files", a.summary.line, a.inFiles)
	for _, at := range a.attachments {
		c := at.Counters
		fmt.Fprintf(&b, "; %s: seen %d = written %d + dropped %d + filtered %d + lost %d + after the end %d", at.name, c.Seen, c.Written, c.Dropped, c.Filtered, c.Unwritten, c.AfterEnd)
	}
	for i, r := range a.lastISBs {
		fmt.Fprintf(&b, "; last file's ISB %d: received %s, dropped %s, accepted %q, delivered %s, comments %q", i, r.received, r.dropped, r.accepted, r.delivered, r.comments)
	}
	if a.lastISBs == nil {
		b.WriteString("; the last file has no statistics block")
	}
	return b.String()
}

// requireAccounting checks the numbers of a capture run with -v into files
// (in name order, the last one last): for each attachment, seen = written
// + dropped + filtered + lost to a failed write + seen after the end; the
// summary line says their sums, each clause only when it is not 0 (but
// "filtered", said with a filter); the files hold exactly the packets
// written; and the statistics blocks of the last file, when it has them,
// say the attachments' numbers: isb_ifrecv the packets seen, isb_ifdrop
// those dropped, isb_filteraccept those the filter kept, isb_usrdeliv those
// written over the whole capture, and a comment for each other loss.
func requireAccounting(t *testing.T, stderr string, files []string) accounting {
	t.Helper()
	a := accounting{summary: readSummary(t, stderr), attachments: readAttachments(t, stderr)}
	var sum sample.Counters
	for _, at := range a.attachments {
		c := at.Counters
		if c.Seen != c.Written+c.Dropped+c.Filtered+c.Unwritten+c.AfterEnd {
			t.Errorf("%s does not add up: %+v", at.name, c)
		}
		sum.Written += c.Written
		sum.Dropped += c.Dropped
		sum.Filtered += c.Filtered
		sum.Unwritten += c.Unwritten
		sum.AfterEnd += c.AfterEnd
	}
	s := a.summary
	if s.captured != sum.Written || s.dropped != sum.Dropped || s.filtered != sum.Filtered || s.lost != sum.Unwritten || s.after != sum.AfterEnd {
		t.Errorf("summary %q, the attachments' sums %+v", s.line, sum)
	}
	if strings.Contains(s.line, "lost to a failed write") != (sum.Unwritten > 0) || strings.Contains(s.line, "seen after") != (sum.AfterEnd > 0) {
		t.Errorf("summary %q: a clause for a loss of 0, or none for a loss", s.line)
	}
	for _, f := range files {
		a.inFiles += pcapgoCount(t, f)
	}
	if uint64(a.inFiles) != s.captured {
		t.Errorf("%d packets in the files, the summary says %d captured", a.inFiles, s.captured)
	}
	if len(files) == 0 {
		return a
	}
	a.lastISBs = readISBs(t, files[len(files)-1])
	if a.lastISBs == nil {
		return a
	}
	if len(a.lastISBs) != len(a.attachments) {
		t.Fatalf("%d statistics blocks in %s, %d attachments", len(a.lastISBs), files[len(files)-1], len(a.attachments))
	}
	for i, r := range a.lastISBs {
		c := a.attachments[i].Counters
		want := isbRecord{received: fmt.Sprint(c.Seen), dropped: fmt.Sprint(c.Dropped), accepted: r.accepted, delivered: fmt.Sprint(c.Written)}
		if r.accepted != "" {
			want.accepted = fmt.Sprint(c.Seen - c.Filtered)
		}
		var notWritten []string
		for _, comment := range r.comments {
			if _, ok := writer.ParseNotWritten(comment); ok {
				notWritten = append(notWritten, comment)
			}
		}
		if c.Unwritten > 0 && len(notWritten) == 0 && r.delivered == want.delivered {
			// The file was finished at a rollover, before the write that
			// failed (in a next file, then removed as it held no whole
			// block): its statistics are those of that moment, and every
			// packet written is in it or before it.
			received, _ := strconv.ParseUint(r.received, 10, 64)
			dropped, _ := strconv.ParseUint(r.dropped, 10, 64)
			if received > c.Seen || dropped > c.Dropped || received < c.Written {
				t.Errorf("statistics block of %s, finished before the failed write: %+v; the attachment's numbers %+v", a.attachments[i].name, r, c)
			}
			continue
		}
		if r.received != want.received || r.dropped != want.dropped || r.accepted != want.accepted || r.delivered != want.delivered ||
			!slices.Equal(notWritten, writer.NotWrittenComments(c)) {
			t.Errorf("statistics block of %s: %+v; the attachment's numbers %+v", a.attachments[i].name, r, c)
		}
	}
	return a
}

// ls names the files lwtdump wrote in dir, as paths.
func paths(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

// Each way a capture ends by itself or at a signal, while the traffic goes
// on (a flood of 200 requests a second), adds up: at -c COUNT the files hold
// COUNT packets, and what the hooks saw after the count, until lwtdump
// detached them, is counted as seen after -c, in the summary, the -v lines
// and the statistics blocks; so at the last file of -G with -W; at a
// signal, nothing is left out. With a filter, the packets it rejected are
// counted too, and with two attachments on one route, each adds up. (The
// ends at a failed write are TestRotateDiskFull's.)
func TestAccountingEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		signal bool   // end with SIGINT after a second, not by itself
		after  string // the end the summary names; "" when nothing is seen after it
	}{
		{"-c", []string{"-i", "2001:db8:20::/48", "-c", "100"}, false, "-c 100"},
		{"-c, two hooks and a filter", []string{"-i", "2001:db8:20::/48", "-c", "100", "--hook", "out,xmit", "icmp6 and ip6[40+6:2] & 1 = 0"}, false, "-c 100"},
		{"-G -W", []string{"-i", "2001:db8:20::/48", "-G", "1", "-W", "2"}, false, "the last file (-W 2)"},
		{"SIGINT", []string{"-i", "2001:db8:20::/48", "--hook", "out,xmit"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTestbed(t)
			before := tb.routes(tb.r1)
			dir := t.TempDir()
			out := filepath.Join(dir, "end.pcapng")
			if slices.Contains(tc.args, "-G") {
				out = filepath.Join(dir, "end-%s.pcapng")
			}
			p := startLwtdump(t, tb.launch(), append([]string{"--netns", tb.r1, "-w", out, "-v"}, tc.args...)...)
			f := tb.startFlood(tb.h1, "2001:db8:20::1", 3000, "0.005", 56)
			var code int
			if tc.signal {
				time.Sleep(time.Second)
				code = p.stop(syscall.SIGINT)
			} else {
				code = p.wait()
			}
			f.stop()
			if code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			files := paths(dir, ls(t, dir))
			a := requireAccounting(t, p.stderr.String(), files)
			if a.summary.captured == 0 || a.summary.lost != 0 || a.lastISBs == nil {
				t.Errorf("want packets written, none lost, statistics blocks: %v", a)
			}
			switch {
			case tc.after == "" && a.summary.after != 0:
				t.Errorf("packets seen after the end of a capture stopped by a signal: %v", a)
			case tc.after != "" && (a.summary.after == 0 || !strings.Contains(a.summary.line, fmt.Sprintf(", %d seen after %s", a.summary.after, tc.after))):
				t.Errorf("want packets seen after %s: %v", tc.after, a)
			}
			if slices.Contains(tc.args, "-c") && a.summary.captured != 100 {
				t.Errorf("-c 100: %d captured", a.summary.captured)
			}
			t.Log(a)
		})
	}
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lwtdump/lwtdump/bpf"
)

// Where the ring buffer cannot be used, lwtdump says so in one line and
// captures through the perf buffer: on a kernel without BPF ring buffers
// (before 5.8), and where the kernel's verifier refuses the program with it
// (as 6.1's did), whose log goes to a file named in that line, or with -v
// onto stderr after it. The test binary plays the missing parts
// (LWTDUMP_TEST_KERNEL_LACKS); the verifier that refuses is the host's.
func TestRingBufferFallback(t *testing.T) {
	tb := newTestbed(t)
	lwtdumpBinary(t) // built before TMPDIR changes below
	const notice = "lwtdump: the BPF ring buffer cannot be used: "
	release := regexp.QuoteMeta(bpf.KernelRelease())
	for _, tc := range []struct {
		name    string
		lacks   string
		verbose bool
		line    string // a regular expression for the notice line; its group, if any, is the log's file
	}{
		{"no ring buffer", "ringbuf", false,
			`kernel ` + release + ` has none \(Linux 5\.8 and later have it\); using the perf buffer`},
		{"verifier refuses", "ringbuf-verifier", false,
			`the verifier of kernel ` + release + ` refused the lwt_xmit program with it \(cannot pass map_type 2 into func bpf_ringbuf_reserve#131\); using the perf buffer; the verifier's log is in (\S+)`},
		{"verifier refuses, -v", "ringbuf-verifier", true,
			`the verifier of kernel ` + release + ` refused the lwt_xmit program with it \(cannot pass map_type 2 into func bpf_ringbuf_reserve#131\); using the perf buffer; the verifier's log follows`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := tb.in(t)
			tmp := t.TempDir()
			t.Setenv("LWTDUMP_TEST_KERNEL_LACKS", tc.lacks)
			t.Setenv("TMPDIR", tmp)
			before := tb.routes(tb.r1)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			args := []string{"-i", "2001:db8:20::/48", "--netns", tb.r1, "-w", out, "-c", "3"}
			if tc.verbose {
				args = append(args, "-v")
			}
			p := startLwtdump(t, tb.launch(), args...)
			tb.ping(tb.h1, "2001:db8:20::1", 3)
			if code := p.wait(); code != 0 {
				t.Fatalf("exit code %d\nstderr: %s", code, p.stderr.String())
			}
			tb.requireRoutes(tb.r1, before)
			if rows := tsharkFields(t, out, nil, "frame.comment"); len(rows) != 3 {
				t.Errorf("%d packets in the file, want 3", len(rows))
			}

			stderr := p.stderr.String()
			var notices []string
			for _, line := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(line, notice) {
					notices = append(notices, line)
				}
			}
			if len(notices) != 1 {
				t.Fatalf("%d lines say the ring buffer cannot be used, want 1:\n%s", len(notices), stderr)
			}
			m := regexp.MustCompile(`^` + regexp.QuoteMeta(notice) + tc.line + `$`).FindStringSubmatch(notices[0])
			if m == nil {
				t.Fatalf("the line\n%s\ndoes not match\n%s%s", notices[0], notice, tc.line)
			}
			logs, _ := filepath.Glob(filepath.Join(tmp, "lwtdump-verifier-*.log"))
			switch {
			case len(m) == 2:
				if len(logs) != 1 || logs[0] != m[1] {
					t.Fatalf("verifier logs in %s: %v, want the one the line names", tmp, logs)
				}
				if log, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(log), "call bpf_ringbuf_reserve#131\n") {
					t.Errorf("%s does not hold the verifier's log (%v):\n%s", m[1], err, log)
				}
			case tc.verbose:
				_, after, _ := strings.Cut(stderr, notices[0]+"\n")
				if !strings.Contains(after, "call bpf_ringbuf_reserve#131\n") || !strings.Contains(after, "\nprocessed ") {
					t.Errorf("the verifier's log does not follow the line:\n%s", stderr)
				}
				fallthrough
			default:
				if len(logs) != 0 {
					t.Errorf("verifier logs written: %v", logs)
				}
			}
		})
	}
}

package metrics

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testCapture is a capture of two attachments with fixed numbers.
func testCapture(snap *Snapshot) Capture {
	snap.Update(func(n *Numbers) {
		n.Written = []uint64{10, 7}
		n.Bytes = []uint64{1040, 728}
		n.File = "/var/lib/lwtdump/core/ring.pcapng3"
		n.FileSize = 123456
		n.FileSeq = 14
		n.FilesFinished = 13
		n.ManifestRecords = 12
		n.ManifestFailures = 1
	})
	return Capture{
		Attachments: []sample.Attachment{
			{Hook: sample.HookIn, Route: "2001:db8:20::/48", Dev: "eth1"},
			{Hook: sample.HookXmit, Route: "2001:db8:20::/48", Dev: "eth1"},
		},
		Counters: func(id uint32) (sample.Counters, error) {
			return []sample.Counters{{Seen: 12, Dropped: 2, Filtered: 0}, {Seen: 9, Dropped: 0, Filtered: 2}}[id], nil
		},
		Gaps:       func(id uint32) uint64 { return uint64(id) },
		BufferFill: func() (uint64, uint64, bool) { return 4096, 8 << 20, true },
		Snapshot:   snap,
		Version:    "1.2.3",
		Start:      time.Unix(1764000000, 250_000_000),
		Run:        "3bc075f9438c653b",
		Transport:  "ringbuf",
		Manifest:   true,
	}
}

// scrape serves reg the way Serve does and returns one scrape.
func scrape(t *testing.T, c Capture, bare bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(l, Registry(NewCollector(c), bare))
	defer s.Close()
	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %v %s\n%s", err, resp.Status, b)
	}
	return string(b)
}

// The exposition of a capture is what testdata/capture.golden holds, but
// for the Go version in build_info.
func TestExposition(t *testing.T) {
	got := regexp.MustCompile(`goversion="[^"]*"`).ReplaceAllString(scrape(t, testCapture(&Snapshot{}), true), `goversion="GO"`)
	golden := filepath.Join("testdata", "capture.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// promtool, Prometheus's own linter, finds nothing to say of a whole
// scrape: the capture's metrics with the Go and process collectors.
func TestPromtoolCheckMetrics(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	out := PromtoolCheck(t, scrape(t, testCapture(&Snapshot{}), false))
	t.Logf("promtool check metrics: %q", out)
}

// PromtoolCheck runs promtool check metrics on a scrape and fails the test
// on any complaint; it returns what promtool said.
func PromtoolCheck(t *testing.T, exposition string) string {
	t.Helper()
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	return string(out)
}

// A counter that cannot be read makes the scrape say so, and the other
// metrics are still served.
func TestCountersUnreadable(t *testing.T) {
	c := testCapture(&Snapshot{})
	c.Counters = func(uint32) (sample.Counters, error) { return sample.Counters{}, errors.New("map gone") }
	reg := Registry(NewCollector(c), true)
	rec := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	w := &responseRecorder{header: http.Header{}}
	rec.ServeHTTP(w, mustRequest(t))
	if !strings.Contains(w.body.String(), "lwtdump_packets_written_total") {
		t.Errorf("without counters, the rest is gone:\n%s", w.body.String())
	}
}

func TestListen(t *testing.T) {
	for _, tc := range []struct {
		addr, host string
		err        string
	}{
		{addr: "0", host: "127.0.0.1"},
		{addr: ":0", host: "127.0.0.1"},
		{addr: "127.0.0.1:0", host: "127.0.0.1"},
		{addr: "[::1]:0", host: "::1"},
		{addr: "localhost:", err: "want HOST:PORT or PORT"},
		{addr: "[::1", err: "want HOST:PORT or PORT"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			l, err := Listen(tc.addr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				if strings.Contains(tc.addr, "::1") {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				t.Fatal(err)
			}
			defer l.Close()
			if host, _, _ := net.SplitHostPort(l.Addr().String()); host != tc.host {
				t.Errorf("listening on %s, want host %s", l.Addr(), tc.host)
			}
		})
	}
}

type responseRecorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *responseRecorder) WriteHeader(code int)        { r.code = code }

func mustRequest(t *testing.T) *http.Request {
	r, err := http.NewRequest("GET", "/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

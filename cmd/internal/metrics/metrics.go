// Package metrics serves a capture's health as Prometheus metrics.
//
// As node_exporter's collectors do, every descriptor is built once and
// every value is read when Prometheus scrapes: the kernel's counters of
// each attachment from its map, the ring buffer's fill from its positions,
// and what user space counts (packets and bytes written, files, manifest)
// from a Snapshot the capture publishes at its regular flush. The packet
// path never touches this package.
package metrics

import (
	"runtime"
	"sync"
	"time"

	"github.com/lwtdump/lwtdump/bpf/sample"
	"github.com/prometheus/client_golang/prometheus"
)

// Numbers are what user space counts, as the capture last published them.
type Numbers struct {
	Written []uint64 // packets written, per attachment
	Bytes   []uint64 // captured bytes of those packets, per attachment
	// Malformed counts samples that could not be decoded.
	Malformed uint64
	// File is the file being written ("" for stdout or text); FileSize its
	// size so far, FileSeq its number in the run (1 for the first).
	File     string
	FileSize int64
	FileSeq  int
	// FilesFinished counts the files finished (rotated, or closed at the end).
	FilesFinished uint64
	// ManifestRecords and ManifestFailures count the finished files the
	// manifest recorded and those it failed to.
	ManifestRecords, ManifestFailures uint64
}

// Snapshot holds the Numbers that the capture publishes and scrapes read.
// It is safe for concurrent use.
type Snapshot struct {
	mu sync.Mutex
	n  Numbers
}

// Update changes the numbers under the lock.
func (s *Snapshot) Update(f func(*Numbers)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.n)
}

// Load returns a copy of the numbers.
func (s *Snapshot) Load() Numbers {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	n.Written = append([]uint64(nil), s.n.Written...)
	n.Bytes = append([]uint64(nil), s.n.Bytes...)
	return n
}

// Capture is what the collector reads. Every function must be safe to call
// from the scraping goroutine while the capture runs.
type Capture struct {
	Attachments []sample.Attachment
	// Counters reads the kernel's counters of an attachment.
	Counters func(attachment uint32) (sample.Counters, error)
	// Gaps is the number of gaps of an attachment: times its route was
	// removed or replaced under the capture.
	Gaps func(attachment uint32) uint64
	// BufferFill is the bytes waiting in the ring buffer and its size; ok
	// is false for the perf buffers, which do not tell.
	BufferFill func() (used, size uint64, ok bool)
	Snapshot   *Snapshot
	Version    string    // lwtdump's version
	Start      time.Time // when the capture started
	Run        string    // the run id, as in the files' section headers and the manifest
	Transport  string    // ringbuf or perf
	Manifest   bool      // finished files are recorded in a manifest
}

const namespace = "lwtdump"

// The descriptors, built once.
var (
	attachmentLabels = []string{"route", "hook"}

	descSeen      = desc("packets_seen_total", "Packets that reached the hook of the attachment.", attachmentLabels...)
	descWritten   = desc("packets_written_total", "Packets of the attachment written out.", attachmentLabels...)
	descDropped   = desc("packets_dropped_total", "Packets of the attachment lost before user space because the kernel buffer was full.", attachmentLabels...)
	descFiltered  = desc("packets_filtered_total", "Packets of the attachment that the filter expression rejected.", attachmentLabels...)
	descBytes     = desc("written_bytes_total", "Captured bytes of the attachment's packets written out (snaplen applied).", attachmentLabels...)
	descGaps      = desc("capture_gaps_total", "Times the attachment's route was removed or replaced by another process during the capture.", attachmentLabels...)
	descMalformed = desc("samples_malformed_total", "Samples skipped because they could not be decoded.")
	descFinished  = desc("files_finished_total", "Output files finished: rotated, or closed at the end.")
	descFile      = desc("current_file_info", "The output file being written, as a label.", "file")
	descFileSize  = desc("current_file_size_bytes", "Bytes written to the current output file so far.")
	descFileSeq   = desc("current_file_sequence", "Number of the current output file in the run, counting from 1.")
	descRingUsed  = desc("ring_buffer_used_bytes", "Bytes waiting in the BPF ring buffer for user space.")
	descRingSize  = desc("ring_buffer_size_bytes", "Size of the BPF ring buffer.")
	descManifest  = desc("manifest_enabled", "1 when every finished file is recorded in the manifest of its directory, 0 with --no-manifest or no files.")
	descRecords   = desc("manifest_records_total", "Finished files recorded in the manifest.")
	descFailures  = desc("manifest_record_failures_total", "Finished files the manifest failed to record (lwtdump verify will not know them).")
	descStart     = desc("start_time_seconds", "When the capture started, in seconds since the Unix epoch.")
	descRun       = desc("run_info", "The capture run, as in the files' section headers and the manifest.", "run", "transport")
	descBuild     = desc("build_info", "The lwtdump build.", "version", "goversion")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

// Collector is a prometheus.Collector of a capture.
type Collector struct{ c Capture }

// NewCollector returns the collector of c.
func NewCollector(c Capture) *Collector { return &Collector{c} }

// Describe sends every descriptor.
func (*Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSeen, descWritten, descDropped, descFiltered, descBytes, descGaps,
		descMalformed, descFinished, descFile, descFileSize, descFileSeq, descRingUsed, descRingSize,
		descManifest, descRecords, descFailures, descStart, descRun, descBuild} {
		ch <- d
	}
}

// Collect reads the values.
func (col *Collector) Collect(ch chan<- prometheus.Metric) {
	c := col.c
	n := c.Snapshot.Load()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for i, a := range c.Attachments {
		id := uint32(i)
		labels := []string{a.Route, a.Hook.String()}
		if k, err := c.Counters(id); err != nil {
			ch <- prometheus.NewInvalidMetric(descSeen, err)
		} else {
			counter(descSeen, k.Seen, labels...)
			counter(descDropped, k.Dropped, labels...)
			counter(descFiltered, k.Filtered, labels...)
		}
		counter(descWritten, at(n.Written, i), labels...)
		counter(descBytes, at(n.Bytes, i), labels...)
		var gaps uint64
		if c.Gaps != nil {
			gaps = c.Gaps(id)
		}
		counter(descGaps, gaps, labels...)
	}
	counter(descMalformed, n.Malformed)
	counter(descFinished, n.FilesFinished)
	if n.File != "" {
		gauge(descFile, 1, n.File)
		gauge(descFileSize, float64(n.FileSize))
		gauge(descFileSeq, float64(n.FileSeq))
	}
	if c.BufferFill != nil {
		if used, size, ok := c.BufferFill(); ok {
			gauge(descRingUsed, float64(used))
			gauge(descRingSize, float64(size))
		}
	}
	gauge(descManifest, bool01(c.Manifest))
	counter(descRecords, n.ManifestRecords)
	counter(descFailures, n.ManifestFailures)
	gauge(descStart, float64(c.Start.UnixMilli())/1e3)
	gauge(descRun, 1, c.Run, c.Transport)
	gauge(descBuild, 1, c.Version, runtime.Version())
}

func at(v []uint64, i int) uint64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Registry returns a registry with the capture's collector and, unless
// bare, the Go runtime's and the process's standard collectors.
func Registry(col *Collector, bare bool) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	if !bare {
		reg.MustRegister(collectorsFor()...)
	}
	return reg
}

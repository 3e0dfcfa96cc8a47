package bpf

import (
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
)

// perfEvents reads the perf event array, one buffer per CPU, with
// cilium/ebpf's perf.Reader, into one record it reuses.
type perfEvents struct {
	r   *perf.Reader
	rec perf.Record
}

// newPerf maps a buffer of opts.PerCPUBuffer bytes for each CPU of the
// perf event array events.
func newPerf(events *ebpf.Map, opts ReaderOptions) (*perfEvents, error) {
	r, err := perf.NewReaderWithOptions(events, opts.PerCPUBuffer, perf.ReaderOptions{Watermark: opts.Watermark})
	if err != nil {
		return nil, err
	}
	return &perfEvents{r: r}, nil
}

func (p *perfEvents) next() (raw []byte, lost uint64, cpu int, err error) {
	err = p.r.ReadInto(&p.rec)
	return p.rec.RawSample, p.rec.LostSamples, p.rec.CPU, err
}

func (p *perfEvents) setDeadline(t time.Time) { p.r.SetDeadline(t) }

func (p *perfEvents) close() error { return p.r.Close() }

// Command bench measures what capturing costs a router: it drives UDP traffic
// of small packets from h1 to h2 through r1 in the testbed, as fast as h1 can
// send them, once per configuration: no capture; a no-op LWT program at r1's
// route to h2 (the floor: what any program at the hook costs); tcpdump,
// netsniff-ng and dumpcap on r1's egress interface; and lwtdump at r1's route
// to h2 in several ways. It alternates the configurations within each round,
// over several rounds, and reports medians.
//
// The forwarded rate is r1's output as h2's interface counts it (the rx
// packets of h2_r1), beside the rate iperf3's receiver reports (which also
// loses what the receiving socket drops). Each configuration is compared with
// no capture, and with the better of tcpdump and netsniff-ng, within each
// round, and the medians of those ratios are reported with their range: a
// ratio taken within a round cancels much of what other load on the machine
// does to both of its terms.
//
// Run it as root through scripts/bench.sh (make bench).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

type config struct {
	rounds   int
	duration time.Duration
	length   int
	rate     string
	lwtdump  string
	baseline string
	outDir   string
	testbed  string
	lwtArgs  string
	filter   string
	only     string
	keep     bool
}

// The configurations, in the order a round runs them by default.
var defaultConfigs = []string{
	"none", "noop", "tcpdump", "netsniff-ng", "dumpcap",
	"lwtdump", "lwtdump-no-manifest", "lwtdump-perf", "lwtdump-filter", "lwtdump-reject",
}

// What each configuration is, for -h and the report.
var configHelp = map[string]string{
	"none":                "no capture",
	"noop":                "an LWT program that returns at once (iproute2, no copy)",
	"tcpdump":             "tcpdump -i r1_h2 -s 0 -w FILE",
	"netsniff-ng":         "netsniff-ng --in r1_h2 --out FILE -s (AF_PACKET, mmap ring)",
	"dumpcap":             "dumpcap -i r1_h2 -w FILE",
	"lwtdump":             "lwtdump -w FILE (ring buffer, SHA-256 manifest)",
	"lwtdump-no-manifest": "lwtdump --no-manifest",
	"lwtdump-perf":        "lwtdump --transport perf",
	"lwtdump-filter":      "lwtdump with a filter expression that keeps 1% of the datagrams",
	"lwtdump-reject":      "lwtdump with a filter expression that rejects every datagram (hook + filter, no copy)",
	"lwtdump-B512":        "lwtdump -B 512 (lwtdump-BN: -B N)",
}

// bufferConfig matches lwtdump-BN, lwtdump with -B N.
var bufferConfig = regexp.MustCompile(`^lwtdump-B([0-9]+)$`)

// baseSuffix after an lwtdump configuration runs it with the -baseline binary.
const baseSuffix = "@base"

// result is one run of one configuration.
type result struct {
	Config string `json:"config"`
	Round  int    `json:"round"`
	// Load is the 1-minute load average when the run started.
	Load     float64 `json:"load_average"`
	Sent     uint64  `json:"packets_sent"`
	Received uint64  `json:"packets_received"` // by iperf3
	// Forwarded is r1's output in packets: the rx packets of h2's
	// interface over the run.
	Forwarded    uint64  `json:"packets_forwarded"`
	Seconds      float64 `json:"seconds"` // the sender's
	ForwardedPPS float64 `json:"forwarded_pps"`
	ReceivedPPS  float64 `json:"received_pps"`
	InFile       uint64  `json:"packets_in_file"`
	Seen         uint64  `json:"packets_seen_by_tool"`
	Dropped      uint64  `json:"packets_dropped"`
	CPUSeconds   float64 `json:"tool_cpu_seconds"`
	UserCPU      float64 `json:"tool_user_cpu_seconds"`
	PeakRSSKiB   int64   `json:"tool_peak_rss_kib"`
}

func main() {
	var c config
	flag.IntVar(&c.rounds, "rounds", 7, "rounds of the configurations")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "traffic time per run")
	flag.IntVar(&c.length, "length", 64, "UDP payload bytes")
	flag.StringVar(&c.rate, "rate", "0", "iperf3 -b rate (0: as fast as possible)")
	flag.StringVar(&c.lwtdump, "lwtdump", "./lwtdump", "lwtdump binary")
	flag.StringVar(&c.baseline, "baseline", "", "a second lwtdump binary, run by the configurations named lwtdump...@base (such as lwtdump@base), to compare two builds in the same rounds")
	flag.StringVar(&c.outDir, "out", "bench-results", "directory for captures and results")
	flag.StringVar(&c.testbed, "testbed", "scripts/testbed.sh", "testbed script")
	flag.StringVar(&c.lwtArgs, "lwtdump-args", "", "extra lwtdump arguments, space separated")
	// iperf3 puts a 32-bit datagram counter after two 32-bit time fields at
	// the start of its UDP payload: ip6[40+8+8:4] over IPv6.
	flag.StringVar(&c.filter, "filter", "ip6[56:4] % 100 = 0", "filter expression of the lwtdump-filter configuration (default: 1% of iperf3's datagrams)")
	names := append(slices.Clone(defaultConfigs), "lwtdump-B512")
	flag.StringVar(&c.only, "only", "", "run only these configurations, comma separated, in this order (default "+strings.Join(defaultConfigs, ",")+"; also lwtdump-BN for -B N, and any lwtdump one with "+baseSuffix+")")
	flag.BoolVar(&c.keep, "keep", false, "keep the capture files (by default each is removed once counted)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: scripts/bench.sh [options]\n\nConfigurations:\n")
		for _, n := range names {
			fmt.Fprintf(flag.CommandLine.Output(), "  %-20s %s\n", n, configHelp[n])
		}
		fmt.Fprintf(flag.CommandLine.Output(), "\nOptions:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root for network namespaces and eBPF")
	}
	configs := defaultConfigs
	if c.only != "" {
		configs = strings.Split(c.only, ",")
	}
	if err := checkConfigs(c, configs); err != nil {
		return err
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	var noop string
	if slices.Contains(configs, "noop") {
		var err error
		if noop, err = buildNoop(c.outDir); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("lwtbench%d", os.Getpid())
	if out, err := exec.Command(c.testbed, "up", name).CombinedOutput(); err != nil {
		return fmt.Errorf("testbed: %v\n%s", err, out)
	}
	defer exec.Command(c.testbed, "down", name).Run()
	tb := testbed{h1: name + "-h1", r1: name + "-r1", h2: name + "-h2", noop: noop}

	var results []result
	for round := 1; round <= c.rounds; round++ {
		// Each round starts one configuration further on, so that no
		// configuration always follows the same one.
		for i := range configs {
			cfg := configs[(i+round-1)%len(configs)]
			r, err := runOne(c, tb, cfg, round)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, cfg, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-22s %8.0f pps forwarded, %8.0f received, %d in file, %d dropped, %.2f s CPU, %d MiB RSS, load %.1f\n",
				round, cfg, r.ForwardedPPS, r.ReceivedPPS, r.InFile, r.Dropped, r.CPUSeconds, r.PeakRSSKiB>>10, r.Load)
			results = append(results, r)
		}
	}
	return report(c, configs, results)
}

// checkConfigs refuses unknown configurations and missing tools before
// anything starts.
func checkConfigs(c config, configs []string) error {
	tools := []string{"iperf3", "ip", "taskset"}
	for _, cfg := range configs {
		base, isBase := strings.CutSuffix(cfg, baseSuffix)
		if _, ok := configHelp[base]; (!ok && !bufferConfig.MatchString(base)) || (isBase && !strings.HasPrefix(base, "lwtdump")) {
			return fmt.Errorf("unknown configuration %q (scripts/bench.sh -h lists them)", cfg)
		}
		if isBase && c.baseline == "" {
			return fmt.Errorf("configuration %s: give the baseline binary with -baseline", cfg)
		}
		switch base {
		case "noop":
			tools = append(tools, "clang")
		case "tcpdump", "netsniff-ng", "dumpcap":
			tools = append(tools, base)
		}
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make deps installs it)", tool)
		}
	}
	return nil
}

// buildNoop compiles noop.c, next to this file, into dir.
func buildNoop(dir string) (string, error) {
	obj := filepath.Join(dir, "noop.o")
	out, err := exec.Command("clang", "-O2", "-target", "bpf", "-c", "scripts/bench/noop.c", "-o", obj).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the no-op program: %v\n%s", err, out)
	}
	return obj, nil
}

type testbed struct{ h1, r1, h2, noop string }

// The testbed's route to h2's network, as testbed.sh makes it.
var route = []string{"2001:db8:20::/48", "via", "2001:db8:2::1", "dev", "r1_h2"}

// syncBuffer collects a tool's output while the benchmark reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runOne runs the traffic once with the given capture configuration.
func runOne(c config, tb testbed, cfg string, round int) (r result, err error) {
	r = result{Config: cfg, Round: round, Load: loadAverage()}
	base, isBase := strings.CutSuffix(cfg, baseSuffix)
	file := filepath.Join(c.outDir, fmt.Sprintf("%s-%d.pcap", strings.ReplaceAll(cfg, "@", "-"), round))
	os.Remove(file)
	os.Remove(file + "ng")

	var cmd *exec.Cmd
	var ready func() bool
	var output syncBuffer // the tool's stdout and stderr
	switch base {
	case "none":
	case "noop":
		args := append([]string{"-n", tb.r1, "route", "replace"}, route...)
		args = append(args, "encap", "bpf", "xmit", "obj", tb.noop, "section", "lwt_xmit")
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return r, fmt.Errorf("attach the no-op program: %v\n%s", err, out)
		}
		defer func() {
			out, derr := exec.Command("ip", append([]string{"-n", tb.r1, "route", "replace"}, route...)...).CombinedOutput()
			if derr != nil && err == nil {
				err = fmt.Errorf("detach the no-op program: %v\n%s", derr, out)
			}
		}()
	case "tcpdump":
		cmd = exec.Command("ip", "netns", "exec", tb.r1, "tcpdump", "-i", "r1_h2", "-s", "0", "-n", "-w", file)
		ready = func() bool { return strings.Contains(output.String(), "listening on") }
	case "netsniff-ng":
		cmd = exec.Command("ip", "netns", "exec", tb.r1, "netsniff-ng", "--in", "r1_h2", "--out", file, "-s")
		ready = func() bool { return strings.Contains(output.String(), "Running!") }
	case "dumpcap":
		file += "ng"
		cmd = exec.Command("ip", "netns", "exec", tb.r1, "dumpcap", "-i", "r1_h2", "-w", file)
		ready = func() bool { return strings.Contains(output.String(), "Capturing on") }
	default: // lwtdump...
		file += "ng"
		readyFile := filepath.Join(c.outDir, "ready")
		os.Remove(readyFile)
		args := []string{"-i", "2001:db8:20::/48", "--hook", "xmit", "--netns", tb.r1, "-w", file, "-v", "--ready-file", readyFile}
		args = append(args, strings.Fields(c.lwtArgs)...)
		switch base {
		case "lwtdump-perf":
			args = append(args, "--transport", "perf")
		case "lwtdump-no-manifest":
			args = append(args, "--no-manifest")
		case "lwtdump-filter":
			args = append(args, c.filter) // the expression goes last
		case "lwtdump-reject":
			args = append(args, "ip6[56:4] % 100 = 100") // as costly as the 1% filter, never true
		}
		if m := bufferConfig.FindStringSubmatch(base); m != nil {
			args = append(args, "-B", m[1])
		}
		bin := c.lwtdump
		if isBase {
			bin = c.baseline
		}
		cmd = exec.Command(bin, args...)
		ready = func() bool { _, err := os.Stat(readyFile); return err == nil }
	}
	var tool *started
	if cmd != nil {
		cmd.Stdout, cmd.Stderr = &output, &output
		if tool, err = start(cmd); err != nil {
			return r, err
		}
		if err := tool.waitReady(cfg, ready, &output); err != nil {
			tool.stop(os.Kill)
			return r, err
		}
	}
	// Each run starts with no dirty pages of the runs before it, whose
	// write-back would otherwise land in this run's measurement.
	syscall.Sync()

	// The receiver and the sender (whose CPU also runs the forwarding, in
	// softirq) are pinned to CPUs of their own, so that runs place them
	// alike and differ only by the capture tool, which the scheduler places.
	server := exec.Command("ip", "netns", "exec", tb.h2, "taskset", "-c", "0", "iperf3", "-s", "-1", "-J", "-B", "2001:db8:20::1")
	var serverOut strings.Builder
	server.Stdout = &serverOut
	if err := server.Start(); err != nil {
		return r, err
	}
	time.Sleep(300 * time.Millisecond)
	rx0, err := rxPackets(tb.h2, "h2_r1")
	if err != nil {
		server.Process.Kill()
		server.Wait()
		return r, err
	}
	client := exec.Command("ip", "netns", "exec", tb.h1, "taskset", "-c", "1", "iperf3", "-c", "2001:db8:20::1", "-u", "-b", c.rate,
		"-l", strconv.Itoa(c.length), "-t", strconv.Itoa(int(c.duration.Seconds())), "-J")
	clientOut, err := client.Output()
	if err != nil {
		server.Process.Kill()
		server.Wait()
		if tool != nil {
			tool.stop(os.Interrupt)
		}
		return r, fmt.Errorf("iperf3 client: %v\n%s", err, clientOut)
	}
	rx1, err := rxPackets(tb.h2, "h2_r1")
	server.Wait()
	if err != nil {
		return r, err
	}
	r.Forwarded = rx1 - rx0

	if tool != nil {
		time.Sleep(200 * time.Millisecond)
		tool.stop(os.Interrupt)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		r.UserCPU = tv(ru.Utime)
		r.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
		r.PeakRSSKiB = ru.Maxrss
		r.Seen, r.Dropped = toolStats(base, output.String())
		n, err := countPackets(file)
		if err != nil {
			return r, fmt.Errorf("count packets in %s: %w\n%s", file, err, output.String())
		}
		r.InFile = n
		if !c.keep {
			os.Remove(file)
		}
	}

	var cj, sj iperfJSON
	if err := json.Unmarshal(clientOut, &cj); err != nil {
		return r, fmt.Errorf("iperf3 client output: %w", err)
	}
	if err := json.Unmarshal([]byte(serverOut.String()), &sj); err != nil {
		return r, fmt.Errorf("iperf3 server output: %w", err)
	}
	r.Sent = cj.End.Sum.Packets
	r.Seconds = cj.End.Sum.Seconds
	r.Received = sj.End.Sum.Packets - sj.End.Sum.LostPackets
	if r.Seconds > 0 {
		r.ForwardedPPS = float64(r.Forwarded) / r.Seconds
	}
	if sj.End.Sum.Seconds > 0 {
		r.ReceivedPPS = float64(r.Received) / sj.End.Sum.Seconds
	}
	return r, nil
}

// started is a tool that runs, and a channel closed once it has exited
// (and been waited for).
type started struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func start(cmd *exec.Cmd) (*started, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &started{cmd, make(chan struct{})}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// stop signals the tool and waits for it to exit.
func (s *started) stop(sig os.Signal) {
	s.cmd.Process.Signal(sig)
	<-s.exited
}

// waitReady waits until ready says the tool is capturing.
func (s *started) waitReady(cfg string, ready func() bool, output *syncBuffer) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ready() {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited: %s", cfg, output.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not start: %s", cfg, output.String())
}

// rxPackets is the rx packet counter of dev in netns.
func rxPackets(netns, dev string) (uint64, error) {
	out, err := exec.Command("ip", "-n", netns, "-s", "-j", "link", "show", dev).Output()
	if err != nil {
		return 0, fmt.Errorf("read the counters of %s: %w", dev, err)
	}
	var links []struct {
		Stats64 struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("read the counters of %s: %v: %s", dev, err, out)
	}
	return links[0].Stats64.RX.Packets, nil
}

// loadAverage is the 1-minute load average.
func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}

type iperfJSON struct {
	End struct {
		Sum struct {
			Packets     uint64  `json:"packets"`
			LostPackets uint64  `json:"lost_packets"`
			Seconds     float64 `json:"seconds"`
		} `json:"sum"`
	} `json:"end"`
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// What each tool says at its end about the packets it saw and dropped.
var (
	lwtSummary = regexp.MustCompile(`(\d+) packets captured, (\d+) dropped`)
	lwtSeen    = regexp.MustCompile(`: (\d+) seen, `)
	tcpdDrop   = regexp.MustCompile(`(\d+) packets dropped by kernel`)
	tcpdRecv   = regexp.MustCompile(`(\d+) packets received by filter`)
	nsIncoming = regexp.MustCompile(`(\d+)\s+packets incoming`)
	nsDrop     = regexp.MustCompile(`(\d+)\s+packets failed filter \(out of space\)`)
	dcRecv     = regexp.MustCompile(`Packets received/dropped on interface '[^']*': (\d+)/(\d+)`)
)

// toolStats reads the tool's own counts of packets seen and dropped.
func toolStats(base, output string) (seen, dropped uint64) {
	sum := func(re *regexp.Regexp, group int) uint64 {
		var total uint64
		for _, m := range re.FindAllStringSubmatch(output, -1) {
			n, _ := strconv.ParseUint(m[group], 10, 64)
			total += n
		}
		return total
	}
	switch {
	case strings.HasPrefix(base, "lwtdump"):
		return sum(lwtSeen, 1), sum(lwtSummary, 2)
	case base == "tcpdump":
		return sum(tcpdRecv, 1), sum(tcpdDrop, 1)
	case base == "netsniff-ng":
		return sum(nsIncoming, 1), sum(nsDrop, 1)
	case base == "dumpcap":
		return sum(dcRecv, 1), sum(dcRecv, 2)
	}
	return 0, 0
}

// countPackets counts the packets of a pcap or pcapng file, streaming.
func countPackets(file string) (uint64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var read func() error
	if strings.HasSuffix(file, "ng") {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return 0, err
		}
		read = func() error { _, _, err := r.ZeroCopyReadPacketData(); return err }
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return 0, err
		}
		read = func() error { _, _, err := r.ZeroCopyReadPacketData(); return err }
	}
	var n uint64
	for {
		err := read()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, nil // a tool cut short may leave half a record at the end
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// stat is the median of a measure over the rounds, and its range.
type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func (s stat) valid() bool { return s.Max > 0 }

// summary is one configuration over all rounds.
type summary struct {
	Config        string  `json:"config"`
	Rounds        int     `json:"rounds"`
	ForwardedPPS  stat    `json:"forwarded_pps"`
	ReceivedPPS   stat    `json:"received_pps"`
	VsNone        stat    `json:"forwarded_vs_no_capture"`
	VsBestTool    stat    `json:"forwarded_vs_best_of_tcpdump_netsniff"`
	Forwarded     float64 `json:"packets_forwarded"`
	InFile        float64 `json:"packets_in_file"`
	Seen          float64 `json:"packets_seen_by_tool"`
	Dropped       float64 `json:"packets_dropped"`
	CPUSeconds    float64 `json:"tool_cpu_seconds"`
	UserCPUPerPkt float64 `json:"tool_user_cpu_ns_per_packet"`
	PeakRSSMiB    float64 `json:"tool_peak_rss_mib"`
	Load          float64 `json:"load_average"`
}

func statOf(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	v = slices.Sorted(slices.Values(v))
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stat{Median: m, Min: v[0], Max: v[len(v)-1]}
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return statOf(v).Median
}

// summarize computes each configuration's medians, and its ratios to no
// capture and to the better of tcpdump and netsniff-ng taken within each
// round.
func summarize(configs []string, results []result) []summary {
	byRound := map[int]map[string]result{}
	for _, r := range results {
		if byRound[r.Round] == nil {
			byRound[r.Round] = map[string]result{}
		}
		byRound[r.Round][r.Config] = r
	}
	var sums []summary
	for _, cfg := range configs {
		var rs []result
		var fwd, rcv, vsNone, vsBest []float64
		for _, r := range results {
			if r.Config != cfg {
				continue
			}
			rs = append(rs, r)
			fwd = append(fwd, r.ForwardedPPS)
			rcv = append(rcv, r.ReceivedPPS)
			round := byRound[r.Round]
			if none, ok := round["none"]; ok && none.ForwardedPPS > 0 {
				vsNone = append(vsNone, r.ForwardedPPS/none.ForwardedPPS)
			}
			best := max(round["tcpdump"].ForwardedPPS, round["netsniff-ng"].ForwardedPPS)
			if best > 0 {
				vsBest = append(vsBest, r.ForwardedPPS/best)
			}
		}
		sums = append(sums, summary{
			Config:       cfg,
			Rounds:       len(rs),
			ForwardedPPS: statOf(fwd),
			ReceivedPPS:  statOf(rcv),
			VsNone:       statOf(vsNone),
			VsBestTool:   statOf(vsBest),
			Forwarded:    median(rs, func(r result) float64 { return float64(r.Forwarded) }),
			InFile:       median(rs, func(r result) float64 { return float64(r.InFile) }),
			Seen:         median(rs, func(r result) float64 { return float64(r.Seen) }),
			Dropped:      median(rs, func(r result) float64 { return float64(r.Dropped) }),
			CPUSeconds:   median(rs, func(r result) float64 { return r.CPUSeconds }),
			PeakRSSMiB:   median(rs, func(r result) float64 { return float64(r.PeakRSSKiB) / 1024 }),
			Load:         median(rs, func(r result) float64 { return r.Load }),
			UserCPUPerPkt: median(rs, func(r result) float64 {
				if r.InFile == 0 {
					return 0
				}
				return r.UserCPU * 1e9 / float64(r.InFile)
			}),
		})
	}
	return sums
}

func report(c config, configs []string, results []result) error {
	sums := summarize(configs, results)
	ratio := func(s stat) string {
		if !s.valid() {
			return ""
		}
		return fmt.Sprintf("%.3f (%.2f-%.2f)", s.Median, s.Min, s.Max)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tforwarded pps\treceived pps\tvs no capture (range)\tvs best of tcpdump, netsniff-ng (range)\tforwarded\tin file\tseen by tool\tdropped\tCPU s\tuser ns/pkt\tpeak RSS MiB\tload\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.0f\t%.1f\t%.1f\t\n", s.Config, s.ForwardedPPS.Median, s.ReceivedPPS.Median,
			ratio(s.VsNone), ratio(s.VsBestTool), s.Forwarded, s.InFile, s.Seen, s.Dropped, s.CPUSeconds, s.UserCPUPerPkt, s.PeakRSSMiB, s.Load)
	}
	tw.Flush()
	out := struct {
		Date      string    `json:"date"`
		Rounds    int       `json:"rounds"`
		Duration  string    `json:"duration"`
		Payload   int       `json:"udp_payload_bytes"`
		Rate      string    `json:"offered_rate"`
		Filter    string    `json:"lwtdump_filter"`
		Summaries []summary `json:"summaries"`
		Runs      []result  `json:"runs"`
	}{time.Now().UTC().Format(time.RFC3339), c.rounds, c.duration.String(), c.length, c.rate, c.filter, sums, results}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(c.outDir, "bench.json")
	fmt.Printf("results: %s\n", path)
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

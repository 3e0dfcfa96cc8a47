// Command bench measures what capturing costs a router: it drives UDP traffic
// of small packets from h1 to h2 through r1 in the testbed, with no capture,
// with tcpdump on r1's egress interface, with lwtdump at r1's route to h2, and
// with lwtdump and a filter expression that selects 1% of the datagrams,
// alternating the configurations over several rounds, and reports the
// medians.
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
	outDir   string
	testbed  string
	lwtArgs  string
	filter   string
	only     string
	keep     bool
}

// result is one run of one configuration.
type result struct {
	Config     string  `json:"config"`
	Round      int     `json:"round"`
	Sent       uint64  `json:"packets_sent"`
	Received   uint64  `json:"packets_received"`
	PPS        float64 `json:"forwarded_pps"`
	InFile     uint64  `json:"packets_in_file"`
	Seen       uint64  `json:"packets_seen_by_hook"`
	Dropped    uint64  `json:"packets_dropped"`
	CPUSeconds float64 `json:"tool_cpu_seconds"`
	UserCPU    float64 `json:"tool_user_cpu_seconds"`
	PeakRSSKiB int64   `json:"tool_peak_rss_kib"`
}

func main() {
	var c config
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of the configurations")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "traffic time per run")
	flag.IntVar(&c.length, "length", 64, "UDP payload bytes")
	flag.StringVar(&c.rate, "rate", "0", "iperf3 -b rate (0: as fast as possible)")
	flag.StringVar(&c.lwtdump, "lwtdump", "./lwtdump", "lwtdump binary")
	flag.StringVar(&c.outDir, "out", "bench-results", "directory for captures and results")
	flag.StringVar(&c.testbed, "testbed", "scripts/testbed.sh", "testbed script")
	flag.StringVar(&c.lwtArgs, "lwtdump-args", "", "extra lwtdump arguments, space separated")
	// iperf3 puts a 32-bit datagram counter after two 32-bit time fields at
	// the start of its UDP payload: ip6[40+8+8:4] over IPv6.
	flag.StringVar(&c.filter, "filter", "ip6[56:4] % 100 = 0", "filter expression of the lwtdump-filter configuration (default: 1% of iperf3's datagrams)")
	flag.StringVar(&c.only, "only", "", "run only these configurations, comma separated (none,tcpdump,lwtdump,lwtdump-no-manifest,lwtdump-perf,lwtdump-filter)")
	flag.BoolVar(&c.keep, "keep", false, "keep the capture files (by default each is removed once counted)")
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
	for _, tool := range []string{"iperf3", "tcpdump", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make deps installs it)", tool)
		}
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("lwtbench%d", os.Getpid())
	if out, err := exec.Command(c.testbed, "up", name).CombinedOutput(); err != nil {
		return fmt.Errorf("testbed: %v\n%s", err, out)
	}
	defer exec.Command(c.testbed, "down", name).Run()
	tb := testbed{h1: name + "-h1", r1: name + "-r1", h2: name + "-h2"}

	configs := []string{"none", "tcpdump", "lwtdump", "lwtdump-no-manifest", "lwtdump-perf", "lwtdump-filter"}
	if c.only != "" {
		configs = strings.Split(c.only, ",")
	}
	var results []result
	for round := 1; round <= c.rounds; round++ {
		for _, cfg := range configs {
			r, err := runOne(c, tb, cfg, round)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, cfg, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s %9.0f pps forwarded, %d sent, %d in file, %d dropped, %.2f s CPU, %d MiB RSS\n",
				round, cfg, r.PPS, r.Sent, r.InFile, r.Dropped, r.CPUSeconds, r.PeakRSSKiB>>10)
			results = append(results, r)
		}
	}
	return report(c, configs, results)
}

type testbed struct{ h1, r1, h2 string }

// runOne runs the traffic once with the given capture configuration.
func runOne(c config, tb testbed, cfg string, round int) (result, error) {
	r := result{Config: cfg, Round: round}
	file := filepath.Join(c.outDir, fmt.Sprintf("%s-%d.pcap", cfg, round))
	os.Remove(file)
	os.Remove(file + "ng")
	// Each run starts with no dirty pages of the runs before it, whose
	// write-back would otherwise land in this run's measurement.
	syscall.Sync()

	var tool *exec.Cmd
	var stderr strings.Builder
	switch cfg {
	case "none":
	case "tcpdump":
		tool = exec.Command("ip", "netns", "exec", tb.r1, "tcpdump", "-i", "r1_h2", "-s", "0", "-n", "-w", file)
	case "lwtdump", "lwtdump-no-manifest", "lwtdump-perf", "lwtdump-filter":
		file += "ng"
		ready := filepath.Join(c.outDir, "ready")
		os.Remove(ready)
		args := []string{"-i", "2001:db8:20::/48", "--hook", "xmit", "--netns", tb.r1, "-w", file, "-v", "--ready-file", ready}
		if c.lwtArgs != "" {
			args = append(args, strings.Fields(c.lwtArgs)...)
		}
		switch cfg {
		case "lwtdump-perf":
			args = append(args, "--transport", "perf")
		case "lwtdump-no-manifest":
			args = append(args, "--no-manifest")
		}
		if cfg == "lwtdump-filter" {
			args = append(args, c.filter) // the expression goes last
		}
		tool = exec.Command(c.lwtdump, args...)
	default:
		return r, fmt.Errorf("unknown configuration %q", cfg)
	}
	if tool != nil {
		tool.Stderr = &stderr
		if err := tool.Start(); err != nil {
			return r, err
		}
		if err := waitReady(c, cfg, tool, &stderr); err != nil {
			tool.Process.Kill()
			tool.Wait()
			return r, err
		}
	}

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
	client := exec.Command("ip", "netns", "exec", tb.h1, "taskset", "-c", "1", "iperf3", "-c", "2001:db8:20::1", "-u", "-b", c.rate,
		"-l", strconv.Itoa(c.length), "-t", strconv.Itoa(int(c.duration.Seconds())), "-J")
	clientOut, err := client.Output()
	if err != nil {
		server.Process.Kill()
		server.Wait()
		if tool != nil {
			tool.Process.Signal(syscall.SIGINT)
			tool.Wait()
		}
		return r, fmt.Errorf("iperf3 client: %v\n%s", err, clientOut)
	}
	server.Wait()

	if tool != nil {
		time.Sleep(200 * time.Millisecond)
		tool.Process.Signal(syscall.SIGINT)
		tool.Wait()
		ru := tool.ProcessState.SysUsage().(*syscall.Rusage)
		r.UserCPU = tv(ru.Utime)
		r.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
		r.PeakRSSKiB = ru.Maxrss
		r.Dropped, r.Seen = parseToolStats(cfg, stderr.String())
		n, err := countPackets(file)
		if err != nil {
			return r, fmt.Errorf("count packets in %s: %w\n%s", file, err, stderr.String())
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
	r.Received = sj.End.Sum.Packets - sj.End.Sum.LostPackets
	r.PPS = float64(r.Received) / sj.End.Sum.Seconds
	return r, nil
}

func waitReady(c config, cfg string, tool *exec.Cmd, stderr *strings.Builder) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.HasPrefix(cfg, "lwtdump") {
			if _, err := os.Stat(filepath.Join(c.outDir, "ready")); err == nil {
				return nil
			}
		} else if strings.Contains(stderr.String(), "listening on") {
			return nil
		}
		if tool.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not start: %s", cfg, stderr.String())
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

var (
	lwtSummary = regexp.MustCompile(`(\d+) packets captured, (\d+) dropped`)
	lwtSeen    = regexp.MustCompile(`: (\d+) seen, `)
	tcpdDrop   = regexp.MustCompile(`(\d+) packets dropped by kernel`)
	tcpdRecv   = regexp.MustCompile(`(\d+) packets received by filter`)
)

// parseToolStats reads the tool's own drop and seen counts from its stderr.
func parseToolStats(cfg, stderr string) (dropped, seen uint64) {
	atoi := func(re *regexp.Regexp) uint64 {
		var total uint64
		for _, m := range re.FindAllStringSubmatch(stderr, -1) {
			n, _ := strconv.ParseUint(m[len(m)-1], 10, 64)
			total += n
		}
		return total
	}
	if strings.HasPrefix(cfg, "lwtdump") {
		return atoi(lwtSummary), atoi(lwtSeen)
	}
	return atoi(tcpdDrop), atoi(tcpdRecv)
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
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// summary is the medians of one configuration.
type summary struct {
	Config        string  `json:"config"`
	PPS           float64 `json:"forwarded_pps"`
	Sent          float64 `json:"packets_sent"`
	InFile        float64 `json:"packets_in_file"`
	Seen          float64 `json:"packets_seen_by_hook"`
	Dropped       float64 `json:"packets_dropped"`
	CPUSeconds    float64 `json:"tool_cpu_seconds"`
	UserCPUPerPkt float64 `json:"tool_user_cpu_ns_per_packet"`
	PeakRSSMiB    float64 `json:"tool_peak_rss_mib"`
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func report(c config, configs []string, results []result) error {
	var sums []summary
	byName := map[string]summary{}
	for _, cfg := range configs {
		var rs []result
		for _, r := range results {
			if r.Config == cfg {
				rs = append(rs, r)
			}
		}
		s := summary{
			Config:     cfg,
			PPS:        median(rs, func(r result) float64 { return r.PPS }),
			Sent:       median(rs, func(r result) float64 { return float64(r.Sent) }),
			InFile:     median(rs, func(r result) float64 { return float64(r.InFile) }),
			Seen:       median(rs, func(r result) float64 { return float64(r.Seen) }),
			Dropped:    median(rs, func(r result) float64 { return float64(r.Dropped) }),
			CPUSeconds: median(rs, func(r result) float64 { return r.CPUSeconds }),
			PeakRSSMiB: median(rs, func(r result) float64 { return float64(r.PeakRSSKiB) / 1024 }),
			UserCPUPerPkt: median(rs, func(r result) float64 {
				if r.InFile == 0 {
					return 0
				}
				return r.UserCPU * 1e9 / float64(r.InFile)
			}),
		}
		sums = append(sums, s)
		byName[cfg] = s
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tforwarded pps\tsent\tin file\tseen by hook\tdropped\tCPU s\tuser ns/pkt\tpeak RSS MiB\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.0f\t%.1f\t\n", s.Config, s.PPS, s.Sent, s.InFile, s.Seen, s.Dropped, s.CPUSeconds, s.UserCPUPerPkt, s.PeakRSSMiB)
	}
	tw.Flush()
	// Each configuration against no capture, and each lwtdump one against tcpdump.
	ratios := map[string]float64{}
	var order []string
	ratio := func(a, b string) {
		x, okx := byName[a]
		y, oky := byName[b]
		if okx && oky && y.PPS > 0 {
			k := a + "/" + strings.Replace(b, "none", "no-capture", 1)
			ratios[k] = x.PPS / y.PPS
			order = append(order, k)
		}
	}
	for _, cfg := range configs {
		if cfg != "none" {
			ratio(cfg, "none")
		}
		if strings.HasPrefix(cfg, "lwtdump") {
			ratio(cfg, "tcpdump")
		}
	}
	for _, k := range order {
		fmt.Printf("%s: %.2f\n", k, ratios[k])
	}
	out := struct {
		Date      string             `json:"date"`
		Rounds    int                `json:"rounds"`
		Duration  string             `json:"duration"`
		Payload   int                `json:"udp_payload_bytes"`
		Rate      string             `json:"offered_rate"`
		Filter    string             `json:"lwtdump_filter"`
		Summaries []summary          `json:"medians"`
		Ratios    map[string]float64 `json:"ratios"`
		Runs      []result           `json:"runs"`
	}{time.Now().UTC().Format(time.RFC3339), c.rounds, c.duration.String(), c.length, c.rate, c.filter, sums, ratios, results}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(c.outDir, "bench.json")
	fmt.Printf("results: %s\n", path)
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

package main

import (
	"github.com/lwtdump/lwtdump/bpf"
	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/urfave/cli/v2"
)

// flagUse says which command lines a capture flag belongs to.
type flagUse int

const (
	forCapture flagUse = iota // a capture only: -r refuses it
	forFiles                  // a capture with -w FILE only (rotation, manifest): -r refuses it too
	forReadToo                // a capture, and -r, which selects or prints packets with it
)

// captureFlag is a capture flag and the command lines it belongs to.
type captureFlag struct {
	flag cli.Flag
	use  flagUse
}

// captureFlagList is every capture flag, in the order --help lists them.
func captureFlagList() []captureFlag {
	return []captureFlag{
		{&cli.StringSliceFlag{Name: "interface", Aliases: []string{"i"}, Usage: "capture the `ROUTE` PREFIX[@DEV][,cookie=N]; repeat for several routes"}, forCapture},
		{&cli.StringFlag{Name: "hook", Value: "xmit", Usage: "hooks to capture at, comma separated: in, out, xmit"}, forReadToo},
		{&cli.StringSliceFlag{Name: "srv6-sid", Usage: "capture at the SRv6 local `SID` (a seg6local End route), which becomes End.BPF; repeat for several"}, forCapture},
		{&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "write pcapng to `FILE` (- for stdout) instead of printing packets"}, forReadToo},
		{&cli.Uint64Flag{Name: "count", Aliases: []string{"c"}, Usage: "exit after `COUNT` packets"}, forReadToo},
		{&cli.IntFlag{Name: "snaplen", Aliases: []string{"s"}, Value: bpf.MaxSnaplen, Usage: "copy at most `SNAPLEN` bytes of each packet (1 to 262144; 0 is 262144, the whole packet, as in tcpdump; --transport perf copies at most 65279)"}, forCapture},
		{&cli.StringFlag{Name: "cookie", Usage: "cookie `N` of every attachment (default: the attachment number)"}, forReadToo},
		{&cli.StringFlag{Name: "netns", Usage: "capture in the network namespace `NAME`"}, forCapture},
		{&cli.UintFlag{Name: "table", Value: bpf.MainTable, Usage: "routing `TABLE` of the routes"}, forCapture},
		{&cli.IntFlag{Name: "buffer-size", Aliases: []string{"B"}, Value: bpf.DefaultPerCPUBuffer >> 10, Usage: "kernel buffer of each CPU, in `KiB` (the ring buffer gets this times the number of CPUs, rounded up to a power of two)"}, forCapture},
		{&cli.StringFlag{Name: "transport", Value: "ringbuf", Usage: "how samples reach user space: ringbuf (one buffer shared by all CPUs, samples in time order) or perf (a buffer per CPU)"}, forCapture},
		{&cli.StringFlag{Name: "relinquish-privileges", Aliases: []string{"Z"}, Usage: "once attached and the first file is open, become `USER`, keeping only CAP_NET_ADMIN to restore the routes"}, forCapture},
		{&cli.BoolFlag{Name: "packet-buffered", Aliases: []string{"U"}, Usage: "write each packet out as soon as it is captured"}, forReadToo},
		{&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each packet's metadata"}, forReadToo},
		{&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "say nothing on stderr but errors and the summary"}, forReadToo},
		{&cli.StringFlag{Name: "ready-file", Usage: "create `FILE` once every route is attached and the output is open"}, forCapture},
		{&cli.StringFlag{Name: "state-dir", Value: route.DefaultStateDir, Usage: "keep what is needed to restore routes after a crash in `DIR`"}, forCapture},
		{&cli.StringFlag{Name: "file-size", Aliases: []string{"C"}, Usage: "with -w FILE: start a new file once the current one exceeds `MB` million bytes (or NNk, NNm, NNg: KiB, MiB, GiB); files FILE, FILE1, FILE2..."}, forFiles},
		{&cli.IntFlag{Name: "rotate-seconds", Aliases: []string{"G"}, Usage: "with -w FILE: start a new file every `SECONDS`; FILE may hold strftime conversions such as %Y%m%d-%H%M%S"}, forFiles},
		{&cli.IntFlag{Name: "file-count", Aliases: []string{"W"}, Usage: "with -C: keep a ring of `N` files, overwriting the oldest; with -G: stop after N files"}, forFiles},
		{&cli.StringFlag{Name: "postrotate-command", Aliases: []string{"z"}, Usage: "run `CMD` FILE on every finished file, without a shell and without waiting"}, forFiles},
		{&cli.StringFlag{Name: "file-mode", Usage: "permissions of the files written, in octal (`MODE`, default 0600)"}, forFiles},
		{&cli.BoolFlag{Name: "one-interface", Usage: "with -w: write every packet on one raw-IP interface, its route and hook in its comment, so that tcpdump reads a capture of IPv4 and IPv6 routes together"}, forCapture},
		{&cli.BoolFlag{Name: "no-manifest", Usage: "with -w FILE: record no manifest line for the files (and spend no time hashing them)"}, forFiles},
		{&cli.StringFlag{Name: "filter-file", Aliases: []string{"F"}, Usage: "read the filter expression from `FILE` (# starts a comment)"}, forReadToo},
		{&cli.BoolFlag{Name: "d", Usage: "print the filter expression compiled to classic BPF as tcpdump -d -y RAW does, and exit (-dd: as a C array, -ddd: as decimal numbers); no route is touched, no privilege needed"}, forReadToo},
		{&cli.BoolFlag{Name: "dump-ebpf", Usage: "print the eBPF function the kernel runs for the filter expression, as spliced into the capture program, and exit; no privilege needed"}, forReadToo},
		{&cli.BoolFlag{Name: "no-follow", Usage: "end the capture (exit code 1) when another process replaces or removes a captured route, instead of following it"}, forCapture},
		{&cli.StringFlag{Name: "metrics", Usage: "serve Prometheus metrics at `ADDR`/metrics: HOST:PORT, or PORT for localhost"}, forCapture},
		{&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "how events are written on stderr: human, keyvalue (level=info event=attach ...), or auto: keyvalue on systemd's journal, human elsewhere"}, forCapture},
		{&cli.StringSliceFlag{Name: "autostop", Aliases: []string{"a"}, Usage: "stop once `COND` holds, as dumpcap -a does: duration:SEC (seconds from the start), packets:N (as -c), filesize:KB (the output holds KB kB; with -C or -G, the next file begins), files:N (with -C or -G, once N files are written); repeat for several"}, forCapture},
		{&cli.IntFlag{Name: "stdout-timeout", Value: defaultStdoutTimeout, Usage: "end the capture, routes restored, once the reader of stdout (a pipe or a socket: tshark, Wireshark, ssh) has taken nothing for `SECONDS` while packets wait for it, such as over an SSH link that died without a word; every packet meanwhile is lost anyway; 0 waits for ever"}, forCapture},
		{&cli.BoolFlag{Name: "A", Usage: "print each packet in ASCII too, from its IP header (-X wins)"}, forReadToo},
		{&cli.BoolFlag{Name: "l", Usage: "write each printed packet out at once, for a reader such as grep (line-buffered stdout)"}, forReadToo},
		{&cli.BoolFlag{Name: "S", Aliases: []string{"absolute-tcp-sequence-numbers"}, Usage: "print absolute TCP sequence numbers (lwtdump always does; accepted as in tcpdump)"}, forReadToo},
	}
}

// captureFlags are the flags of a capture.
func captureFlags() []cli.Flag {
	return captureFlagsFor(forCapture, forFiles, forReadToo)
}

// captureFlagsFor are the capture flags of the given uses, in their order,
// each of which a config file may set too (configurable).
func captureFlagsFor(uses ...flagUse) []cli.Flag {
	var flags []cli.Flag
	for _, f := range captureFlagList() {
		for _, u := range uses {
			if f.use == u {
				flags = append(flags, configurable(f.flag))
			}
		}
	}
	return flags
}

// flagName is how a message names a flag: by its one-letter alias, as
// tcpdump's users write it (-C), or else by its long name (--file-mode).
func flagName(f cli.Flag) string {
	names := f.Names()
	for _, n := range names[1:] {
		if len(n) == 1 {
			return "-" + n
		}
	}
	return "--" + names[0]
}

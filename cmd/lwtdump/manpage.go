package main

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/lwtdump/lwtdump/bpf/route"
	"github.com/lwtdump/lwtdump/rotate/manifest"
	"github.com/urfave/cli/v2"
)

// manCommand prints the man page, lwtdump(8), for make man and packages.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print the man page lwtdump(8) in roff (man -l - shows it)",
		UsageText: "lwtdump man [--prefix DIR]",
		Hidden:    true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "prefix", Value: "/usr/local", Usage: "the installation prefix the page names files under (`DIR`)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("man: unexpected argument %q", c.Args().First())
			}
			return writeManPage(c.App.Writer, c.App, c.String("prefix"))
		},
	}
}

// writeManPage writes lwtdump(8): its synopsis, options and commands come
// from app's definitions, the rest is written here. urfave/cli's own
// ToMan sorts the options by name and lists none of their groups, values
// or defaults as a man page does, so the page is written by hand.
func writeManPage(w io.Writer, app *cli.App, prefix string) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH LWTDUMP 8 \"\" %q \"System Manager's Manual\"\n", "lwtdump "+app.Version)
	fmt.Fprintf(&b, ".SH NAME\nlwtdump \\- %s\n", roff(app.Usage))
	b.WriteString(".SH SYNOPSIS\n")
	for i, line := range strings.Split(app.UsageText, "\n") {
		if i > 0 {
			b.WriteString(".br\n")
		}
		rest, _ := strings.CutPrefix(line, "lwtdump")
		fmt.Fprintf(&b, "\\fBlwtdump\\fR%s\n", roff(rest))
	}
	b.WriteString(manDescription)
	b.WriteString(".SH OPTIONS\n")
	for _, group := range []struct {
		title string
		flags []cli.Flag
	}{
		{"Capturing", append(captureFlagsFor(forCapture), configFlag())},
		{"Writing files (with \\-w FILE)", captureFlagsFor(forFiles)},
		{"Capturing and reading", captureFlagsFor(forReadToo)},
		{"Reading captures (\\-r) and printing packets", readFlags()},
		{"Help", []cli.Flag{cli.HelpFlag, cli.VersionFlag}},
	} {
		fmt.Fprintf(&b, ".SS %s\n", group.title)
		for _, f := range group.flags {
			manFlag(&b, f)
		}
	}
	b.WriteString(".SH COMMANDS\n")
	for _, cmd := range app.VisibleCommands() {
		manCommandEntry(&b, "lwtdump", cmd)
	}
	b.WriteString(manStopping)
	b.WriteString(manTcpdump)
	for _, r := range refusals {
		names := "\\fB\\-" + r.letter + "\\fR"
		if r.long != "" {
			names += ", \\fB\\-\\-" + roff(r.long) + "\\fR"
		}
		fmt.Fprintf(&b, ".TP\n%s\n%s.\n", names, roff(r.why))
	}
	b.WriteString(manExamples)
	b.WriteString(manExitStatus)
	fmt.Fprintf(&b, manFiles, roff(route.DefaultStateDir), roff(manifest.Name), roff(path.Join(prefix, "share", "lwtdump", "lwtdump.lua")))
	b.WriteString(manSeeAlso)
	_, err := io.WriteString(w, b.String())
	return err
}

// manCommandEntry writes a command as a tagged paragraph: its synopsis,
// what it does, its flags and its subcommands.
func manCommandEntry(b *strings.Builder, parent string, cmd *cli.Command) {
	synopsis, more, _ := strings.Cut(cmd.UsageText, "\n")
	if synopsis == "" {
		synopsis = strings.TrimSpace(parent + " " + cmd.Name + " " + cmd.ArgsUsage)
	}
	fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n%s.\n", roff(synopsis), roff(capitalized(cmd.Usage)))
	if more = strings.Join(strings.Fields(more), " "); more != "" {
		fmt.Fprintf(b, "%s\n", roff(more))
	}
	var flags []cli.Flag
	for _, f := range cmd.VisibleFlags() {
		if f != cli.HelpFlag {
			flags = append(flags, f)
		}
	}
	if len(flags) == 0 && (len(cmd.Subcommands) == 0 || cmd.Name == "help") {
		return
	}
	b.WriteString(".RS\n")
	for _, f := range flags {
		manFlag(b, f)
	}
	for _, sub := range cmd.Subcommands {
		// urfave/cli adds its help command to the commands it runs, the
		// help command itself included: it is said once, at the top.
		if !sub.Hidden && sub.Name != "help" {
			manCommandEntry(b, parent+" "+cmd.Name, sub)
		}
	}
	b.WriteString(".RE\n")
}

// capitalized starts s with a capital letter.
func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// manFlag writes one flag as a tagged paragraph: its names with the
// placeholder of its value, then its usage and default.
func manFlag(b *strings.Builder, f cli.Flag) {
	d, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return
	}
	placeholder, usage := placeholder(d.GetUsage())
	if placeholder == "" && d.TakesValue() {
		placeholder = strings.ToUpper(f.Names()[0])
	}
	names := f.Names()
	var short, long []string
	for _, n := range names {
		if len(n) == 1 {
			short = append(short, n)
		} else {
			long = append(long, n)
		}
	}
	var tags []string
	for _, n := range short {
		tags = append(tags, "\\fB\\-"+roff(n)+"\\fR")
	}
	for _, n := range long {
		tags = append(tags, "\\fB\\-\\-"+roff(n)+"\\fR")
	}
	for i := range tags {
		if placeholder != "" {
			tags[i] += " \\fI" + roff(placeholder) + "\\fR"
		}
	}
	fmt.Fprintf(b, ".TP\n%s\n%s", strings.Join(tags, ", "), roff(capitalized(usage)))
	if def := defaultText(d); def != "" {
		fmt.Fprintf(b, " (default: %s)", roff(def))
	}
	if !strings.HasSuffix(usage, ".") {
		b.WriteString(".")
	}
	b.WriteString("\n")
}

// placeholder splits a usage string into the name of its value, written
// between backquotes, and the usage without them, as urfave/cli does for
// --help (its function for it is not exported).
func placeholder(usage string) (name, rest string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name = usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}

// defaultText is a flag's default as a man page shows it: "" for none, for
// false and for 0.
func defaultText(d cli.DocGenerationFlag) string {
	if !d.TakesValue() {
		return ""
	}
	def := d.GetDefaultText()
	if s, err := strconv.Unquote(def); err == nil {
		def = s
	}
	if def == "0" || def == "[]" {
		return ""
	}
	return def
}

var code = regexp.MustCompile("`([^`]*)`")

// roff escapes text for a man page: backslashes, minus signs (a flag is
// typed with a minus, not a hyphen), a line that would start with a
// control character; `code` becomes bold.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	s = code.ReplaceAllString(s, `\fB$1\fR`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

const manDescription = `.SH DESCRIPTION
.B lwtdump
captures packets at a Linux route, where
.BR tcpdump (8)
captures at an interface.
It runs an eBPF program at the lightweight\-tunnel (LWT) hooks of the routes
given with \fB\-i\fR, and at the SRv6 End.BPF action of the local SIDs given
with \fB\-\-srv6\-sid\fR, and writes what it sees as pcapng (\fB\-w\fR), which
Wireshark, tshark, tcpdump and capinfos read as it is, or prints one line per
packet as tcpdump does.
Each route is replaced by the same route carrying the capture, and is put back
exactly as it was when lwtdump exits, on every exit path; a route that another
process changed meanwhile is left as it is, and said.
.PP
\fBlwt_in\fR sees the packets the host received and routes by the route;
\fBlwt_out\fR the packets going out by the route, forwarded or sent by the
host, before the neighbour lookup; \fBlwt_xmit\fR (the default) the packets
just before they go to the device, after any other encap.
Packets begin at the IP header: there is no link\-level header at these hooks.
.PP
Each attachment (a route at a hook) is one pcapng interface, and each packet
carries a comment with its hook, cookie, route, device, interface index, CPU
and mark.
At exit lwtdump prints \fIN\fR packets captured, \fIM\fR dropped on stderr.
.PP
A filter expression, after all flags, selects packets as tcpdump's does (see
.BR pcap\-filter (7));
it runs in the kernel.
.PP
With \fB\-r\fR, lwtdump reads captures back (its own, or any pcap or pcapng),
prints them as tcpdump does, selects packets by hook, cookie, route and filter
expression, and copies them with \fB\-w\fR.
.PP
One\-letter flags may be grouped and a value glued to its flag, as tcpdump
takes them: \fB\-nnc5\fR is \fB\-n \-n \-c 5\fR, \fB\-s0\fR is \fB\-s 0\fR,
\fB\-w\-\fR is \fB\-w \-\fR.
`

const manStopping = `.SH STOPPING
A capture runs until SIGINT, SIGTERM or SIGHUP, or until the first of these:
.IP \(bu 2
\fB\-c\fR \fICOUNT\fR packets are written;
.IP \(bu 2
an \fB\-a\fR condition holds, with the meaning of
.BR dumpcap (1)'s:
\fBduration:\fR\fISEC\fR, \fISEC\fR seconds (a fraction allowed) since the
capture started;
\fBpackets:\fR\fIN\fR, \fIN\fR packets written, as \fB\-c\fR (the smaller wins);
\fBfilesize:\fR\fIKB\fR, the output (a file, or stdout) holds \fIKB\fR kB of
1000 bytes; with \fB\-C\fR or \fB\-G\fR the next file begins instead, and the
capture goes on;
\fBfiles:\fR\fIN\fR, with \fB\-C\fR or \fB\-G\fR, \fIN\fR files are written.
\fB\-a\fR may be repeated;
.IP \(bu 2
with \fB\-G\fR and \fB\-W\fR, the last file is written;
.IP \(bu 2
the reader of stdout (\fB\-w \-\fR, or the printed lines into a pipe) goes
away: lwtdump notices it even when no packet comes;
.IP \(bu 2
the reader of stdout, a pipe or a socket, has taken nothing for
\fB\-\-stdout\-timeout\fR seconds (default 60) while packets wait for it, as a
reader does at the other end of an SSH link that died without a word, which
TCP notices only after some 15 minutes: lwtdump ends with exit status 1.
While the reader takes nothing, every packet is lost in the kernel's buffer
anyway, and a minute is far longer than any pause of a reader that is alive;
\fB\-\-stdout\-timeout 0\fR waits for ever.
.PP
When a capture is stopped while the reader of stdout takes nothing, lwtdump
waits at most 2 seconds more to write the end of the capture.
In every case the routes are restored and the summary is printed.
`

const manTcpdump = `.SH TCPDUMP'S OPTIONS
lwtdump takes tcpdump's options that mean the same for a route capture:
\fB\-A\fR, \fB\-B\fR, \fB\-c\fR, \fB\-C\fR, \fB\-F\fR, \fB\-G\fR, \fB\-h\fR,
\fB\-i\fR (a route, not an interface), \fB\-l\fR, \fB\-n\fR, \fB\-r\fR,
\fB\-s\fR, \fB\-S\fR, \fB\-t\fR to \fB\-ttttt\fR, \fB\-U\fR, \fB\-v\fR,
\fB\-w\fR, \fB\-W\fR, \fB\-X\fR, \fB\-z\fR, \fB\-Z\fR, \fB\-\-version\fR.
\fB\-q\fR says nothing on stderr but errors and the summary, and \fB\-\-count\fR
is \fB\-c\fR; tcpdump's \fB\-\-count\fR, the number of packets of a file, is
\fBlwtdump stats\fR.
These have no meaning for a route capture, and are refused with the reason:
`

const manExamples = `.SH EXAMPLES
Capture the route to 2001:db8:20::/48 at lwt_xmit into a file:
.PP
.RS
.EX
lwtdump \-i 2001:db8:20::/48 \-w out.pcapng
.EE
.RE
.PP
At all three hooks, and a second route with its own cookie:
.PP
.RS
.EX
lwtdump \-i 2001:db8:20::/48 \-i 203.0.113.0/24,cookie=7 \-\-hook in,out,xmit \-w hooks.pcapng
.EE
.RE
.PP
A live view in Wireshark, on this host or from a router over ssh; the remote
lwtdump ends by itself within 30 seconds of the link's death:
.PP
.RS
.EX
lwtdump \-i 2001:db8:20::/48 \-w \- \-U | wireshark \-k \-i \-
ssh root@r1 lwtdump \-i 2001:db8:20::/48 \-w \- \-U \-\-stdout\-timeout 30 | wireshark \-k \-i \-
.EE
.RE
.PP
Keep the newest gigabyte: a ring of ten files of 100 MB:
.PP
.RS
.EX
lwtdump \-i 2001:db8:20::/48 \-w /var/cap/r1.pcapng \-C 100 \-W 10
.EE
.RE
.PP
Ten minutes, or 1000 packets, whichever comes first:
.PP
.RS
.EX
lwtdump \-i 2001:db8:20::/48 \-w cap.pcapng \-a duration:600 \-a packets:1000
.EE
.RE
.PP
Print the ICMPv6 packets of a route in hex and ASCII, in a network namespace:
.PP
.RS
.EX
lwtdump \-\-netns r1 \-i 2001:db8:20::/48 \-nX icmp6
.EE
.RE
.PP
Read a rotated capture back, the packets of lwt_xmit with date and time, and
the first five HTTP packets of a file in ASCII:
.PP
.RS
.EX
lwtdump \-r /var/cap \-\-hook xmit \-tttt
lwtdump \-r out.pcapng \-c5 \-A 'tcp port 80'
.EE
.RE
.PP
After a crash, see which routes carry lwtdump's programs, and put them back:
.PP
.RS
.EX
lwtdump list
lwtdump cleanup
.EE
.RE
`

const manExitStatus = `.SH EXIT STATUS
.TP
.B 0
A normal end: SIGINT, SIGTERM or SIGHUP, \fB\-c\fR or an \fB\-a\fR condition
reached, the last \fB\-G\fR/\fB\-W\fR file written, the reader of stdout gone.
.TP
.B 1
A failure while running, said in one line on stderr: a full disk, a refused
route change, missing privileges, a reader of stdout that took nothing for
\fB\-\-stdout\-timeout\fR seconds.
.TP
.B 2
A bad command line, said in one line before anything is touched; also a crash
(a bug): while capturing, it comes after the routes were restored, the file
finished and the summary printed.
.PP
The commands exit with the same codes.
`

// manFiles takes the state directory, the manifest's name and the
// installed dissector.
const manFiles = `.SH FILES
.TP
.I %s
What lwtdump needs to restore the routes of a capture after a crash
(\fB\-\-state\-dir\fR); \fBlwtdump cleanup\fR reads it.
.TP
.I %s
In the directory of \fB\-w\fR \fIFILE\fR: one line per finished file, with its
size and SHA\-256, which \fBlwtdump verify\fR checks.
.TP
.I %s
The Wireshark dissector of lwtdump's packet comments (fields lwtdump.hook,
lwtdump.route, ...): copy it into a Wireshark plugin folder, or let
\fBlwtdump wireshark install\fR put it into yours.
.TP
.I ~/.local/lib/wireshark/plugins/lwtdump.lua
The dissector, as \fBlwtdump wireshark install\fR puts it.
.TP
.IR ~/.config/wireshark/extcap/lwtdump ", " ~/.local/lib/wireshark/extcap/lwtdump
Links to lwtdump, Wireshark's extcap interface \fBlwtdump\fR (Wireshark 4.0;
4.2 and later), as \fBlwtdump wireshark install\fR puts them.
`

const manSeeAlso = `.SH SEE ALSO
.BR tcpdump (8),
.BR pcap\-filter (7),
.BR dumpcap (1),
.BR tshark (1),
.BR wireshark (1),
.BR capinfos (1),
.BR extcap (4),
.BR ip\-route (8)
`

package writer

import (
	"bytes"
	"fmt"
	"github.com/lwtdump/lwtdump/bpf/sample"
	"regexp"
	"strconv"
	"strings"
)

// AppendComment appends the packet comment lwtdump writes for a sample:
//
//	hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=3 cpu=1 mark=0x0
//
// The keys and their order are fixed; README documents them. route and dev
// come from the sample's attachment.
func AppendComment(b []byte, s *sample.Sample, a *sample.Attachment) []byte {
	b = append(b, "hook="...)
	b = append(b, s.Hook.String()...)
	b = append(b, " cookie=0x"...)
	b = strconv.AppendUint(b, s.Cookie, 16)
	b = append(b, " route="...)
	b = append(b, a.Route...)
	b = append(b, " dev="...)
	b = append(b, a.Dev...)
	b = append(b, " ifindex="...)
	b = strconv.AppendUint(b, uint64(s.Ifindex), 10)
	b = append(b, " cpu="...)
	b = strconv.AppendUint(b, uint64(s.CPU), 10)
	b = append(b, " mark=0x"...)
	return strconv.AppendUint(b, uint64(s.Mark), 16)
}

// Meta is what lwtdump wrote about a packet: in its comment, or, for the
// hook, cookie, route and device, in the name and description of its
// interface.
type Meta struct {
	Hook      sample.Hook // 0 when unknown
	Cookie    uint64
	HasCookie bool
	Route     string
	Dev       string
	Ifindex   uint32
	CPU       uint32
	Mark      uint32
}

// ParseComment reads back a comment that AppendComment wrote. It reports
// false when the comment is not one of lwtdump's. Keys it does not know are
// skipped, so that comments of later versions still parse.
func ParseComment(c []byte) (Meta, bool) {
	var m Meta
	if !bytes.HasPrefix(c, []byte("hook=")) {
		return m, false
	}
	for len(c) > 0 {
		var field []byte
		field, c, _ = bytes.Cut(c, []byte(" "))
		key, value, ok := bytes.Cut(field, []byte("="))
		if !ok {
			return m, false
		}
		var err error
		switch string(key) {
		case "hook":
			m.Hook, err = sample.ParseHook(string(value))
		case "cookie":
			m.Cookie, err = strconv.ParseUint(string(value), 0, 64)
			m.HasCookie = err == nil
		case "route":
			m.Route = string(value)
		case "dev":
			m.Dev = string(value)
		case "ifindex":
			m.Ifindex, err = parseUint32(value)
		case "cpu":
			m.CPU, err = parseUint32(value)
		case "mark":
			m.Mark, err = parseUint32(value)
		}
		if err != nil {
			return m, false
		}
	}
	return m, m.Hook != 0
}

// ParseInterface reads back the hook, route, device and cookie from the
// if_name ("lwt_xmit:2001:db8:20::/48@r1_h2") and if_description
// ("cookie=0xbeef netns=r1 table=254") that lwtdump gives an attachment's
// interface. It reports false when the name is not one of lwtdump's.
func ParseInterface(name, description string) (Meta, bool) {
	var m Meta
	hook, rest, ok := strings.Cut(name, ":")
	if !ok || !strings.HasPrefix(hook, "lwt_") {
		return m, false
	}
	h, err := sample.ParseHook(hook)
	if err != nil {
		return m, false
	}
	m.Hook = h
	m.Route, m.Dev, _ = strings.Cut(rest, "@")
	for field := range strings.FieldsSeq(description) {
		if v, ok := strings.CutPrefix(field, "cookie="); ok {
			if c, err := strconv.ParseUint(v, 0, 64); err == nil {
				m.Cookie, m.HasCookie = c, true
			}
		}
	}
	return m, true
}

func parseUint32(b []byte) (uint32, error) {
	v, err := strconv.ParseUint(string(b), 0, 32)
	return uint32(v), err
}

// RunComment appends to a section header's comment the run it belongs to
// and its number in that run: "... run=0123456789abcdef seq=3".
func RunComment(comment, run string, seq int) string {
	if comment != "" {
		comment += " "
	}
	return comment + fmt.Sprintf("run=%s seq=%d", run, seq)
}

var runSuffix = regexp.MustCompile(`(?:^| )run=([^ =\n]+) seq=([1-9][0-9]*)$`)

// ParseRun reads back the run and sequence number that RunComment put at
// the end of a section header's comment. It reports false for a comment
// that does not end so (a file of another tool, or a copy, whose comment
// ends with what was selected).
func ParseRun(comment string) (run string, seq int, ok bool) {
	m := runSuffix.FindStringSubmatch(comment)
	if m == nil {
		return "", 0, false
	}
	seq, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], seq, true
}

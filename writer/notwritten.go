package writer

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/lwtdump/lwtdump/bpf/sample"
)

// NotWrittenComments are the comments lwtdump writes in an interface's
// statistics block for the packets the hook saw that user space left out,
// one for each reason that left some:
//
//	not written packets=49: lost to a failed write
//	not written packets=12: seen after the capture reached its end (the count of -c, or the last file of -G with -W)
//
// so that the block adds up: isb_ifrecv = isb_usrdeliv + isb_ifdrop + the
// packets the filter rejected (isb_ifrecv - isb_filteraccept) + these. The
// keys and their order are fixed; the text after the colon is for people.
func NotWrittenComments(c sample.Counters) []string {
	var out []string
	if c.Unwritten > 0 {
		out = append(out, fmt.Sprintf("not written packets=%d: %s", c.Unwritten, reasonUnwritten))
	}
	if c.AfterEnd > 0 {
		out = append(out, fmt.Sprintf("not written packets=%d: %s", c.AfterEnd, reasonAfterEnd))
	}
	return out
}

const (
	reasonUnwritten = "lost to a failed write"
	reasonAfterEnd  = "seen after the capture reached its end (the count of -c, or the last file of -G with -W)"
)

var notWritten = regexp.MustCompile(`^not written packets=(\d+): (.*)$`)

// ParseNotWritten reads back a comment that NotWrittenComments wrote into
// the counters it came from (Unwritten or AfterEnd); it reports false for
// any other comment.
func ParseNotWritten(comment string) (sample.Counters, bool) {
	m := notWritten.FindStringSubmatch(comment)
	if m == nil {
		return sample.Counters{}, false
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return sample.Counters{}, false
	}
	switch m[2] {
	case reasonUnwritten:
		return sample.Counters{Unwritten: n}, true
	case reasonAfterEnd:
		return sample.Counters{AfterEnd: n}, true
	}
	return sample.Counters{}, false
}

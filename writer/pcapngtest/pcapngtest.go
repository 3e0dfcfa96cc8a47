// Package pcapngtest reads what tests need of a pcapng file with tshark,
// which reads the format itself, independently of lwtdump's reader.
package pcapngtest

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// ISBComments reads, with tshark's dissector of the pcapng format itself,
// the comments of the statistics blocks of a file, by interface.
func ISBComments(t testing.TB, file string) map[int][]string {
	t.Helper()
	// tshark's JSON holds the comments whole (its -V text cuts long ones);
	// each block's type comes first, then its interface and options.
	out, err := exec.Command("tshark", "-r", file, "-X", "read_format:MIME Files Format", "-T", "json").Output()
	if err != nil {
		t.Fatalf("tshark -X read_format:MIME Files Format -r %s: %v", file, err)
	}
	got := map[int][]string{}
	inISB, iface := false, 0
	for _, line := range strings.Split(string(out), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		var v string
		if err := json.Unmarshal([]byte(strings.TrimSuffix(value, ",")), &v); err != nil {
			continue
		}
		switch key {
		case `"pcapng.block.type"`:
			inISB = v == "0x00000005"
		case `"pcapng.interface_id"`:
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("tshark: interface %q", v)
			}
			iface = n
		case `"pcapng.options.option.data.comment"`:
			if inISB {
				got[iface] = append(got[iface], v)
			}
		}
	}
	return got
}

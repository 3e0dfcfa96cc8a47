package writer

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// tshark reads the golden capture as lwtdump promises: interface names,
// comments, directions, and the statistics blocks' counters.
func TestGoldenReadByTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (make deps installs it)")
	}
	const golden = "testdata/small.pcapng"
	out, err := exec.Command("tshark", "-r", golden, "-T", "fields", "-E", "separator=|",
		"-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	samples := testSamples()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(samples) {
		t.Fatalf("tshark read %d packets, want %d:\n%s", len(lines), len(samples), out)
	}
	for i, line := range lines {
		s := &samples[i]
		a := testAttachments[s.Attachment]
		dir := "0x00000002"
		if a.Hook.Inbound() {
			dir = "0x00000001"
		}
		want := strings.Join([]string{a.Name(), dir, strconv.Itoa(int(s.OrigLen)), strconv.Itoa(len(s.Data)), string(AppendComment(nil, s, &a))}, "|")
		if line != want {
			t.Errorf("packet %d:\n got %s\nwant %s", i+1, line, want)
		}
	}

	out, err = exec.Command("tshark", "-r", golden, "-X", "read_format:MIME Files Format", "-T", "fields", "-E", "separator=|",
		"-e", "pcapng.options.option.data.interface.received", "-e", "pcapng.options.option.data.interface.dropped").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "4,9|2,0" {
		t.Errorf("ISB counters received|dropped = %q, want %q", got, "4,9|2,0")
	}
}

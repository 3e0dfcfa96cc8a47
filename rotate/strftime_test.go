package rotate

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestStrftime(t *testing.T) {
	// A Sunday afternoon in ISO week 52 of 2023 (the year of 2024-01-01 is
	// ISO 2024, week 1).
	sun := time.Date(2023, time.December, 31, 15, 4, 5, 0, time.UTC)
	morning := time.Date(2024, time.March, 1, 0, 7, 9, 0, time.FixedZone("X", 5*3600+1800))
	for _, tc := range []struct {
		pattern string
		t       time.Time
		want    string
	}{
		{"out-%Y%m%d-%H%M%S.pcapng", sun, "out-20231231-150405.pcapng"},
		{"%y %C %j %s %%", sun, "23 20 365 1704035045 %"},
		{"%G-W%V-%u %g", sun, "2023-W52-7 23"},
		{"%a %A %b %h %B %e %w %U", sun, "Sun Sunday Dec Dec December 31 0 53"},
		{"%I %l %p %k %F %T %R", sun, "03  3 PM 15 2023-12-31 15:04:05 15:04"},
		{"%I %l %p %k %e %z %Z %j %U", morning, "12 12 AM  0  1 +0530 X 061 08"},
		{"no conversion", sun, "no conversion"},
		{"/var/cap/%Y/%m/cap", sun, "/var/cap/2023/12/cap"},
	} {
		got, err := strftime(tc.pattern, tc.t)
		if err != nil || got != tc.want {
			t.Errorf("strftime(%q, %v) = %q, %v; want %q", tc.pattern, tc.t, got, err, tc.want)
		}
	}
}

func TestStrftimeErrors(t *testing.T) {
	for _, pattern := range []string{"out-%Q", "out-%", "%E"} {
		if got, err := strftime(pattern, time.Now()); err == nil {
			t.Errorf("strftime(%q) = %q, want an error", pattern, got)
		}
	}
}

// Every conversion gives what the C library's strftime gives, through date(1).
func TestStrftimeMatchesDate(t *testing.T) {
	if _, err := exec.LookPath("date"); err != nil {
		t.Skip("date(1) is not installed")
	}
	pattern := strings.Join(strings.Fields(Conversions), "|")
	for _, tc := range []struct {
		tz string
		ts int64
	}{
		{"UTC", 1704035045},              // Sun 2023-12-31 15:04:05
		{"UTC", 1709251629},              // Fri 2024-03-01 00:07:09, leap year
		{"UTC", 1104537600},              // Sat 2005-01-01: ISO week 53 of 2004
		{"America/New_York", 1710054000}, // Sun 2024-03-10 03:00 EDT, the DST change
		{"Asia/Kolkata", 1735689599},     // Wed 2025-01-01 05:29:59 +0530
	} {
		loc, err := time.LoadLocation(tc.tz)
		if err != nil {
			t.Logf("no zone %s: %v", tc.tz, err)
			continue
		}
		cmd := exec.Command("date", "-d", "@"+itoa(tc.ts), "+"+pattern)
		cmd.Env = []string{"TZ=" + tc.tz, "LC_ALL=C"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("date: %v", err)
		}
		want := strings.TrimSuffix(string(out), "\n")
		got, err := strftime(pattern, time.Unix(tc.ts, 0).In(loc))
		if err != nil || got != want {
			t.Errorf("%s %d:\n got %q, %v\nwant %q", tc.tz, tc.ts, got, err, want)
		}
	}
}

func itoa(v int64) string { return string(pad(nil, int(v), 1, '0')) }

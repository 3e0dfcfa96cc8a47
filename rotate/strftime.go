package rotate

import (
	"fmt"
	"strconv"
	"time"
)

// Conversions lists the strftime(3) conversions a file name pattern may
// hold, as tcpdump's -G names use them.
const Conversions = "%Y %y %C %G %g %m %b %h %B %d %e %j %U %V %u %w %a %A %H %k %I %l %p %M %S %s %F %T %R %z %Z %%"

// strftime expands the conversions of pattern for t, in t's location, the
// way the C library's strftime does in the C locale. Written by hand because
// the standard library has only Go's reference-time layouts, whose plain
// digits would be expanded in file names that contain them.
func strftime(pattern string, t time.Time) (string, error) {
	b := make([]byte, 0, len(pattern)+16)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+1 == len(pattern) {
			return "", fmt.Errorf("%q ends with a lone %%; write %%%% for a percent sign", pattern)
		}
		i++
		var err error
		if b, err = appendConversion(b, pattern[i], t); err != nil {
			return "", fmt.Errorf("%q: %w", pattern, err)
		}
	}
	return string(b), nil
}

// hasTimeConversion reports whether pattern holds a conversion that changes
// with time (anything but %%).
func hasTimeConversion(pattern string) bool {
	for i := 0; i+1 < len(pattern); i++ {
		if pattern[i] == '%' {
			if pattern[i+1] != '%' {
				return true
			}
			i++
		}
	}
	return false
}

func appendConversion(b []byte, c byte, t time.Time) ([]byte, error) {
	switch c {
	case 'Y':
		return strconv.AppendInt(b, int64(t.Year()), 10), nil
	case 'y':
		return pad(b, t.Year()%100, 2, '0'), nil
	case 'C':
		return pad(b, t.Year()/100, 2, '0'), nil
	case 'G':
		y, _ := t.ISOWeek()
		return strconv.AppendInt(b, int64(y), 10), nil
	case 'g':
		y, _ := t.ISOWeek()
		return pad(b, y%100, 2, '0'), nil
	case 'm':
		return pad(b, int(t.Month()), 2, '0'), nil
	case 'b', 'h':
		return append(b, t.Month().String()[:3]...), nil
	case 'B':
		return append(b, t.Month().String()...), nil
	case 'd':
		return pad(b, t.Day(), 2, '0'), nil
	case 'e':
		return pad(b, t.Day(), 2, ' '), nil
	case 'j':
		return pad(b, t.YearDay(), 3, '0'), nil
	case 'U': // week of the year, Sunday first; days before the first Sunday are week 0
		return pad(b, (t.YearDay()+6-int(t.Weekday()))/7, 2, '0'), nil
	case 'V':
		_, w := t.ISOWeek()
		return pad(b, w, 2, '0'), nil
	case 'u':
		d := int(t.Weekday())
		if d == 0 {
			d = 7
		}
		return strconv.AppendInt(b, int64(d), 10), nil
	case 'w':
		return strconv.AppendInt(b, int64(t.Weekday()), 10), nil
	case 'a':
		return append(b, t.Weekday().String()[:3]...), nil
	case 'A':
		return append(b, t.Weekday().String()...), nil
	case 'H':
		return pad(b, t.Hour(), 2, '0'), nil
	case 'k':
		return pad(b, t.Hour(), 2, ' '), nil
	case 'I':
		return pad(b, hour12(t), 2, '0'), nil
	case 'l':
		return pad(b, hour12(t), 2, ' '), nil
	case 'p':
		if t.Hour() < 12 {
			return append(b, "AM"...), nil
		}
		return append(b, "PM"...), nil
	case 'M':
		return pad(b, t.Minute(), 2, '0'), nil
	case 'S':
		return pad(b, t.Second(), 2, '0'), nil
	case 's':
		return strconv.AppendInt(b, t.Unix(), 10), nil
	case 'F':
		return t.AppendFormat(b, "2006-01-02"), nil
	case 'T':
		return t.AppendFormat(b, "15:04:05"), nil
	case 'R':
		return t.AppendFormat(b, "15:04"), nil
	case 'z':
		return t.AppendFormat(b, "-0700"), nil
	case 'Z':
		return t.AppendFormat(b, "MST"), nil
	case '%':
		return append(b, '%'), nil
	}
	return b, fmt.Errorf("unknown conversion %%%c (known: %s)", c, Conversions)
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

// pad appends v, at least width characters wide, padded on the left with fill.
func pad(b []byte, v, width int, fill byte) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, fill)
	}
	return append(b, s...)
}

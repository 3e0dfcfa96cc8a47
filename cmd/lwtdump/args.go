package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// tcpdumpArgs rewrites the flags of a command line as tcpdump's users type
// them into the forms urfave/cli parses: a cluster of one-letter flags is
// split, and a value glued to its flag is cut off (-nnc5 is -n -n -c 5,
// -s0 is -s 0, -w- is -w -, -ttt is -t -t -t), which urfave/cli refuses
// ("flag provided but not defined: -c5"). A tcpdump flag that means nothing
// for a route capture is refused with the reason and what to use instead.
//
// Only the flags before the first argument that is not a flag (the filter
// expression, the files after -r, a subcommand) or "--" are read; the value
// that follows a flag taking one, a --long=value and a -name=value are
// left as they are. args[0] is the program.
func tcpdumpArgs(args []string, flags []cli.Flag) ([]string, error) {
	takesValue := map[string]bool{}
	for _, f := range flags {
		v := false
		if d, ok := f.(cli.DocGenerationFlag); ok {
			v = d.TakesValue()
		}
		for _, name := range f.Names() {
			takesValue[name] = v
		}
	}
	if len(args) == 0 {
		return args, nil
	}
	out := append(make([]string, 0, len(args)+4), args[0])
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return append(out, args[i:]...), nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if v, ok := takesValue[name]; ok || strings.HasPrefix(a, "--") {
			if !ok {
				if r, refused := refusedFlags[name]; refused {
					return nil, usagef("--%s: %s", name, r.why)
				}
			}
			out = append(out, a)
			if v && !hasValue && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		split, value, err := splitShortFlags(a[1:], takesValue)
		if err != nil {
			return nil, err
		}
		if split == nil { // a letter that is no flag: left to urfave/cli
			out = append(out, a)
			continue
		}
		out = append(out, split...)
		if value && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out, nil
}

// splitShortFlags splits a cluster of one-letter flags, such as "nnvc5",
// into its flags ("-n", "-n", "-v", "-c", "5"): the letters up to the first
// flag that takes a value, which takes the rest of the cluster as its value.
// needsValue says that the cluster ends with a flag whose value is the next
// argument. A letter that is no flag is an error, which names it, and a
// letter of a refused tcpdump flag too; a cluster of one such letter is
// left to urfave/cli (split is nil).
func splitShortFlags(cluster string, takesValue map[string]bool) (split []string, needsValue bool, err error) {
	for j, c := range cluster {
		letter := string(c)
		v, ok := takesValue[letter]
		if !ok {
			if r, refused := refusedFlags[letter]; refused {
				return nil, false, usagef("-%s: %s", letter, r.why)
			}
			if len(cluster) > 1 {
				return nil, false, usagef("flag provided but not defined: -%s (in -%s)", letter, cluster)
			}
			return nil, false, nil
		}
		split = append(split, "-"+letter)
		if v {
			if rest := cluster[j+len(letter):]; rest != "" {
				return append(split, rest), false, nil
			}
			return split, true, nil
		}
	}
	return split, false, nil
}

// refusal is a tcpdump flag that means nothing for a route capture: why,
// and what to use instead.
type refusal struct {
	letter string // its one-letter name
	long   string // tcpdump's long name, if any
	why    string
}

// refusals are tcpdump's flags that lwtdump refuses.
var refusals = []refusal{
	{"D", "list-interfaces", "lwtdump captures routes, not interfaces: `ip route` and `ip -6 route` list the routes to give to -i PREFIX[@DEV], `lwtdump list` those being captured"},
	{"e", "", "packets at a route's hooks have no link-level header (they begin with the IP header); -v prints each packet's hook, route and device"},
	{"H", "", "802.11s mesh headers are link-level headers, which packets at a route's hooks do not have"},
	{"I", "monitor-mode", "monitor mode is for Wi-Fi interfaces; a route capture sees the IP packets routed by its route: leave it out"},
	{"j", "time-stamp-type", "time stamps come from the kernel's clock at the hook, the one kind there is: leave it out"},
	{"J", "list-time-stamp-types", "time stamps come from the kernel's clock at the hook, the one kind there is"},
	{"L", "list-data-link-types", "packets at a route's hooks begin with the IP header: lwtdump gives them a raw-IP link type itself, there is none to list"},
	{"p", "no-promiscuous-mode", "a route capture has no promiscuous mode: it sees only the packets routed by its route; leave it out"},
	{"Q", "direction", "a route capture picks the direction by hook: --hook in for packets coming in by the route, --hook out or xmit for packets going out by it"},
	{"y", "linktype", "packets at a route's hooks begin with the IP header: lwtdump gives them a raw-IP link type itself, there is none to choose; leave it out"},
}

// refusedFlags are the refusals by one-letter name and by long name.
var refusedFlags = func() map[string]refusal {
	m := map[string]refusal{}
	for _, r := range refusals {
		m[r.letter] = r
		if r.long != "" {
			m[r.long] = r
		}
	}
	return m
}()

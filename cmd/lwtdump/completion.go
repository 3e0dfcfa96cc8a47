package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionCommand prints the bash or zsh completion of lwtdump, for make
// completions and packages.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the completion of lwtdump's flags and commands for bash or zsh",
		UsageText: "lwtdump completion bash|zsh",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			switch shell := c.Args().First(); {
			case c.NArg() != 1:
				return usagef("completion: give one shell, bash or zsh")
			case shell == "bash":
				return writeBashCompletion(c.App.Writer, c.App)
			case shell == "zsh":
				return writeZshCompletion(c.App.Writer, c.App)
			default:
				return usagef("completion: unknown shell %q (want bash or zsh)", shell)
			}
		},
	}
}

// valueKind is what a flag's value is, for completing it.
type valueKind int

const (
	valueNone valueKind = iota // nothing to offer: a number, a prefix...
	valueFile
	valueDir
	valueUser
	valueCommand
	valueNetns
	valueWords // one of the words of flagWords
)

// flagValues says what the values of the flags (by name, for the root and
// the commands alike) are; a flag not named takes values there is nothing
// to offer for, or none.
var flagValues = map[string]valueKind{
	"write": valueFile, "read": valueFile, "filter-file": valueFile, "ready-file": valueFile,
	"state-dir": valueDir, "relinquish-privileges": valueUser, "postrotate-command": valueCommand,
	"netns": valueNetns, "hook": valueWords, "transport": valueWords, "autostop": valueWords,
}

// flagWords are the values to offer for the flags of valueWords.
var flagWords = map[string][]string{
	"hook":      {"in", "out", "xmit"},
	"transport": {"ringbuf", "perf"},
	"autostop":  {"duration:", "packets:", "filesize:", "files:"},
}

// commandArgs are the words to offer as the arguments of a command; nil
// for files.
var commandArgs = map[string][]string{
	"wireshark": {"install", "uninstall"},
	"list":      {},
	"cleanup":   {},
	"version":   {},
}

// flagNames are a flag's names as typed: -i, --interface.
func flagNames(f cli.Flag) []string {
	var names []string
	for _, n := range f.Names() {
		if len(n) == 1 {
			names = append(names, "-"+n)
		} else {
			names = append(names, "--"+n)
		}
	}
	return names
}

func takesValue(f cli.Flag) bool {
	d, ok := f.(cli.DocGenerationFlag)
	return ok && d.TakesValue()
}

// visibleFlags are the flags a user types: without --help of a command.
func visibleFlags(flags []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f)
	}
	return out
}

// writeBashCompletion writes the completion function of bash: flags after
// a dash, the commands as the first word, the values of the flags that
// have some to offer, files after -r and as the arguments of stats and
// verify. It needs no bash-completion package.
func writeBashCompletion(w io.Writer, app *cli.App) error {
	var b strings.Builder
	b.WriteString("# bash completion of lwtdump(8), made by `lwtdump completion bash` from its flags and commands\n")
	b.WriteString("_lwtdump() {\n")
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i w cmd= read=\n")
	b.WriteString("\tif [[ $cur == = ]]; then cur= prev=${COMP_WORDS[COMP_CWORD-1]}\n")
	b.WriteString("\telif [[ $prev == = ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi\n")
	// The flags that take a value, whose next word is that value.
	var values []string
	all := append(slices.Clone(app.Flags), cli.HelpFlag)
	for _, c := range app.VisibleCommands() {
		all = append(all, c.Flags...)
	}
	for _, f := range all {
		if takesValue(f) {
			values = append(values, flagNames(f)...)
		}
	}
	slices.Sort(values)
	values = slices.Compact(values)
	fmt.Fprintf(&b, "\tlocal values=' %s '\n", strings.Join(values, " "))
	b.WriteString(`	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) break ;;
		=) ((i++)) ;;
		-r | --read) read=1; [[ ${COMP_WORDS[i+1]} != = ]] && ((i++)) ;;
		-*) [[ $values == *" $w "* && ${COMP_WORDS[i+1]} != = ]] && ((i++)) ;;
		*) cmd=$w; break ;;
		esac
	done
	case $prev in
`)
	byKind := map[valueKind][]string{}
	for _, f := range all {
		if k := flagValues[f.Names()[0]]; takesValue(f) && k != valueNone {
			byKind[k] = append(byKind[k], flagNames(f)...)
		}
	}
	for _, k := range []valueKind{valueFile, valueDir, valueUser, valueCommand, valueNetns} {
		names := slices.Compact(slices.Sorted(slices.Values(byKind[k])))
		gen := map[valueKind]string{
			valueFile:    `compgen -f -- "$cur"`,
			valueDir:     `compgen -d -- "$cur"`,
			valueUser:    `compgen -u -- "$cur"`,
			valueCommand: `compgen -c -- "$cur"`,
			valueNetns:   `compgen -W "$(ip netns list 2>/dev/null | cut -d' ' -f1)" -- "$cur"`,
		}[k]
		fmt.Fprintf(&b, "\t%s) COMPREPLY=($(%s)); return ;;\n", strings.Join(names, " | "), gen)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range flagWords {
			if !yield(n) {
				return
			}
		}
	}) {
		var names []string
		for _, f := range all {
			if f.Names()[0] == name {
				names = append(names, flagNames(f)...)
			}
		}
		nospace := ""
		if strings.HasSuffix(flagWords[name][0], ":") {
			nospace = "; compopt -o nospace 2>/dev/null"
		}
		fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -W '%s' -- \"$cur\"))%s; return ;;\n", strings.Join(slices.Compact(names), " | "), strings.Join(flagWords[name], " "), nospace)
	}
	b.WriteString("\tesac\n")
	fmt.Fprintf(&b, "\t[[ $values == *\" $prev \"* ]] && return # a value there is nothing to offer for\n")
	b.WriteString("\tcase $cmd in\n")
	var rootFlags []string
	for _, f := range visibleFlags(app.Flags) {
		rootFlags = append(rootFlags, flagNames(f)...)
	}
	var commands []string
	for _, c := range app.VisibleCommands() {
		commands = append(commands, c.Name)
	}
	fmt.Fprintf(&b, "\t'')\n\t\tif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", strings.Join(rootFlags, " "))
	fmt.Fprintf(&b, "\t\telif [[ -n $read ]]; then COMPREPLY=($(compgen -f -- \"$cur\"))\n")
	fmt.Fprintf(&b, "\t\telse COMPREPLY=($(compgen -W '%s' -- \"$cur\")); fi ;;\n", strings.Join(commands, " "))
	for _, c := range app.VisibleCommands() {
		var flags []string
		for _, f := range visibleFlags(c.Flags) {
			flags = append(flags, flagNames(f)...)
		}
		if !slices.Contains(flags, "--help") {
			flags = append(flags, "--help", "-h")
		}
		args := `compgen -f -- "$cur"`
		if words, ok := commandArgs[c.Name]; ok {
			args = fmt.Sprintf(`compgen -W '%s' -- "$cur"`, strings.Join(words, " "))
		}
		if c.Name == "help" {
			args = fmt.Sprintf(`compgen -W '%s' -- "$cur"`, strings.Join(commands, " "))
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", strings.Join(c.Names(), " | "), strings.Join(flags, " "))
		fmt.Fprintf(&b, "\t\telse COMPREPLY=($(%s)); fi ;;\n", args)
	}
	b.WriteString("\tesac\n}\ncomplete -F _lwtdump lwtdump\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeZshCompletion writes the completion function of zsh, _lwtdump, for
// a folder of $fpath: flags with their descriptions, values and
// exclusions, the commands with theirs, and files after -r and as the
// arguments of stats and verify.
func writeZshCompletion(w io.Writer, app *cli.App) error {
	var b strings.Builder
	b.WriteString("#compdef lwtdump\n")
	b.WriteString("# zsh completion of lwtdump(8), made by `lwtdump completion zsh` from its flags and commands\n\n")
	b.WriteString("_lwtdump_netns() {\n\tlocal -a ns\n\tns=(${${(f)\"$(ip netns list 2>/dev/null)\"}%% *})\n\t_describe -t netns 'network namespace' ns\n}\n\n")
	b.WriteString("_lwtdump() {\n\tlocal curcontext=$curcontext state line ret=1\n\ttypeset -A opt_args\n\tlocal -a commands=(\n")
	for _, c := range app.VisibleCommands() {
		fmt.Fprintf(&b, "\t\t%s\n", zshQuote(c.Name+":"+zshEscape(c.Usage, ":")))
	}
	b.WriteString("\t)\n\t_arguments -C -s -S \\\n")
	zshFlagSpecs(&b, "\t\t", visibleFlags(app.Flags))
	b.WriteString("\t\t'1: :->first' \\\n\t\t'*:: :->rest' && ret=0\n")
	b.WriteString("\tcase $state in\n")
	b.WriteString("\tfirst)\n\t\tif (( ${+opt_args[-r]} || ${+opt_args[--read]} )); then _files && ret=0\n")
	b.WriteString("\t\telse _describe -t commands 'lwtdump command' commands && ret=0; fi ;;\n")
	b.WriteString("\trest)\n\t\tcurcontext=${curcontext%:*:*}:lwtdump-$words[1]:\n\t\tcase $words[1] in\n")
	for _, c := range app.VisibleCommands() {
		fmt.Fprintf(&b, "\t\t%s)\n\t\t\t_arguments -s -S \\\n", strings.Join(c.Names(), " | "))
		zshFlagSpecs(&b, "\t\t\t\t", visibleFlags(c.Flags))
		args := "'*:capture:_files'"
		if words, ok := commandArgs[c.Name]; ok {
			args = "'1: :(" + strings.Join(words, " ") + ")'"
			if len(words) == 0 {
				args = ""
			}
		}
		if c.Name == "help" {
			args = "'1: :_describe -t commands command commands'"
		}
		if args == "" {
			fmt.Fprintf(&b, "\t\t\t\t&& ret=0 ;;\n")
			continue
		}
		fmt.Fprintf(&b, "\t\t\t\t%s && ret=0 ;;\n", args)
	}
	b.WriteString("\t\t*) _files && ret=0 ;;\n\t\tesac ;;\n\tesac\n\treturn ret\n}\n\n_lwtdump \"$@\"\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// zshFlagSpecs writes one _arguments spec per flag, each line ending in
// a backslash.
func zshFlagSpecs(b *strings.Builder, indent string, flags []cli.Flag) {
	for _, f := range flags {
		names := flagNames(f)
		repeat := false
		if s, ok := f.(cli.DocGenerationSliceFlag); ok && s.IsSliceFlag() {
			repeat = true
		}
		if n := f.Names()[0]; n == "verbose" || n == "t" {
			repeat = true // -vv, -ttt
		}
		_, usage := placeholder(f.(cli.DocGenerationFlag).GetUsage())
		if i := strings.IndexAny(usage, ";("); i > 0 {
			usage = strings.TrimSpace(usage[:i])
		}
		desc := "[" + zshEscape(strings.ReplaceAll(usage, "`", ""), "[]") + "]"
		value := ""
		if takesValue(f) {
			ph, _ := placeholder(f.(cli.DocGenerationFlag).GetUsage())
			if ph == "" {
				ph = strings.ToUpper(f.Names()[0])
			}
			action := " "
			switch flagValues[f.Names()[0]] {
			case valueFile:
				action = "_files"
			case valueDir:
				action = "_files -/"
			case valueUser:
				action = "_users"
			case valueCommand:
				action = "_command_names -e"
			case valueNetns:
				action = "_lwtdump_netns"
			case valueWords:
				var words []string
				for _, w := range flagWords[f.Names()[0]] {
					words = append(words, zshEscape(w, ":"))
				}
				action = "(" + strings.Join(words, " ") + ")"
			}
			value = ":" + zshEscape(ph, ":") + ":" + action
		}
		for i, n := range names {
			if takesValue(f) {
				if len(n) == 2 {
					n += "+"
				} else {
					n += "="
				}
			}
			names[i] = n
		}
		excl := ""
		if !repeat {
			excl = "(" + strings.Join(flagNames(f), " ") + ")"
		} else {
			excl = "*"
		}
		var spec string
		if len(names) == 1 {
			spec = zshQuote(excl + names[0] + desc + value)
		} else {
			spec = zshQuote(excl) + "{" + strings.Join(names, ",") + "}" + zshQuote(desc+value)
		}
		fmt.Fprintf(b, "%s%s \\\n", indent, spec)
	}
}

// zshEscape puts a backslash before each of chars in s.
func zshEscape(s, chars string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(chars, r) || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// zshQuote quotes s for zsh in single quotes.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

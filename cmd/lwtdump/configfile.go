package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
	"gopkg.in/yaml.v3"
)

// A config file holds a capture's flags in YAML, one key per flag, named
// by its long name (/etc/lwtdump/INSTANCE.conf for the service):
//
//	interface:
//	  - 2001:db8:20::/48
//	  - 203.0.113.0/24@eth1,cookie=42
//	hook: in,xmit
//	write: /var/lib/lwtdump/core-uplink/ring.pcapng
//	file-size: 100
//	file-count: 10
//
// A value reads as it would on the command line (file-size: 100 is -C 100,
// file-mode: 0640 is --file-mode 0640), and a flag given on the command
// line wins over the file. urfave/cli's altsrc applies the values; this
// file reads them, strictly: an unknown key, a key given twice or a value
// of the wrong shape is refused with its line number, since a capture
// appliance must not quietly run without a setting its operator wrote.

// configFlag is --config.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "read the capture's flags from the YAML `FILE` (keys: the long flag names); flags on the command line win"}
}

// configurable wraps a capture flag so that its value may come from a
// config file. Every capture flag passes through here (captureFlagsFor), so
// a new flag is configurable as soon as it is defined; a flag of a type
// altsrc cannot set stops every run of lwtdump, and so every test, until
// it is added here.
func configurable(f cli.Flag) cli.Flag {
	switch f := f.(type) {
	case *cli.StringFlag:
		return altsrc.NewStringFlag(f)
	case *cli.StringSliceFlag:
		return altsrc.NewStringSliceFlag(f)
	case *cli.IntFlag:
		return altsrc.NewIntFlag(f)
	case *cli.UintFlag:
		return altsrc.NewUintFlag(f)
	case *cli.Uint64Flag:
		return altsrc.NewUint64Flag(f)
	case *cli.BoolFlag:
		return altsrc.NewBoolFlag(f)
	case altsrc.FlagInputSourceExtension:
		return f
	}
	panic(fmt.Sprintf("flag --%s: a %T cannot be read from a config file: add its type to configurable", f.Names()[0], f))
}

// configArgsKey is where loadConfig leaves, in the app's metadata, the
// flags the config file set, as command-line arguments.
const configArgsKey = "config-args"

// loadConfig is the app's Before: with --config FILE, it sets every capture
// flag that FILE gives and the command line does not.
func loadConfig(flags []cli.Flag) cli.BeforeFunc {
	return func(c *cli.Context) error {
		path := c.String("config")
		if path == "" {
			return nil
		}
		if c.IsSet("read") {
			return usagef("--config holds the flags of a capture: it cannot be given with -r")
		}
		values, args, err := readConfigFile(path, flags, c.IsSet)
		if err != nil {
			return err
		}
		if err := altsrc.ApplyInputSourceValues(c, altsrc.NewMapInputSource(path, values), flags); err != nil {
			return usagef("config %s: %v", path, err)
		}
		if c.App.Metadata == nil {
			c.App.Metadata = map[string]any{}
		}
		c.App.Metadata[configArgsKey] = args
		return nil
	}
}

// configArgs are the flags the config file set, as arguments: a capture
// records them after its command line, so that its provenance says what
// it ran with and the line run again does the same.
func configArgs(c *cli.Context) []string {
	args, _ := c.App.Metadata[configArgsKey].([]string)
	return args
}

// readConfigFile reads a config file into the values altsrc applies, in the
// types it wants, and returns as args those that the command line does not
// set (isSet).
func readConfigFile(path string, flags []cli.Flag, isSet func(string) bool) (map[any]any, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("config: %w", err)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, nil, usagef("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	values := map[any]any{}
	var args []string
	if len(doc.Content) == 0 { // an empty file, or only comments
		return values, nil, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, nil, usagef("config %s: line %d: want flag: value lines, such as `write: /var/lib/lwtdump/ring.pcapng`", path, top.Line)
	}
	byName := map[string]cli.Flag{}
	for _, f := range flags {
		byName[f.Names()[0]] = f
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		bad := func(format string, a ...any) error {
			return usagef("config %s: line %d: %s: %s", path, k.Line, k.Value, fmt.Sprintf(format, a...))
		}
		f, ok := byName[k.Value]
		if !ok {
			if long := longName(flags, k.Value); long != "" {
				return nil, nil, bad("write the flag's long name, %s", long)
			}
			return nil, nil, bad("no such capture flag (the keys are the long flag names: interface, hook, write, file-size, ...)")
		}
		if _, dup := values[k.Value]; dup {
			return nil, nil, bad("given twice")
		}
		value, strs, err := configValue(f, v)
		if err != nil {
			return nil, nil, bad("%v", err)
		}
		values[k.Value] = value
		if isSet(k.Value) {
			continue // the command line wins
		}
		for _, s := range strs {
			args = append(args, "--"+k.Value+"="+s)
		}
	}
	return values, args, nil
}

// configValue converts a YAML value to what altsrc wants for f, and to the
// strings the command line would give.
func configValue(f cli.Flag, v *yaml.Node) (any, []string, error) {
	if _, slice := f.(*altsrc.StringSliceFlag); slice {
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		var list []any
		var strs []string
		for _, it := range items {
			s, err := scalar(it)
			if err != nil {
				return nil, nil, err
			}
			list, strs = append(list, s), append(strs, s)
		}
		if len(list) == 0 {
			return nil, nil, errors.New("an empty list")
		}
		return list, strs, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, nil, err
	}
	var value any
	switch f.(type) {
	case *altsrc.StringFlag:
		value = s
	case *altsrc.IntFlag:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%q is not a whole number", s)
		}
		value = n
	case *altsrc.UintFlag:
		n, err := strconv.ParseUint(s, 10, strconv.IntSize)
		if err != nil {
			return nil, nil, fmt.Errorf("%q is not a number of 0 or more", s)
		}
		value = uint(n)
	case *altsrc.Uint64Flag:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%q is not a number of 0 or more", s)
		}
		value = n
	case *altsrc.BoolFlag:
		var b bool
		if err := v.Decode(&b); err != nil {
			return nil, nil, fmt.Errorf("%q: want true or false", s)
		}
		value, s = b, strconv.FormatBool(b)
	default:
		return nil, nil, fmt.Errorf("a %T cannot be read from a config file", f)
	}
	return value, []string{s}, nil
}

// scalar is the text of a single value, as written: 0640 stays 0640, and
// 0xbeef stays 0xbeef, for the flag to read as it reads the command line.
func scalar(v *yaml.Node) (string, error) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch {
	case v.Kind != yaml.ScalarNode:
		return "", errors.New("want a single value here")
	case v.Tag == "!!null":
		return "", errors.New("no value (write the value after the colon, or leave the key out)")
	}
	return v.Value, nil
}

// longName is the long name of the flag that has name as an alias ("" if none).
func longName(flags []cli.Flag, name string) string {
	for _, f := range flags {
		if names := f.Names(); slices.Contains(names[1:], name) {
			return names[0]
		}
	}
	return ""
}

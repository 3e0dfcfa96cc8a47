// Package wireshark carries lwtdump's Wireshark Lua post-dissector, which
// turns the packet comment lwtdump writes into filterable fields
// (lwtdump.hook, lwtdump.cookie, ...), knows the personal folders where
// Wireshark looks for plugins and extcap tools, and installs the dissector
// and the extcap link there (lwtdump wireshark install).
package wireshark

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Dissector is the Lua source of the post-dissector.
//
//go:embed lwtdump.lua
var Dissector []byte

// DissectorName is the file name the dissector is installed under.
const DissectorName = "lwtdump.lua"

// ExtcapName is the name of the extcap link: the interface Wireshark lists.
const ExtcapName = "lwtdump"

// Dirs are a user's personal Wireshark folders, found from the user's home
// and configuration directories as Wireshark finds them.
type Dirs struct {
	Home       string // $HOME
	ConfigHome string // $XDG_CONFIG_HOME, or Home/.config
}

// UserDirs are the folders of the user running lwtdump, from $HOME and
// $XDG_CONFIG_HOME.
func UserDirs() (Dirs, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return Dirs{}, fmt.Errorf("find the home directory: %w", err)
	}
	config := os.Getenv("XDG_CONFIG_HOME")
	if config == "" || !filepath.IsAbs(config) {
		config = filepath.Join(home, ".config")
	}
	return Dirs{Home: home, ConfigHome: config}, nil
}

// Folder is a folder Wireshark reads, and which versions read it.
type Folder struct {
	Path     string
	Versions string
}

// Plugins is the personal Lua plugin folder. Wireshark 4.0 and every later
// version load the .lua files in ~/.local/lib/wireshark/plugins (compiled
// plugins go into versioned subfolders, Lua scripts do not). 4.0 also
// reads the older $XDG_CONFIG_HOME/wireshark/plugins, for compatibility;
// nothing needs it.
func (d Dirs) Plugins() Folder {
	return Folder{filepath.Join(d.Home, ".local", "lib", "wireshark", "plugins"), "Wireshark 4.0 and later"}
}

// Extcap are the personal extcap folders: Wireshark 4.0 and 4.1 read
// $XDG_CONFIG_HOME/wireshark/extcap, 4.2 and later ~/.local/lib/wireshark/extcap.
func (d Dirs) Extcap() []Folder {
	return []Folder{
		{filepath.Join(d.ConfigHome, "wireshark", "extcap"), "Wireshark 4.0 and 4.1"},
		{filepath.Join(d.Home, ".local", "lib", "wireshark", "extcap"), "Wireshark 4.2 and later"},
	}
}

// Change is what Install or Uninstall did, or left, at one path.
type Change struct {
	What     string // "dissector" or "extcap"
	Path     string
	Target   string // for a link: what it points to
	Versions string // the Wireshark versions that read it
	Done     string // "installed", "linked", "unchanged", "removed", or "" when it was left alone
	Note     string // why it was left alone
}

// IsDissector reports whether content is lwtdump's dissector, of this or
// another version: its first line is the dissector's.
func IsDissector(content []byte) bool {
	first, _, _ := bytes.Cut(Dissector, []byte("\n"))
	return bytes.HasPrefix(content, append(first, '\n'))
}

// IsLwtdumpLink reports whether a link's target is an lwtdump binary (by
// its name, so that a link to a binary since removed counts too).
func IsLwtdumpLink(target string) bool {
	return strings.HasPrefix(filepath.Base(target), "lwtdump")
}

// Install writes the dissector into the personal Lua plugin folder and
// links binary into both personal extcap folders, creating the folders. It
// replaces an earlier install (a dissector or a link of lwtdump's) and
// refuses to replace anything else. It returns what it did at each path;
// the error says what it refused or failed to do.
func Install(d Dirs, binary string) ([]Change, error) {
	var changes []Change
	var errs []error
	c, err := installDissector(d.Plugins())
	changes = append(changes, c)
	errs = append(errs, err)
	for _, f := range d.Extcap() {
		c, err := installLink(f, binary)
		changes = append(changes, c)
		errs = append(errs, err)
	}
	return changes, errors.Join(errs...)
}

func installDissector(f Folder) (Change, error) {
	path := filepath.Join(f.Path, DissectorName)
	c := Change{What: "dissector", Path: path, Versions: f.Versions}
	have, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(have, Dissector):
		c.Done = "unchanged"
		return c, nil
	case err == nil && !IsDissector(have):
		c.Note = "not lwtdump's dissector"
		return c, fmt.Errorf("install the dissector: %s exists and is not lwtdump's: move it away first", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return c, fmt.Errorf("install the dissector: %w", err)
	}
	if err := os.MkdirAll(f.Path, 0o755); err != nil {
		return c, fmt.Errorf("install the dissector: %w", err)
	}
	tmp, err := os.CreateTemp(f.Path, ".lwtdump-*.lua.tmp")
	if err != nil {
		return c, fmt.Errorf("install the dissector: %w", err)
	}
	_, err = tmp.Write(Dissector)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return c, fmt.Errorf("install the dissector: %w", err)
	}
	c.Done = "installed"
	return c, nil
}

func installLink(f Folder, binary string) (Change, error) {
	path := filepath.Join(f.Path, ExtcapName)
	c := Change{What: "extcap", Path: path, Target: binary, Versions: f.Versions}
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink == 0:
		c.Note = "not a link"
		return c, fmt.Errorf("link the extcap tool: %s exists and is not a link to lwtdump: move it away first", path)
	case err == nil:
		target, err := os.Readlink(path)
		if err != nil {
			return c, fmt.Errorf("link the extcap tool: %w", err)
		}
		if target == binary {
			c.Done = "unchanged"
			return c, nil
		}
		if !IsLwtdumpLink(target) {
			c.Target, c.Note = target, "links to "+target+", not to lwtdump"
			return c, fmt.Errorf("link the extcap tool: %s links to %s, not to lwtdump: move it away first", path, target)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return c, fmt.Errorf("link the extcap tool: %w", err)
	}
	if err := os.MkdirAll(f.Path, 0o755); err != nil {
		return c, fmt.Errorf("link the extcap tool: %w", err)
	}
	// A new link renamed over the old one: never a moment without it.
	tmp := filepath.Join(f.Path, ".lwtdump.tmp")
	os.Remove(tmp)
	if err := os.Symlink(binary, tmp); err != nil {
		return c, fmt.Errorf("link the extcap tool: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return c, fmt.Errorf("link the extcap tool: %w", err)
	}
	c.Done = "linked"
	return c, nil
}

// Uninstall removes what Install put: the dissector when it is lwtdump's,
// and the extcap links when they point to an lwtdump binary. Anything else
// at those paths is left alone and said so. It returns a Change for every
// path where something was found.
func Uninstall(d Dirs) ([]Change, error) {
	var changes []Change
	var errs []error
	f := d.Plugins()
	path := filepath.Join(f.Path, DissectorName)
	switch have, err := os.ReadFile(path); {
	case err == nil && IsDissector(have):
		c := Change{What: "dissector", Path: path, Versions: f.Versions, Done: "removed"}
		if err := os.Remove(path); err != nil {
			errs = append(errs, fmt.Errorf("remove the dissector: %w", err))
			c.Done = ""
		}
		changes = append(changes, c)
	case err == nil:
		changes = append(changes, Change{What: "dissector", Path: path, Versions: f.Versions, Note: "not lwtdump's dissector"})
	case !errors.Is(err, fs.ErrNotExist):
		errs = append(errs, fmt.Errorf("remove the dissector: %w", err))
	}
	for _, f := range d.Extcap() {
		path := filepath.Join(f.Path, ExtcapName)
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove the extcap link: %w", err))
			continue
		}
		c := Change{What: "extcap", Path: path, Versions: f.Versions}
		if fi.Mode()&fs.ModeSymlink == 0 {
			c.Note = "not a link"
			changes = append(changes, c)
			continue
		}
		c.Target, _ = os.Readlink(path)
		if !IsLwtdumpLink(c.Target) {
			c.Note = "links to " + c.Target + ", not to lwtdump"
			changes = append(changes, c)
			continue
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, fmt.Errorf("remove the extcap link: %w", err))
		} else {
			c.Done = "removed"
		}
		changes = append(changes, c)
	}
	return changes, errors.Join(errs...)
}

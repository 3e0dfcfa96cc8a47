// Package wireshark carries lwtdump's Wireshark Lua post-dissector, which
// turns the packet comment lwtdump writes into filterable fields
// (lwtdump.hook, lwtdump.cookie, ...), and knows where Wireshark looks for
// personal plugins.
package wireshark

import (
	_ "embed"
	"path/filepath"
)

// Dissector is the Lua source of the post-dissector.
//
//go:embed lwtdump.lua
var Dissector []byte

// DissectorName is the file name the dissector is installed under.
const DissectorName = "lwtdump.lua"

// PluginDirs are the personal Lua plugin folders of Wireshark 4.0 and of 4.2
// and later under home (both read ~/.local/lib/wireshark/plugins; 4.0 also
// reads the folder under ~/.config/wireshark).
func PluginDirs(home string) []string {
	return []string{
		filepath.Join(home, ".local", "lib", "wireshark", "plugins"),
	}
}

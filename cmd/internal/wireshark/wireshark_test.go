package wireshark

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testDirs(t *testing.T) Dirs {
	home := t.TempDir()
	return Dirs{Home: home, ConfigHome: filepath.Join(home, ".config")}
}

func TestFolders(t *testing.T) {
	d := Dirs{Home: "/home/a", ConfigHome: "/home/a/.cfg"}
	if got := d.Plugins().Path; got != "/home/a/.local/lib/wireshark/plugins" {
		t.Errorf("plugins %s", got)
	}
	var ext []string
	for _, f := range d.Extcap() {
		ext = append(ext, f.Path)
	}
	if want := []string{"/home/a/.cfg/wireshark/extcap", "/home/a/.local/lib/wireshark/extcap"}; !slices.Equal(ext, want) {
		t.Errorf("extcap %v, want %v", ext, want)
	}
	t.Setenv("HOME", "/home/b")
	t.Setenv("XDG_CONFIG_HOME", "")
	if d, err := UserDirs(); err != nil || d.ConfigHome != "/home/b/.config" {
		t.Errorf("UserDirs() = %+v, %v", d, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "/etc/xdg-b")
	if d, _ := UserDirs(); d.ConfigHome != "/etc/xdg-b" {
		t.Errorf("UserDirs() = %+v", d)
	}
}

// Install puts the dissector and both links; again, it changes nothing;
// Uninstall removes exactly them, folders left.
func TestInstallUninstall(t *testing.T) {
	d := testDirs(t)
	bin := "/usr/local/bin/lwtdump"
	changes, err := Install(d, bin)
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	for _, c := range changes {
		done = append(done, c.What+" "+c.Done)
	}
	if want := []string{"dissector installed", "extcap linked", "extcap linked"}; !slices.Equal(done, want) {
		t.Errorf("changes %v, want %v", done, want)
	}
	lua := filepath.Join(d.Plugins().Path, DissectorName)
	if b, err := os.ReadFile(lua); err != nil || string(b) != string(Dissector) {
		t.Fatalf("%s: %v", lua, err)
	}
	if fi, _ := os.Stat(lua); fi.Mode().Perm() != 0o644 {
		t.Errorf("%s: mode %v", lua, fi.Mode())
	}
	for _, f := range d.Extcap() {
		if target, err := os.Readlink(filepath.Join(f.Path, ExtcapName)); err != nil || target != bin {
			t.Errorf("%s: link to %q, %v", f.Path, target, err)
		}
	}
	changes, err = Install(d, bin)
	for _, c := range changes {
		if c.Done != "unchanged" {
			t.Errorf("second install: %+v, %v", c, err)
		}
	}
	changes, err = Uninstall(d)
	if err != nil || len(changes) != 3 {
		t.Fatalf("uninstall: %+v, %v", changes, err)
	}
	for _, p := range []string{lua, filepath.Join(d.Extcap()[0].Path, ExtcapName), filepath.Join(d.Extcap()[1].Path, ExtcapName)} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after uninstall: %v", p, err)
		}
	}
	if changes, err := Uninstall(d); len(changes) != 0 || err != nil {
		t.Errorf("second uninstall: %+v, %v", changes, err)
	}
}

// An earlier install is replaced; what is not lwtdump's is neither
// replaced nor removed.
func TestInstallLeavesOthersAlone(t *testing.T) {
	d := testDirs(t)
	lua := filepath.Join(d.Plugins().Path, DissectorName)
	old40 := filepath.Join(d.Extcap()[0].Path, ExtcapName)
	new42 := filepath.Join(d.Extcap()[1].Path, ExtcapName)
	for _, dir := range []string{d.Plugins().Path, d.Extcap()[0].Path, d.Extcap()[1].Path} {
		os.MkdirAll(dir, 0o755)
	}
	// An older dissector of lwtdump's, a link to an older lwtdump, and a
	// link to another program.
	first, _, _ := strings.Cut(string(Dissector), "\n")
	os.WriteFile(lua, []byte(first+"\n-- an older version\n"), 0o644)
	os.Symlink("/opt/old/lwtdump-0.1", old40)
	os.Symlink("/usr/bin/true", new42)
	changes, err := Install(d, "/usr/local/bin/lwtdump")
	if err == nil || !strings.Contains(err.Error(), new42+" links to /usr/bin/true, not to lwtdump") {
		t.Errorf("install over another program's link: %v", err)
	}
	if b, _ := os.ReadFile(lua); string(b) != string(Dissector) {
		t.Error("the older dissector was not replaced")
	}
	if target, _ := os.Readlink(old40); target != "/usr/local/bin/lwtdump" {
		t.Errorf("the older link points to %s", target)
	}
	if target, _ := os.Readlink(new42); target != "/usr/bin/true" {
		t.Errorf("the other program's link points to %s", target)
	}
	if len(changes) != 3 || changes[2].Done != "" {
		t.Errorf("changes %+v", changes)
	}

	// A file of the user's own under the dissector's name.
	os.WriteFile(lua, []byte("-- my own lwtdump.lua\n"), 0o644)
	if _, err := Install(d, "/usr/local/bin/lwtdump"); err == nil || !strings.Contains(err.Error(), lua+" exists and is not lwtdump's") {
		t.Errorf("install over the user's file: %v", err)
	}
	changes, err = Uninstall(d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, filepath.Base(filepath.Dir(c.Path))+" "+c.Done+c.Note)
	}
	want := []string{"plugins not lwtdump's dissector", "extcap removed", "extcap links to /usr/bin/true, not to lwtdump"}
	if !slices.Equal(got, want) {
		t.Errorf("uninstall %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(lua); string(b) != "-- my own lwtdump.lua\n" {
		t.Error("uninstall touched the user's file")
	}
	if _, err := os.Lstat(new42); err != nil {
		t.Error("uninstall removed another program's link")
	}
}

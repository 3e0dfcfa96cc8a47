// Command package builds lwtdump's Debian package with nfpm, from the
// binary make built and the files of this directory (nfpm.yaml):
//
//	go run . -root ../.. -binary ../../dist/amd64/lwtdump -arch amd64 -version 0.1.0 -out ../../dist
//
// It is a module of its own, so that nfpm and what it needs never become
// dependencies of lwtdump itself.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
)

// options say what to build.
type options struct {
	root, binary, arch, version, out, maintainer string
	// docs holds the man page lwtdump.8 and the completions lwtdump.bash
	// and _lwtdump, as `make man completions PREFIX=/usr` makes them.
	docs string
}

// defaultMaintainer is the package's Maintainer field unless -maintainer says otherwise.
const defaultMaintainer = "lwtdump maintainers <lwtdump@lwtdump.invalid>"

func main() {
	var o options
	flag.StringVar(&o.root, "root", "../..", "the repository")
	flag.StringVar(&o.binary, "binary", "", "the lwtdump binary to package (built for -arch)")
	flag.StringVar(&o.arch, "arch", "amd64", "the Debian architecture: amd64, arm64")
	flag.StringVar(&o.version, "version", "", "the version, as lwtdump --version prints it (scripts/package/version.sh)")
	flag.StringVar(&o.out, "out", ".", "the directory to write lwtdump_VERSION_ARCH.deb into")
	flag.StringVar(&o.maintainer, "maintainer", defaultMaintainer, "the Maintainer field")
	flag.StringVar(&o.docs, "docs", "", "the directory of the man page and completions (make man completions PREFIX=/usr)")
	flag.Parse()
	path, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "package: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// build writes the package and returns its path.
func build(o options) (string, error) {
	if o.binary == "" || o.version == "" || o.docs == "" {
		return "", fmt.Errorf("give -binary, -version and -docs")
	}
	work, err := os.MkdirTemp("", "lwtdump-package-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := prepare(o, work); err != nil {
		return "", err
	}
	env := map[string]string{
		"ROOT": o.root, "BUILD": work, "ARCH": o.arch, "VERSION": o.version, "MAINTAINER": o.maintainer,
	}
	// nfpm expands variables in some fields only; the paths need them too.
	yaml, err := os.ReadFile(filepath.Join(o.root, "scripts/package/nfpm.yaml"))
	if err != nil {
		return "", err
	}
	mapping := func(k string) string { return env[k] }
	cfg, err := nfpm.ParseWithEnvMapping(strings.NewReader(os.Expand(string(yaml), mapping)), mapping)
	if err != nil {
		return "", fmt.Errorf("read nfpm.yaml: %w", err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	info.MTime = commitTime(o.root)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("prepare package: %w", err)
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	path := filepath.Join(o.out, pkg.ConventionalFileName(info))
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("build %s: %w", path, err)
	}
	return path, f.Close()
}

// prepare puts into work what the package holds but the repository does
// not: the binary, the copyright file (Debian's machine-readable format),
// the compressed changelog, README and man page, and the completions.
func prepare(o options, work string) error {
	man, err := os.ReadFile(filepath.Join(o.docs, "lwtdump.8"))
	if err != nil {
		return err
	}
	if err := gzipFile(filepath.Join(work, "lwtdump.8.gz"), man); err != nil {
		return err
	}
	for _, name := range []string{"lwtdump.bash", "_lwtdump"} {
		b, err := os.ReadFile(filepath.Join(o.docs, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			return err
		}
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "lwtdump"), bin, 0o755); err != nil {
		return err
	}
	license, err := os.ReadFile(filepath.Join(o.root, "LICENSE"))
	if err != nil {
		return err
	}
	var c strings.Builder
	c.WriteString("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: lwtdump\n\n")
	c.WriteString("Files: *\nCopyright: 2026 The lwtdump Authors\nLicense: Expat\n")
	for _, line := range strings.Split(strings.TrimSpace(string(license)), "\n") {
		if line = strings.TrimRight(line, " "); line == "" {
			line = "."
		}
		c.WriteString(" " + line + "\n")
	}
	if err := os.WriteFile(filepath.Join(work, "copyright"), []byte(c.String()), 0o644); err != nil {
		return err
	}
	when := commitTime(o.root)
	changelog := fmt.Sprintf("lwtdump (%s) unstable; urgency=medium\n\n  * Built from git commit %s.\n\n -- %s  %s\n",
		o.version, commit(o.root), o.maintainer, when.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	if err := gzipFile(filepath.Join(work, "changelog.gz"), []byte(changelog)); err != nil {
		return err
	}
	readme, err := os.ReadFile(filepath.Join(o.root, "README.md"))
	if err != nil {
		return err
	}
	return gzipFile(filepath.Join(work, "README.md.gz"), readme)
}

// gzipFile writes data compressed as gzip -9n does: the best compression,
// no name and no time in the header.
func gzipFile(name string, data []byte) error {
	var b bytes.Buffer
	z, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	z.Write(data)
	if err := z.Close(); err != nil {
		return err
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}

// commit is the commit the package is built from.
func commit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// commitTime is the commit's time: the files' times in the package, so
// that the same commit gives the same package.
func commitTime(root string) time.Time {
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output()
	var sec int64
	if err == nil {
		fmt.Sscan(strings.TrimSpace(string(out)), &sec)
	}
	if sec == 0 {
		return time.Now()
	}
	return time.Unix(sec, 0)
}

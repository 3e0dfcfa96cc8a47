package main

// How the tests run lwtdump: one launch says where and with what, and
// runLwtdump runs it to completion, startLwtdump in the background.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// launch says how a test runs lwtdump. The zero value runs the binary
// (lwtdumpBinary) in the test's network namespace and directory, with the
// test's environment, and keeps its stdout.
type launch struct {
	inProcess bool      // run in this process, through run(): ns, dir and env must be unset
	ns        string    // the network namespace to run in (ip netns exec, which keeps the pid); "" for the test's own
	dir       string    // the working directory; "" for the test's
	env       []string  // the whole environment; nil for the test's
	stdout    io.Writer // where stdout goes; nil: kept, and returned by runLwtdump or in proc.stdout
	stateDir  string    // when set, --state-dir stateDir comes first (after a list or cleanup subcommand)
	user      string    // run as this user (setpriv, no capabilities inherited); "" for root
	binary    string    // the lwtdump binary to run; "" for lwtdumpBinary's
}

// inProcess runs lwtdump in the test's process.
var inProcess = launch{inProcess: true}

// launch runs lwtdump with the testbed's state directory.
func (tb *testbed) launch() launch { return launch{stateDir: tb.stateDir} }

// args puts --state-dir in front of args, after a subcommand that takes it.
func (l launch) args(args []string) []string {
	if l.stateDir == "" {
		return args
	}
	if len(args) > 0 && (args[0] == "list" || args[0] == "cleanup") {
		return append([]string{args[0], "--state-dir", l.stateDir}, args[1:]...)
	}
	return append([]string{"--state-dir", l.stateDir}, args...)
}

// command is the command that runs the lwtdump binary with args as l says.
func (l launch) command(t *testing.T, args []string) *exec.Cmd {
	t.Helper()
	if l.inProcess {
		t.Fatal("launch: an lwtdump in this process cannot be a command")
	}
	argv := []string{l.binary}
	if l.binary == "" {
		argv[0] = lwtdumpBinary(t)
	}
	if l.user != "" {
		u, err := user.Lookup(l.user)
		if err != nil {
			t.Skipf("no user %s", l.user)
		}
		argv = append([]string{"setpriv", "--reuid=" + u.Uid, "--regid=" + u.Gid, "--clear-groups", "--inh-caps=-all"}, argv...)
	}
	if l.ns != "" {
		argv = append([]string{"ip", "netns", "exec", l.ns}, argv...)
	}
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	cmd.Dir, cmd.Env = l.dir, l.env
	return cmd
}

// utcIn runs lwtdump in dir with TZ=UTC, so that time stamps print the
// same everywhere.
func utcIn(dir string) launch {
	return launch{dir: dir, env: append(os.Environ(), "TZ=UTC")}
}

// runLwtdump runs lwtdump to completion and returns its exit code, stdout
// and stderr. A command that should end by itself but does not (a capture
// that was expected to be refused) is stopped with SIGINT after a minute,
// so that it restores its routes, and fails the test.
func runLwtdump(t *testing.T, l launch, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	args = l.args(args)
	var outBuf, errBuf bytes.Buffer
	var out io.Writer = &outBuf
	if l.stdout != nil {
		out = l.stdout
	}
	if l.inProcess {
		if l.ns != "" || l.dir != "" || l.env != nil {
			t.Fatal("launch: an lwtdump in this process has the test's namespace, directory and environment")
		}
		code = run(append([]string{"lwtdump"}, args...), out, &errBuf)
		return code, outBuf.String(), errBuf.String()
	}
	cmd := l.command(t, args)
	cmd.Stdout, cmd.Stderr = out, &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		t.Fatalf("lwtdump %s did not end by itself\nstderr: %s", strings.Join(args, " "), errBuf.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), outBuf.String(), errBuf.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, outBuf.String(), errBuf.String()
}

// proc is an lwtdump running in the background.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr lockedBuffer // read while lwtdump runs
	done   chan struct{}
	err    error
}

// lockedBuffer is a bytes.Buffer that may be read while it is written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLwtdump starts lwtdump with args (after --ready-file, and
// --state-dir when l has one) and waits until it says it is attached, or
// fails the test if it exits first. It is stopped with SIGTERM when the
// test ends, if it still runs then. The caller closes its own copy of a
// pipe given as l.stdout once lwtdump has started.
func startLwtdump(t *testing.T, l launch, args ...string) *proc {
	t.Helper()
	readyDir := t.TempDir()
	if l.user != "" {
		readyDir = sharedDir(t, 0o777) // where the user can write
	}
	ready := filepath.Join(readyDir, "ready")
	args = append([]string{"--ready-file", ready}, l.args(args)...)
	p := &proc{t: t, cmd: l.command(t, args), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if l.stdout != nil {
		p.cmd.Stdout = l.stdout
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	})
	deadline := time.After(20 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("lwtdump %s exited before it was ready: %v\nstderr: %s", strings.Join(args, " "), p.err, p.stderr.String())
		case <-deadline:
			t.Fatalf("lwtdump %s not ready after 20 s\nstderr: %s", strings.Join(args, " "), p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends sig and returns the exit code.
func (p *proc) stop(sig syscall.Signal) int {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	return p.wait()
}

// wait waits for lwtdump to exit (at most 30 s) and returns the exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("lwtdump did not exit within 30 s\nstderr: %s", p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

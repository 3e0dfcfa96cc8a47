package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// account is the user that -Z USER drops to.
type account struct {
	name     string
	uid, gid int
}

// lookupAccount finds the user of -Z, by name or number.
func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, usagef("-Z %s: no such user", name)
		}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, usagef("-Z %s: user has no numeric ids", name)
	}
	return &account{name: u.Username, uid: uid, gid: gid}, nil
}

// dropPrivileges gives what the capture goes on writing (its state file, its
// output file) to the account, then becomes that user on every thread and
// keeps only CAP_NET_ADMIN, which putting the routes back needs. Everything
// else that needs privilege (loading the programs, the buffers, entering the
// namespace) is done by now and holds open file descriptors.
func dropPrivileges(a *account, chowns ...func(uid, gid int) error) error {
	for _, chown := range chowns {
		if err := chown(a.uid, a.gid); err != nil {
			return fmt.Errorf("-Z %s: %w", a.name, err)
		}
	}
	if err := cap.SetGroups(a.gid); err != nil {
		return fmt.Errorf("-Z %s: set groups: %w", a.name, err)
	}
	if err := cap.SetUID(a.uid); err != nil {
		return fmt.Errorf("-Z %s: set user: %w", a.name, err)
	}
	keep := cap.NewSet()
	if err := keep.SetFlag(cap.Permitted, true, cap.NET_ADMIN); err != nil {
		return err
	}
	if err := keep.SetFlag(cap.Effective, true, cap.NET_ADMIN); err != nil {
		return err
	}
	if err := keep.SetProc(); err != nil {
		return fmt.Errorf("-Z %s: drop capabilities: %w", a.name, err)
	}
	return nil
}

// forCapturingOnly is why a capability holder (a user other than root to
// whom the binary's capabilities were given) is refused what it asks for.
func forCapturingOnly() string {
	who := fmt.Sprintf("uid %d", os.Getuid())
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		who += " (" + u.Username + ")"
	}
	return "lwtdump runs for " + who + " on capabilities, which are given for capturing only"
}

// checkCapabilityHolder refuses, for a process that is not root, what a
// capture does not need: running a program on each file (-z), becoming
// another user (-Z). Routes that do not exist are refused when they are
// looked up (bpf.Options.ExistingOnly), the state directory by bpf.Start.
func checkCapabilityHolder(cfg *captureConfig) error {
	switch {
	case cfg.rotate.PostRotate != "":
		return fmt.Errorf("-z %s: only root may run a program on each finished file: %s", cfg.rotate.PostRotate, forCapturingOnly())
	case cfg.user != nil:
		return fmt.Errorf("-Z %s: only root may become another user: %s", cfg.user.name, forCapturingOnly())
	}
	return nil
}

// startStateReaper starts, before -Z drops root, the process that removes
// the capture's state directory (statePath's) once the capture has exited:
// the user it drops to cannot remove an entry of root's state directory.
// The reaper is lwtdump itself, run as root with the hidden command
// reap-state: it waits for the capture to close a pipe (at its end, or
// when it is killed), then removes the directory if it is empty; a state
// file left in it (the capture was killed) keeps it for lwtdump cleanup.
// The returned function closes the pipe and waits for the reaper.
func startStateReaper(statePath string) (wait func(), err error) {
	own := filepath.Dir(statePath)
	dir, err := os.OpenFile(filepath.Dir(own), os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("start state reaper: %w", err)
	}
	defer dir.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start state reaper: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start state reaper: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, reapStateCommand, filepath.Base(own))
	cmd.Stdin, cmd.ExtraFiles = r, []*os.File{dir}
	cmd.Env = []string{}
	// Its own process group: a Ctrl-C meant for the capture does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start state reaper: %w", err)
	}
	return func() {
		w.Close()
		cmd.Wait()
	}, nil
}

// reapStateCommand is the hidden command of the state reaper.
const reapStateCommand = "reap-state"

func reapStateCommandDef() *cli.Command {
	return &cli.Command{
		Name:   reapStateCommand,
		Hidden: true,
		Usage:  "remove a -Z capture's state directory once it has exited (started by lwtdump itself)",
		Action: func(c *cli.Context) error {
			name := c.Args().First()
			if _, err := strconv.Atoi(name); err != nil || c.NArg() != 1 {
				return usagef("%s: want one pid", reapStateCommand)
			}
			signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			io.Copy(io.Discard, os.Stdin) // until the capture closes the pipe or is gone
			// fd 3 is the state directory; only an empty directory goes.
			if err := unix.Unlinkat(3, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove state directory %s: %w", name, err)
			}
			return nil
		},
	}
}

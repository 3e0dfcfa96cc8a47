package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lwtdump/lwtdump/bpf"
)

// Package bpf says what is wrong in its own terms: a route, a table, a
// device, a pid. What to do about it is said here, in the command line's
// terms: its flags and commands, and the tools that show or fix the system.

// form is where the user names what to capture, and so the terms advice
// is given in.
type form int

const (
	commandLine  form = iota // flags: -i PREFIX@DEV
	extcapDialog             // the fields of Wireshark's extcap options dialog: Routes
)

// withHints returns err with the command line's advice worked into the
// text of every error of package bpf in it that has some; errors.Is and
// errors.As see err through it.
func withHints(err error) error { return withHintsFor(err, commandLine) }

// withHintsFor is withHints with advice in the terms of f. An error that
// has its advice already keeps it.
func withHintsFor(err error, f form) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var walk func(error)
	walk = func(e error) {
		if _, done := e.(hintedError); done {
			return
		}
		if text, ok := hint(e, f); ok {
			msg = strings.Replace(msg, e.Error(), text, 1)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return hintedError{err: err, msg: msg}
}

// hintedError is an error with the command line's advice in its text.
type hintedError struct {
	err error
	msg string
}

func (e hintedError) Error() string { return e.msg }
func (e hintedError) Unwrap() error { return e.err }

// permissionDenied is bpf.ErrPermission as the command line says it.
const permissionDenied = "permission denied: lwtdump needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"

// hint is the text the command line shows for one error of package bpf,
// if it has advice for it.
func hint(err error, f form) (string, bool) {
	switch e := err.(type) {
	case *bpf.TargetError:
		return e.Error() + targetHint(e, f), true
	case *bpf.RouteLostError:
		if e.NoneLeft {
			return "", false
		}
		return fmt.Sprintf("route %s %s at %s; --no-follow ends the capture", e.Route, e.What, e.Time.Format("15:04:05.000")), true
	case *bpf.PrivilegeError:
		caps := "cap_bpf,cap_perfmon,cap_net_admin"
		switch {
		case e.NoCapBPF:
			caps = "cap_net_admin,cap_sys_admin"
		case slices.Contains(e.Missing, "CAP_SYS_ADMIN"):
			caps += ",cap_sys_admin"
		}
		// To a group, never to everyone: see Privileges in README.
		return fmt.Sprintf("%s (missing %s): root can grant them to the group of users who capture: "+
			"`chown root:GROUP lwtdump; chmod 0750 lwtdump; setcap %s+ep lwtdump`",
			permissionDenied, strings.Join(e.Explain("for --netns"), ", "), caps), true
	}
	switch err {
	case bpf.ErrPermission:
		return permissionDenied, true
	case bpf.ErrNothingToCapture:
		if f == extcapDialog {
			return "nothing to capture: give a route in Routes, such as 2001:db8:20::/48", true
		}
		return "nothing to capture: give a route with -i PREFIX[@DEV] or a SID with --srv6-sid", true
	}
	return "", false
}

// targetHint is what to do about a target that Start does not capture.
func targetHint(e *bpf.TargetError, f form) string {
	switch {
	case errors.Is(e.Kind, bpf.ErrNoDevice):
		return " (ip link lists the devices)"
	case errors.Is(e.Kind, bpf.ErrNoRoute) && e.SID:
		return fmt.Sprintf(": add one with `ip -6 route add %s encap seg6local action End dev DEV`", e.Prefix.Addr())
	case errors.Is(e.Kind, bpf.ErrNoRoute) && f == extcapDialog:
		return fmt.Sprintf(": capture an existing route, or add one for the capture: give %s@DEV in Routes", e.Prefix)
	case errors.Is(e.Kind, bpf.ErrNoRoute):
		return fmt.Sprintf(": capture an existing route, or add one for the capture with -i %s@DEV", e.Prefix)
	case errors.Is(e.Kind, bpf.ErrExistingOnly):
		return fmt.Sprintf(": %s; root may add a route for the capture", forCapturingOnly())
	case errors.Is(e.Kind, bpf.ErrOtherDevice):
		return fmt.Sprintf(": drop @%s to capture it as it is", e.Dev)
	case errors.Is(e.Kind, bpf.ErrBusy):
		return ": stop that capture first"
	case errors.Is(e.Kind, bpf.ErrStale):
		return ": run `lwtdump cleanup` first"
	}
	return ""
}

// remedies say how to do, with lwtdump cleanup, what a cleanup step left undone.
var remedies = map[bpf.Remedy]string{
	bpf.RemedyNetns:       ": run lwtdump cleanup inside it, or with --netns NAME",
	bpf.RemedyStripDelete: ": run `lwtdump cleanup --strip` to delete it",
	bpf.RemedyStrip: ": lwtdump only captures routes without an encap (and SIDs that are a bare End), " +
		"so `lwtdump cleanup --strip` puts back the same route without it",
}

// stepLine is a cleanup step as lwtdump cleanup prints it, with its remedy,
// for root or else for a capability holder, which can neither strip nor
// read other users' state files.
func stepLine(s bpf.Step, root bool) string {
	if (s.Remedy == bpf.RemedyStrip || s.Remedy == bpf.RemedyStripDelete) && !root {
		return s.String() + ": `lwtdump cleanup` as root replays its state file, if another user's lwtdump wrote one, or strips it with --strip"
	}
	return s.String() + remedies[s.Remedy]
}

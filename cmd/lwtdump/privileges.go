package main

import (
	"fmt"
	"os/user"
	"strconv"

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

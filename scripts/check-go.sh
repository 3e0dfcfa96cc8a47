#!/bin/sh
# Stops make with one line naming the Go that lwtdump needs, when the go
# command ($GO, or go on PATH) cannot build it: it is older than go.mod's
# go line, and cannot fetch that Go by itself either (Go before 1.21, which
# cannot even read go.mod, or a GOTOOLCHAIN that forbids fetching).
set -u
cd "$(dirname "$0")/.."
go=${GO:-go}
need=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' go.mod)
where="install Go $need or later from go.dev/dl into /usr/local/go and put /usr/local/go/bin first on PATH (Debian 12's golang-go is Go 1.19; any Go from 1.21 on, such as bookworm-backports' golang-1.22-go, fetches Go $need by itself)"

# at_least A B: version A is B or later.
at_least() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]; }

# version GO: the version of the go command GO itself, such as 1.19.8.
version() { (cd / && GOTOOLCHAIN=local "$1" version 2>/dev/null) | sed -n 's/^go version go\([0-9][0-9.]*\).*/\1/p'; }

stop() {
	official=/usr/local/go/bin/go
	if [ "$path" != "$official" ] && [ -x "$official" ] && v=$(version "$official") && [ -n "$v" ] && at_least "$v" "$need"; then
		where="$official is go$v: run make GO=$official, or put /usr/local/go/bin first on PATH"
	fi
	echo "lwtdump needs Go $need or later to build; $1: $where" >&2
	exit 1
}

path=$(command -v "$go") || { path=; stop "there is no $go on PATH"; }
have=$(version "$path")
[ -n "$have" ] || stop "$path does not say its version"
at_least "$have" "$need" && exit 0
if at_least "$have" 1.21; then
	# Go 1.21 and later switch to the Go that go.mod asks for, fetching it
	# from the module proxy, as GOTOOLCHAIN allows.
	toolchain=$(cd / && "$path" env GOTOOLCHAIN 2>/dev/null)
	case $toolchain in
	auto | *+auto) exit 0 ;;
	go[0-9]*) at_least "${toolchain#go}" "$need" && exit 0 ;;
	esac
	stop "$path is go$have, and GOTOOLCHAIN=$toolchain keeps it from fetching Go $need (GOTOOLCHAIN=auto lets it)"
fi
stop "$path is go$have, too old to fetch it"

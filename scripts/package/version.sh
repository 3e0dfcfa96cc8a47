#!/bin/sh
# The version of lwtdump, from git, in a form that is both what
# `lwtdump --version` prints and a Debian version:
#   tag v1.2.3 exactly          1.2.3
#   4 commits after v1.2.3      1.2.3+4.gabc1234
#   no tag yet                  0.1.0~git123.gabc1234 (sorts before 0.1.0)
# and ".dirty" after it when the work tree has changes.
set -e
cd "$(dirname "$0")/../.."
dirty=
if ! git diff --quiet HEAD -- 2>/dev/null; then dirty=.dirty; fi
if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
	echo "$d$dirty" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g\([0-9a-f]*\)/+\1.g\2/'
else
	echo "0.1.0~git$(git rev-list --count HEAD).g$(git rev-parse --short=7 HEAD)$dirty"
fi

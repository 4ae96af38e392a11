#!/usr/bin/env bash
# check-leaks.sh: fail when the tests left gorae mounts or sandbox inits
# behind (run by `make test` after every package's tests). A mount point
# counts when its path says gorae (a test root, snapshots/active/...); the
# checkout itself, when it is a mount (a CI bind mount), does not.
set -u
repo=$(pwd -P)
status=0
mounts=$(awk -v repo="$repo" '$5 ~ /gorae/ && index(repo "/", $5 "/") != 1 { print $5 " (" $(NF-2) ")" }' /proc/self/mountinfo)
if [ -n "$mounts" ]; then
	echo "leaked mounts:"
	echo "$mounts" | sed 's/^/  /'
	status=1
fi
if procs=$(pgrep -a -f '^gorae-runner-init'); then
	echo "leaked sandbox processes:"
	echo "$procs" | sed 's/^/  /'
	status=1
fi
exit $status

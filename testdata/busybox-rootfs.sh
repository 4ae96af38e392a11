#!/usr/bin/env bash
# busybox-rootfs.sh OUT.tar — a minimal root filesystem from Debian's
# busybox-static, made offline: /bin/busybox, a symlink per applet, /etc
# passwd/group with root, nobody and an "app" user, /tmp and /root.
# BUSYBOX is the binary to put in it (default /bin/busybox); the applet
# links are those BUSYBOX_LIST --list-full names (default: BUSYBOX), so a
# busybox of another architecture needs no emulator to make its rootfs.
set -euo pipefail
out=${1:?usage: busybox-rootfs.sh OUT.tar}
bb=${BUSYBOX:-/bin/busybox}
list=${BUSYBOX_LIST:-$bb}
[ -f "$bb" ] || { echo "busybox-rootfs.sh: $bb not found: apt-get install busybox-static" >&2; exit 1; }
[ -x "$list" ] || { echo "busybox-rootfs.sh: $list not found: apt-get install busybox-static" >&2; exit 1; }
dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/app,var,proc,sys,dev}
chmod 1777 "$dir/tmp"
chmod 700 "$dir/root"
cp "$bb" "$dir/bin/busybox"
for applet in $("$list" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  [ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
done
cat > "$dir/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$dir/etc/group" <<'GR'
root:x:0:
app:x:1000:
nogroup:x:65534:
GR
# Owners are set in the tar, not on disk, so that a normal user can make
# it too: everything root's, /home/app the app user's.
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=2024-01-01 -C "$dir" --exclude=./home/app -cf "$out" .
tar --numeric-owner --owner=1000 --group=1000 --mtime=2024-01-01 -C "$dir" --no-recursion -rf "$out" ./home/app

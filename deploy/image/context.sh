#!/usr/bin/env bash
# context.sh DIR GORAE — the build context of deploy/image/Dockerfile in
# DIR, from this machine: GORAE (a static gorae), CA certificates,
# newuidmap/newgidmap and their libraries, busybox-static as /bin/sh.
set -euo pipefail
out=${1:?usage: context.sh DIR GORAE}
gorae=${2:?usage: context.sh DIR GORAE}
here=$(cd "$(dirname "$0")" && pwd)
for f in /usr/bin/newuidmap /usr/bin/newgidmap /bin/busybox /etc/ssl/certs/ca-certificates.crt; do
  [ -e "$f" ] || { echo "context.sh: $f is missing (make deps installs uidmap and busybox-static; apt-get install ca-certificates)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"/rootfs/{bin,etc/ssl/certs,usr/bin,usr/local/bin,tmp,var/lib/gorae,workspace} "$out"/home/gorae
chmod 755 "$out" "$out"/rootfs "$out"/home "$out"/home/gorae
chmod 1777 "$out"/rootfs/tmp
cp "$here/Dockerfile" "$out/Dockerfile"
cp "$gorae" "$out/gorae"
# newuidmap/newgidmap with file capabilities (CAP_SETUID, CAP_SETGID), in
# a tar that ADD unpacks with its xattrs: they work in a container that
# keeps only those two capabilities, where setuid-root ones cannot write
# the maps. Without setcap (not root), setuid copies instead.
mkdir -p "$out/helpers/usr/bin"
cp /usr/bin/newuidmap /usr/bin/newgidmap "$out/helpers/usr/bin/"
if command -v setcap >/dev/null && setcap cap_setuid=ep "$out/helpers/usr/bin/newuidmap" 2>/dev/null &&
   setcap cap_setgid=ep "$out/helpers/usr/bin/newgidmap" 2>/dev/null; then
  chmod 755 "$out"/helpers/usr/bin/*
  helpers="ADD helpers.tar /"
else
  echo "context.sh: setcap failed (run as root, with libcap2-bin): the image's newuidmap/newgidmap are setuid instead" >&2
  chmod 4755 "$out"/helpers/usr/bin/*
  helpers="COPY helpers/ /"
fi
tar --xattrs --xattrs-include=security.capability --numeric-owner --owner=0 --group=0 --mtime=@1700000000 -C "$out/helpers" -cf "$out/helpers.tar" usr
sed -i "s|^HELPERS$|$helpers|" "$out/Dockerfile"
cp /bin/busybox "$out/rootfs/bin/busybox"
ln -s busybox "$out/rootfs/bin/sh"
cp /etc/ssl/certs/ca-certificates.crt "$out/rootfs/etc/ssl/certs/"
# The helpers' shared libraries and loader, at the paths they ask for.
for lib in $(ldd /usr/bin/newuidmap /usr/bin/newgidmap | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
  mkdir -p "$out/rootfs$(dirname "$lib")"
  cp -L "$lib" "$out/rootfs$lib"
done
cat > "$out/rootfs/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
gorae:x:1000:1000:gorae:/home/gorae:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$out/rootfs/etc/group" <<'GR'
root:x:0:
gorae:x:1000:
nogroup:x:65534:
GR
echo 'gorae:100000:65536' > "$out/rootfs/etc/subuid"
echo 'gorae:100000:65536' > "$out/rootfs/etc/subgid"
find "$out" -exec touch -h -d @1700000000 {} +

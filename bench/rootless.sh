#!/usr/bin/env bash
# rootless.sh — gorae rootless beside gorae as root on the same cases
# (../shared/bench/cases: hello, manylayers, biglayer), cold and warm, plus
# a build whose only step is `RUN true`. Run as root: it creates a user
# (useradd -m, with a subuid range) unless ROOTLESS_USER names one, and
# removes it afterwards.
#   bench/rootless.sh                          # 5 reps, medians
#   REPS=3 CASES="hello" bench/rootless.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cases_dir=${SHARED_BENCH:-$repo/../shared/bench}/cases
REPS=${REPS:-5}
CASES=${CASES:-"hello manylayers biglayer"}
[ "$(id -u)" = 0 ] || { echo "rootless.sh: run as root (it compares root with a user it creates)" >&2; exit 1; }
command -v newuidmap >/dev/null || { echo "rootless.sh: install uidmap (make deps)" >&2; exit 1; }
make -s -C "$repo" build >/dev/null

user=${ROOTLESS_USER:-}
if [ -z "$user" ]; then
  user=gorae-bench-$$
  useradd -m "$user"
  trap 'rm -rf "/tmp/gorae-run-$(id -u "$user")"; userdel -r "$user" 2>/dev/null || true' EXIT
fi
home=$(getent passwd "$user" | cut -d: -f6)
work=$home/bench
rm -rf "$work"; mkdir -p "$work/ctx"
install -m 755 "$repo/bin/gorae" "$work/gorae"
bash "$repo/testdata/busybox-rootfs.sh" "$work/busybox.tar"
for c in $CASES; do
  bash "$cases_dir/$c/gen.sh" "$work/ctx/$c" >/dev/null
  sed -i 's|^FROM 127.0.0.1:5000/base/busybox:latest|FROM busybox|' "$work/ctx/$c/Dockerfile"
done
mkdir -p "$work/ctx/runtrue"; printf 'FROM busybox\nRUN true\n' > "$work/ctx/runtrue/Dockerfile"
chown -R "$user:" "$work"

# as MODE ROOT CMD... runs gorae as root or as the user with its root.
as() {
  local mode=$1 root=$2; shift 2
  # The same wrapper both ways (setpriv, not runuser: no PAM session).
  local who=$user
  [ "$mode" = root ] && who=0
  setpriv --reuid="$who" --regid="$who" --clear-groups env -i HOME="$home" PATH=/usr/bin:/bin GORAE_ROOT="$root" "$work/gorae" "$@"
}
# secs CMD...: wall seconds of one run, output discarded.
secs() {
  local s e
  s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
  echo "scale=3; ($e - $s) / 1000000000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '| case | mode | root | rootless | rootless / root |\n|---|---|---:|---:|---:|\n'
for c in $CASES runtrue; do
  for m in cold warm; do
    declare -A vals=([root]="" [user]="")
    # Root and rootless alternate, so that neither gets the quieter disk.
    for r in $(seq "$REPS"); do
      for mode in root user; do
        root=$work/root-$mode-$c-$m-$r
        rm -rf "$root"
        as "$mode" "$root" import "$work/busybox.tar" busybox >/dev/null 2>&1
        if [ "$m" = warm ]; then as "$mode" "$root" build -q "$work/ctx/$c" >/dev/null 2>&1; fi
        if [ "$c" = runtrue ] && [ "$m" = cold ]; then
          # the base unpacked: the build runs only the RUN
          as "$mode" "$root" build -q "$work/ctx/$c" >/dev/null 2>&1
          vals[$mode]+=" $(secs as "$mode" "$root" build -q --no-cache "$work/ctx/$c")"
          # the RUN step alone, as the progress reports it
          as "$mode" "$root" build --progress=json --no-cache "$work/ctx/$c" 2>&1 >/dev/null |
            grep '"status":"done"' | grep 'RUN true' | sed 's/.*"seconds":\([0-9.e-]*\).*/\1/' >> "$work/runtrue-$mode"
        else
          vals[$mode]+=" $(secs as "$mode" "$root" build -q "$work/ctx/$c")"
        fi
        rm -rf "$root"
        sync
      done
    done
    tr=$(printf '%s\n' ${vals[root]} | median)
    tu=$(printf '%s\n' ${vals[user]} | median)
    printf '| %s | %s | %.3f | %.3f | %.2f |\n' "$c" "$m" "$tr" "$tu" "$(echo "scale=4; $tu / $tr" | bc)"
  done
done
if [ -s "$work/runtrue-root" ]; then
  printf '\n`RUN true` step alone (median, s): root %.3f, rootless %.3f\n' "$(median < "$work/runtrue-root")" "$(median < "$work/runtrue-user")"
fi

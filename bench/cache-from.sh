#!/usr/bin/env bash
# cache-from.sh — a fresh machine with a registry cache: gorae --cache-from
# beside BuildKit --import-cache, on the shared bench cases.
#
# For each case: a build exports its cache to the registry (mode=max,
# untimed), every local cache is wiped, and a rebuild that imports the
# cache is timed. Needs ../shared/bench set up once and bin/gorae.
#   bench/cache-from.sh                    # biglayer, 3 reps
#   REPS=1 CASES="hello biglayer" bench/cache-from.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${SHARED_BENCH:-$repo/../shared/bench}
. "$shared/lib.sh"
G=${GORAE:-$repo/bin/gorae}
[ -x "$G" ] || make -C "$repo" build
REPS=${REPS:-3} CASES=${CASES:-biglayer}
ADDR=${BUILDKIT_HOST:-unix:///opt/anchors/buildkit.sock}
ctxroot=/opt/anchors/ctx
log=$(mktemp /tmp/cache-from-XXXX.log)
export BENCH_LOG=$log
groot=$(mktemp -d /tmp/cache-from-root-XXXX)
trap 'rm -rf "$groot" "$tf"' EXIT

tf=$(mktemp)
secs() { /usr/bin/time -f %e -o "$tf" "$@" >>"$log" 2>&1; tail -1 "$tf"; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

printf '%-10s %10s %10s %7s\n' case buildkit gorae ratio
for c in $CASES; do
  ctx=$ctxroot/$c
  bref=$REG/cache/$c:buildkit gref=$REG/cache/$c:gorae
  bk=(buildctl --addr "$ADDR" build --progress=plain --frontend dockerfile.v0
      --local context="$ctx" --local dockerfile="$ctx" --opt filename=Dockerfile)
  untimed buildctl --addr "$ADDR" prune --all
  untimed "${bk[@]}" --output "type=image,name=$REG/bench/$c:bk" --export-cache "type=registry,ref=$bref,mode=max"
  untimed env GORAE_ROOT="$groot/export" "$G" build -t "$REG/bench/$c:g" --cache-to "type=registry,ref=$gref,mode=max" "$ctx"
  bt=() gt=()
  for _ in $(seq "$REPS"); do
    untimed buildctl --addr "$ADDR" prune --all
    bt+=("$(secs "${bk[@]}" --output "type=image,name=$REG/bench/$c:bk" --import-cache "type=registry,ref=$bref")")
    rm -rf "$groot/fresh"
    gt+=("$(secs env GORAE_ROOT="$groot/fresh" "$G" build -t "$REG/bench/$c:g" --cache-from "type=registry,ref=$gref" "$ctx")")
  done
  b=$(printf '%s\n' "${bt[@]}" | median) g=$(printf '%s\n' "${gt[@]}" | median)
  printf '%-10s %10s %10s %7s\n' "$c" "$b" "$g" "$(awk -v b="$b" -v g="$g" 'BEGIN{printf "%.2f", g/b}')"
done
echo "(medians of $REPS, seconds; log: $log)"

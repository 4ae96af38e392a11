#!/usr/bin/env bash
# cold.sh — issue 16's cold targets: gorae beside BuildKit (buildctl against
# the shared bench's buildkitd), interleaved in one run, medians of REPS.
# Needs ../shared/bench set up once (registry on 127.0.0.1:5000 with the base
# images, buildkitd, the cases' contexts under /opt/anchors/ctx) and bin/gorae.
#
#   bench/cold.sh                               # context, debian, run-true; 3 reps
#   REPS=1 CASES=run-true bench/cold.sh
#   CASES="context debian run-true copy hello manylayers biglayer bigcopy" bench/cold.sh
#   GORAE=/tmp/me/gorae GORAE_COLD=fresh bench/cold.sh
#
# Cases: the shared bench's (context, debian, copy, hello, manylayers,
# biglayer, bigcopy: /opt/anchors/ctx/CASE) and run-true, generated here:
# FROM 127.0.0.1:5000/base/debian:bookworm + RUN true. Targets (gorae/BuildKit):
# context <= 0.4, debian <= 0.7, run-true <= 0.5; the other cases keep the
# ratio they had before issue 16 ("keep" in the table).
#
# What "cold" means for each builder (both untimed, before every timed build):
#   BuildKit: buildctl prune --all. It removes every cache record and snapshot
#     and, through buildkitd's content GC, every layer blob, the base images'
#     too (checked: after it the Debian base's 51 MB layer is gone from
#     /opt/anchors/buildkit/runc-overlayfs/content). So a cold BuildKit build
#     resolves the base, downloads its layers from the registry on 127.0.0.1
#     (about 0.2 s for Debian's 51 MB here), unpacks them, runs every step and
#     compresses every new layer.
#   gorae, GORAE_COLD=prune (the default, as ../shared/bench/builders/gorae.sh):
#     gorae rmi of this case's tag, then gorae prune --all. prune --all removes
#     every cache record, every unpacked chain (the base images' snapshots
#     too), cache mounts, explain records and the stat cache, but never a
#     named image's blobs; `gorae du` after it shows only "blobs" left (the
#     base images, pulled once untimed at the start). A base image in the
#     local store is used as is, without asking the registry. So a cold gorae
#     build does not download the base: it decompresses and unpacks it from
#     its own store, runs every step and compresses every new layer. The rmi
#     drops the last rep's result image, whose blobs prune would keep.
#   gorae, GORAE_COLD=fresh: an empty gorae root before every cold build, so
#     gorae pulls the base from 127.0.0.1:5000 too: the closest match of what
#     BuildKit does after its prune.
# Seconds are wall time of the client (buildctl, gorae) under /usr/bin/time;
# gorae's peak RSS is its %M (gorae does the whole build in its process and
# children). Builders alternate which goes first from rep to rep. Before each
# timed build the script waits up to QUIET_MAX (15) s for other people's
# builder clients to end. Build output goes to a log in /tmp (printed last).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
beside_buildkit
REPS=${REPS:-3} CASES=${CASES:-"context debian run-true"}
log=$(mktemp /tmp/cold-XXXX.log)
export BENCH_LOG=$log
work=$(mktemp -d /tmp/cold-XXXX)
trap 'rm -rf "$work"' EXIT
export GORAE_ROOT=$work/root

mkdir -p "$work/run-true"
printf 'FROM %s/base/debian:bookworm\nRUN true\n' "$REG" >"$work/run-true/Dockerfile"
ctxof() { if [ "$1" = run-true ]; then echo "$work/run-true"; else echo "/opt/anchors/ctx/$1"; fi; }
target() {
  case $1 in context) echo "<=0.4" ;; debian) echo "<=0.7" ;; run-true) echo "<=0.5" ;; *) echo keep ;; esac
}
for c in $CASES; do
  [ -f "$(ctxof "$c")/Dockerfile" ] || { echo "cold.sh: no case $c: $(ctxof "$c")/Dockerfile does not exist (../shared/bench/setup.sh makes the shared cases)" >&2; exit 2; }
done

# the base images into gorae's store, untimed (prune --all keeps them)
for b in busybox:latest debian:bookworm; do untimed "$G" pull "$REG/base/$b"; done

# one BUILDER CASE: one cold build; appends "SECONDS RSS_MB" to $work/CASE.BUILDER
one() {
  local b=$1 c=$2 ctx tag CMD
  ctx=$(ctxof "$c") tag=$REG/cold/$c:$1
  if [ "$b" = buildkit ]; then
    bk_cold
    quiet_wait
    bk_cmd "$ctx" "$tag"
    measure "${CMD[@]}" >>"$work/$c.$b"
  else
    g_cold "$tag"
    quiet_wait
    g_cmd "$ctx" "$tag"
    measure "${CMD[@]}" >>"$work/$c.$b"
  fi
}

printf '%-11s %10s %10s %7s %7s %14s\n' case buildkit_s gorae_s ratio target gorae_rss_MB
for c in $CASES; do
  find "$(ctxof "$c")" -type f -exec cat {} + >/dev/null # the context in the page cache for both
  for r in $(seq "$REPS"); do
    if [ $((r % 2)) = 1 ]; then one buildkit "$c"; one gorae "$c"; else one gorae "$c"; one buildkit "$c"; fi
  done
  b=$(awk '$1!="fail"{print $1}' "$work/$c.buildkit" | median)
  g=$(awk '$1!="fail"{print $1}' "$work/$c.gorae" | median)
  rss=$(awk '$2!="fail" && $2>m{m=$2} END{print m+0}' "$work/$c.gorae")
  ratio=$(awk -v b="$b" -v g="$g" 'BEGIN{if (b>0 && g>0) printf "%.2f", g/b; else print "-"}')
  printf '%-11s %10s %10s %7s %7s %14s\n' "$c" "${b:-fail}" "${g:-fail}" "$ratio" "$(target "$c")" "$rss"
done
echo "(medians of $REPS cold builds, seconds; gorae RSS: the largest of the reps; GORAE_COLD=${GORAE_COLD:-prune})"
[ "$BUSY_BUILDS" = 0 ] || echo "note: $BUSY_BUILDS builds started while other builder clients were still running after ${QUIET_MAX:-15} s"
echo "log: $log"

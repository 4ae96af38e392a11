#!/usr/bin/env bash
# verify.sh — what --verify-reproducible costs: cold builds of the shared
# bench's cases with and without it (SOURCE_DATE_EPOCH=0, so they pass),
# medians of REPS; prints the ratio (issue 14's target: <= 2.2).
# Needs ../shared/bench/setup.sh once (registry with the base images, the
# cases' contexts under /opt/anchors/ctx) and bin/gorae.
#   bench/verify.sh                  # hello and copy, 3 reps
#   REPS=1 CASES=hello bench/verify.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
G=${GORAE:-$repo/bin/gorae}
[ -x "$G" ] || make -C "$repo" build
REPS=${REPS:-3}
CASES=${CASES:-"hello copy"}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
export GORAE_ROOT=$root SOURCE_DATE_EPOCH=0
. "$repo/bench/lib.sh"
cold() { cold_build "$G" "$@"; } # cold CTX [FLAGS...]: seconds
for c in $CASES; do
  ctx=/opt/anchors/ctx/$c
  cold "$ctx" >/dev/null # base images into the store
  plain=() verified=()
  for _ in $(seq "$REPS"); do
    plain+=("$(cold "$ctx")")
    verified+=("$(cold "$ctx" --verify-reproducible)")
  done
  a=$(printf '%s\n' "${plain[@]}" | median)
  b=$(printf '%s\n' "${verified[@]}" | median)
  printf '%s: cold %.2fs, with --verify-reproducible %.2fs, ratio %.2f (target <= 2.2)\n' "$c" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done

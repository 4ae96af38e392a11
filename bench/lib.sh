# lib.sh — sourced by bench/*.sh: the helpers several of them time builds with.

# beside_buildkit: the set-up of the scripts that time gorae beside
# BuildKit, called with $here set to bench/: sets repo, shared and G
# ($GORAE, else bin/gorae, built if missing) and sources the shared
# bench's lib.sh (../shared/bench, or $SHARED_BENCH).
beside_buildkit() {
  repo=$(dirname "$here")
  shared=${SHARED_BENCH:-$repo/../shared/bench}
  . "$shared/lib.sh"
  G=${GORAE:-$repo/bin/gorae}
  [ -x "$G" ] || make -C "$repo" build
}

# median: the median (upper of two middles) of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# cold_build GORAE CTX [FLAGS...]: seconds of one quiet build of CTX after
# prune --all (base images stay in the store), against 127.0.0.1:5000.
cold_build() {
  local g=$1 ctx=$2; shift 2
  "$g" prune --all >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  "$g" build -q --insecure-registry 127.0.0.1:5000 "$@" "$ctx" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

# measure CMD...: "SECONDS PEAK_RSS_MB" of one run of CMD under GNU time
# (the RSS is that of CMD or its largest waited-for child), or "fail fail"
# if it exits non-zero, so that one broken point does not end a long
# sweep. CMD's output goes to $BENCH_LOG (../shared/bench/lib.sh timed).
measure() {
  local tf
  tf=$(mktemp)
  if BENCH_TIMES=$tf timed measure "$@"; then
    awk '/^T /{printf "%s %.0f\n", $2, $3/1024}' "$tf"
  else
    echo "fail fail"
  fi
  rm -f "$tf"
}

# The two builders of cold.sh and sweep.sh. BuildKit is buildctl against
# the shared bench's buildkitd, as ../shared/bench/builders/buildkit.sh
# runs it; gorae is $G with $GORAE_ROOT, set by the script.
BUILDKIT_ADDR=${BUILDKIT_HOST:-unix:///opt/anchors/buildkit.sock}

# bk_cmd CTX TAG: sets CMD to the buildctl command line that builds
# CTX/Dockerfile into the image TAG in buildkitd's store (not pushed; a
# fixed TAG replaces the last run's image). An array, not a function:
# /usr/bin/time runs it.
bk_cmd() {
  CMD=(buildctl --addr "$BUILDKIT_ADDR" build --progress=plain --frontend dockerfile.v0
    --local context="$1" --local dockerfile="$1" --opt filename=Dockerfile
    --output "type=image,name=$2")
}

# bk_cold: empty BuildKit's cache (untimed). buildctl prune --all removes
# every cache record and snapshot and, by buildkitd's content GC, every
# layer blob, the base images' included: the next build downloads the
# base layers again from 127.0.0.1:5000 and unpacks them.
bk_cold() { untimed buildctl --addr "$BUILDKIT_ADDR" prune --all; }

# g_cmd CTX TAG: sets CMD to the gorae command line that builds
# CTX/Dockerfile as TAG in $GORAE_ROOT.
g_cmd() { CMD=("$G" build --progress=plain -t "$2" "$1"); }

# g_cold TAG: empty gorae's cache (untimed). GORAE_COLD=prune (default,
# as ../shared/bench/builders/gorae.sh): gorae rmi TAG, so the last
# run's result blobs go too, then gorae prune --all, which removes every
# cache record, unpacked chain (the base images' snapshots included),
# cache mount and the stat cache but keeps named images' blobs: the base
# images stay pulled and are only unpacked again. GORAE_COLD=fresh: an
# empty $GORAE_ROOT, so the build pulls the base images from
# 127.0.0.1:5000 as BuildKit does after its prune.
g_cold() {
  case ${GORAE_COLD:-prune} in
    prune) untimed "$G" rmi "$1" || true
           untimed "$G" prune --all ;;
    fresh) rm -rf "$GORAE_ROOT" && mkdir -p "$GORAE_ROOT" ;;
    *) echo "GORAE_COLD=$GORAE_COLD: use prune or fresh" >&2; return 2 ;;
  esac
}

# bkd_reset and bkd_peak: buildkitd's peak RSS (MB) between the two
# calls, as ../shared/bench/run.sh measures it: writing 5 to clear_refs
# resets VmHWM to the current RSS. buildkitd is shared: another client's
# build in between counts too. "?" if its pid (/opt/anchors/pids) is
# unknown or not ours to read.
bkd_pid() { awk '$1=="buildkitd"{print $2}' /opt/anchors/pids 2>/dev/null | tail -1; }
bkd_reset() { echo 5 2>/dev/null >"/proc/$(bkd_pid)/clear_refs" || true; }
bkd_peak() {
  local st
  st=/proc/$(bkd_pid)/status
  if [ -r "$st" ]; then awk '/^VmHWM:/{printf "%.0f\n", $2/1024}' "$st"; else echo "?"; fi
}

# quiet_wait: before a timed build, wait up to QUIET_MAX seconds (default
# 15) while builder clients this script did not start (buildctl, buildah,
# gorae*) run: the machine is shared. Counts the builds it could not wait
# out in BUSY_BUILDS, for the closing note.
BUSY_BUILDS=0
quiet_wait() {
  local t=0
  while ps -e -o comm= | grep -Eqx 'buildctl|buildah|gorae.*'; do
    if [ "$t" -ge "${QUIET_MAX:-15}" ]; then
      BUSY_BUILDS=$((BUSY_BUILDS + 1))
      return 0
    fi
    sleep 1
    t=$((t + 1))
  done
}

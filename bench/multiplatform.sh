#!/usr/bin/env bash
# multiplatform.sh — issue 13's figures, gorae beside BuildKit in one run.
# Needs ../shared/bench set up (../shared/bench/setup.sh: registry, buildkitd,
# base/busybox-multi and aarch64 emulation) and bin/gorae.
#
#   bench/multiplatform.sh            # 3 reps of each
#   REPS=1 bench/multiplatform.sh
#
# 1. COPY-only (testdata/multiplatform-copy, 20 MB of text): gorae cold builds
#    of linux/amd64 alone and of linux/amd64,linux/arm64; prints the ratio
#    (target ≤ 1.3).
# 2. The shared bench's multiplatform case (a shared $BUILDPLATFORM stage, one
#    emulated RUN-heavy stage per platform), cold and warm, BuildKit and gorae
#    interleaved by ../shared/bench/run.sh; prints gorae/BuildKit (target ≤ 0.8
#    cold).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${SHARED_BENCH:-$repo/../shared/bench}
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
G=${GORAE:-$repo/bin/gorae}
REPS=${REPS:-3}
. "$here/lib.sh"

ctx=$(mktemp -d)
root=$(mktemp -d)
trap 'rm -rf "$ctx" "$root"' EXIT
cp "$repo/testdata/multiplatform-copy/Dockerfile" "$ctx/"
mkdir -p "$ctx/data"
head -c 15000000 /dev/urandom | base64 -w 76 > "$ctx/data/blob.txt"
echo stamp > "$ctx/stamp.txt"
export GORAE_ROOT=$root
build() { cold_build "$G" "$ctx" --platform "$1" -t mp-copy; } # build PLATFORMS: seconds
build linux/amd64,linux/arm64 >/dev/null # base images pulled into the store
one=() two=()
for _ in $(seq "$REPS"); do
  one+=("$(build linux/amd64)")
  two+=("$(build linux/amd64,linux/arm64)")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
printf 'COPY-only cold build: one platform %.2fs, two platforms %.2fs, ratio %.2f (target <= 1.3)\n' "$m1" "$m2" "$(echo "$m2 / $m1" | bc -l)"

cd "$repo"
export GORAE=$G
REPS=$REPS CASES=multiplatform MODES="cold warm" SUMMARY="$root/RESULTS.md" "$shared/run.sh" buildkit gorae >/dev/null
grep -E '^\|' "$root/RESULTS.md" | head -8

#!/usr/bin/env bash
# compare.sh — gorae beside BuildKit on the issue's cases, in one run.
# Needs ../shared/bench set up once (../shared/bench/setup.sh) and bin/gorae.
#   bench/compare.sh                       # copy and bigcopy: cold, push, oci; 3 reps
#   REPS=1 CASES=copy MODES=cold bench/compare.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${SHARED_BENCH:-$repo/../shared/bench}
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
export GORAE=${GORAE:-$repo/bin/gorae}
export REPS=${REPS:-3} CASES=${CASES:-"copy bigcopy"} MODES=${MODES:-"cold warm push oci"}
cd "$repo"
"$shared/run.sh" buildkit gorae
cat "$shared/RESULTS.md"

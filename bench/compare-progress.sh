#!/usr/bin/env bash
# compare-progress.sh — build testdata/progress (two stages printing at the
# same time; a failing step beside a slow one) with BuildKit and with gorae,
# both with --progress=plain, and compare what `grep '^#N '` gives for each
# Dockerfile step: the header, the output lines in order and the end
# (DONE, CACHED, ERROR or CANCELED). Step numbers, times, durations, error
# wording, FROM and [internal] steps and the export are not compared.
# Needs ../shared/bench/setup.sh once (buildkitd + registry on 127.0.0.1:5000).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. /opt/anchors/env.sh
ctx=$repo/testdata/progress
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
reg=${ANCHOR_REGISTRY:-127.0.0.1:5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# steps LOG: one line per Dockerfile step, "header | line | … | end",
# sorted; times become T.
steps() {
  awk '
    /^#[0-9]+ / {
      n = $1; line = substr($0, length(n) + 2)
      if (!(n in name)) { name[n] = line; order[++k] = n; next }
      if (line == name[n] || line == "...") next
      sub(/^[0-9]+\.[0-9]+ /, "T ", line)
      if (line ~ /^DONE /) line = "DONE"
      if (line ~ /^ERROR: /) line = "ERROR"
      body[n] = body[n] " | " line
    }
    END {
      for (i = 1; i <= k; i++) {
        h = name[order[i]]
        if (h ~ /^\[/ && h !~ /internal\]/ && h !~ /\] FROM /) print h body[order[i]]
      }
    }' "$1" | sort
}

diffs=0
# Dockerfile, fail.Dockerfile: one platform; multi: testdata/progress-multiplatform
# for linux/amd64 and linux/arm64 (step names carry the platform).
for df in Dockerfile fail.Dockerfile multi; do
  nonce=$RANDOM$RANDOM
  dir=$ctx bkopt=(--opt filename="$df") gopt=(-f "$ctx/$df")
  if [ "$df" = multi ]; then
    dir=$repo/testdata/progress-multiplatform
    bkopt=(--opt platform=linux/amd64,linux/arm64) gopt=(--platform linux/amd64,linux/arm64)
  fi
  buildctl build --progress=plain --frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" \
    "${bkopt[@]}" --opt build-arg:BASE="$reg/base/busybox:latest" --opt build-arg:NONCE="$nonce" \
    >"$work/bk.log" 2>&1 || true
  GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build --progress=plain "${gopt[@]}" \
    --build-arg BASE="$reg/base/busybox:latest" --build-arg NONCE="$nonce" "$dir" >"$work/gorae.log" 2>&1 || true
  steps "$work/bk.log" >"$work/bk.steps"
  steps "$work/gorae.log" >"$work/gorae.steps"
  echo "== $df"
  if diff -u "$work/bk.steps" "$work/gorae.steps"; then
    sed 's/^/   /' "$work/gorae.steps"
  else
    diffs=$((diffs + 1))
  fi
done
echo "$diffs differences"
[ "$diffs" = 0 ]

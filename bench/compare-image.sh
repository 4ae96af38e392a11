#!/usr/bin/env bash
# compare-image.sh — build testdata/compare (every non-RUN instruction) with
# BuildKit and with gorae, push both to the bench registry, and compare their
# config, history and files with internal/testutil/imgdiff.
# Needs ../shared/bench/setup.sh once (buildkitd + registry on 127.0.0.1:5000).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. /opt/anchors/env.sh
ctx=$repo/testdata/compare
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
reg=${ANCHOR_REGISTRY:-127.0.0.1:5000}
buildctl build --progress=quiet --frontend dockerfile.v0 --local context="$ctx" --local dockerfile="$ctx" \
  --opt build-arg:VERSION=2.0 --output "type=image,name=$reg/cmp/app:buildkit,push=true"
GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build -q --build-arg VERSION=2.0 \
  -t "$reg/cmp/app:gorae" --push "$ctx" >/dev/null
cd "$repo" && go run ./internal/testutil/imgdiff "$reg/cmp/app:buildkit" "$reg/cmp/app:gorae"
# USER and its supplementary groups (issue 12, item 3): RUN `id` as each
# USER form writes files that must be byte-identical.
gctx=$repo/testdata/compare-groups
buildctl build --progress=quiet --frontend dockerfile.v0 --local context="$gctx" --local dockerfile="$gctx" \
  --output "type=image,name=$reg/cmp/groups:buildkit,push=true"
GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build -q -t "$reg/cmp/groups:gorae" --push "$gctx" >/dev/null
go run ./internal/testutil/imgdiff "$reg/cmp/groups:buildkit" "$reg/cmp/groups:gorae"

#!/usr/bin/env bash
# compare-image.sh — build testdata/compare (every instruction and source kind) with
# BuildKit and with gorae, push both to the bench registry, and compare their
# config, history and files with internal/testutil/imgdiff.
# Needs ../shared/bench/setup.sh once (buildkitd + registry on 127.0.0.1:5000).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. /opt/anchors/env.sh
ctx=$repo/testdata/compare
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
reg=${ANCHOR_REGISTRY:-127.0.0.1:5000}
# ADD of a URL: both builders fetch the context's files from a local server.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$ctx" "$port" >/dev/null 2>&1 &
srv=$!
trap 'kill $srv' EXIT
python3 -c 'import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1]); break
    except OSError:
        time.sleep(0.1)' "http://127.0.0.1:$port/config.ini"
base=http://127.0.0.1:$port
# ADD of a git URL: both builders fetch one repository (fixed commit dates,
# so its id is the same on every run) from a local smart-HTTP git server.
work=$(mktemp -d)
trap 'kill $srv ${gsrv:-}; rm -rf "$work"' EXIT
git init -q -b main "$work/src"
mkdir -p "$work/src/sub/deep"
printf 'top\n' >"$work/src/README"
printf 'sub\n' >"$work/src/sub/a.txt"
printf '#!/bin/sh\necho run\n' >"$work/src/sub/deep/run.sh"
chmod 755 "$work/src/sub/deep/run.sh"
ln -s a.txt "$work/src/sub/link"
export GIT_AUTHOR_DATE=2024-01-02T03:04:05Z GIT_COMMITTER_DATE=2024-01-02T03:04:05Z
git -C "$work/src" add -A
git -C "$work/src" -c user.name=bench -c user.email=bench@example.com commit -q -m one
git -C "$work/src" tag v1
git clone -q --bare "$work/src" "$work/repos/app.git"
(cd "$repo" && go build -o "$work/gitserve" ./internal/testutil/gitserve)
"$work/gitserve" "$work/repos" >"$work/git.url" &
gsrv=$!
for _ in $(seq 100); do [ -s "$work/git.url" ] && break; sleep 0.1; done
gitbase=$(cat "$work/git.url")
commit=$(git -C "$work/src" rev-parse HEAD)
buildctl build --progress=quiet --frontend dockerfile.v0 --local context="$ctx" --local dockerfile="$ctx" \
  --opt build-arg:VERSION=2.0 --opt build-arg:HTTP_BASE="$base" --opt build-arg:GIT_BASE="$gitbase" --opt build-arg:GIT_COMMIT="$commit" \
  --output "type=image,name=$reg/cmp/app:buildkit,push=true"
GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build -q --build-arg VERSION=2.0 \
  --build-arg HTTP_BASE="$base" --build-arg GIT_BASE="$gitbase" --build-arg GIT_COMMIT="$commit" -t "$reg/cmp/app:gorae" --push "$ctx" >/dev/null
cd "$repo" && go run ./internal/testutil/imgdiff "$reg/cmp/app:buildkit" "$reg/cmp/app:gorae"
# USER and its supplementary groups (issue 12, item 3): RUN `id` as each
# USER form writes files that must be byte-identical.
gctx=$repo/testdata/compare-groups
buildctl build --progress=quiet --frontend dockerfile.v0 --local context="$gctx" --local dockerfile="$gctx" \
  --output "type=image,name=$reg/cmp/groups:buildkit,push=true"
GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build -q -t "$reg/cmp/groups:gorae" --push "$gctx" >/dev/null
go run ./internal/testutil/imgdiff "$reg/cmp/groups:buildkit" "$reg/cmp/groups:gorae"
# Multi-platform (issue 13): each platform's image of a two-platform build,
# and the index's media type, platforms and their order.
mctx=$repo/testdata/compare-multiplatform
buildctl build --progress=quiet --frontend dockerfile.v0 --local context="$mctx" --local dockerfile="$mctx" \
  --opt platform=linux/amd64,linux/arm64 --output "type=image,name=$reg/cmp/multi:buildkit,push=true"
GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build -q --platform linux/amd64,linux/arm64 \
  -t "$reg/cmp/multi:gorae" --push "$mctx" >/dev/null
for p in linux/amd64 linux/arm64; do
  echo "$p:"
  go run ./internal/testutil/imgdiff --platform $p "$reg/cmp/multi:buildkit" "$reg/cmp/multi:gorae"
done
layout() { curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$reg/v2/cmp/multi/manifests/$1" |
  python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["mediaType"], [(m["mediaType"], m["platform"], sorted(m.get("annotations", {}))) for m in i["manifests"]])'; }
if [ "$(layout buildkit)" = "$(layout gorae)" ]; then echo "index layout: same"; else
  echo "index layout differs:"; echo "  buildkit: $(layout buildkit)"; echo "  gorae:    $(layout gorae)"; exit 1; fi

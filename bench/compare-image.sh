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
buildctl build --progress=quiet --frontend dockerfile.v0 --local context="$ctx" --local dockerfile="$ctx" \
  --opt build-arg:VERSION=2.0 --opt build-arg:HTTP_BASE="$base" \
  --output "type=image,name=$reg/cmp/app:buildkit,push=true"
GORAE_ROOT=${GORAE_ROOT:-$repo/.gorae-demo} "$repo/bin/gorae" build -q --build-arg VERSION=2.0 \
  --build-arg HTTP_BASE="$base" -t "$reg/cmp/app:gorae" --push "$ctx" >/dev/null
cd "$repo" && go run ./internal/testutil/imgdiff "$reg/cmp/app:buildkit" "$reg/cmp/app:gorae"

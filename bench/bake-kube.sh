#!/usr/bin/env bash
# bake-kube.sh — issue 15's cluster figure: a target's second run as a
# Kubernetes Job on an empty root, against its first.
#
#   bench/bake-kube.sh            # 3 reps
#   REPS=1 bench/bake-kube.sh
#
# The cluster is simulated: internal/testutil/fakekubectl runs each Job's
# container as a local gorae process with a fresh root (an empty node),
# all sharing one registry (REG, default 127.0.0.1:5000 of
# ../shared/bench/setup.sh, with base/busybox:latest there). Two targets,
# app FROM base's result, each with a RUN that hashes 512 MB and writes
# 32 MB. Every rep uses a new repository, so its first run starts with no
# cache; the second run (new pods, new empty roots) finds the target's
# registry cache. Prints each target's median Job time (the end table's
# TIME: context upload, Job, result) for both runs and their ratio
# (target <= 0.3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
[ -x "$repo/bin/gorae" ] || make -C "$repo" build
G=${GORAE:-$repo/bin/gorae}
REPS=${REPS:-3}
REG=${REG:-127.0.0.1:5000}
. "$here/lib.sh"
curl -fsS -m 5 "http://$REG/v2/" >/dev/null || { echo "no registry at $REG: run ../shared/bench/setup.sh (or set REG)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/bin/kubectl" ./internal/testutil/fakekubectl)
export PATH="$work/bin:$PATH" FAKE_KUBECTL_GORAE=$G GORAE_ROOT=$work/coordinator
mkdir -p "$work/ctx/base" "$work/ctx/app"
cat > "$work/ctx/base/Dockerfile" <<DF
FROM $REG/base/busybox:latest
RUN head -c 536870912 /dev/zero | sha256sum > /base.sum && head -c 33554432 /dev/urandom > /base.bin
DF
cat > "$work/ctx/app/Dockerfile" <<'DF'
FROM b
COPY app.txt /
RUN head -c 536870912 /dev/zero | sha256sum > /app.sum && head -c 33554432 /dev/urandom > /app.bin
DF
echo app > "$work/ctx/app/app.txt"

# time_of TARGET < table: the TIME column of TARGET's row, in seconds.
time_of() { awk -v t="$1" '$1 == t && $3 ~ /^sha256:/ { sub(/s$/, "", $4); print $4 }'; }

first_base=() first_app=() second_base=() second_app=()
for rep in $(seq "$REPS"); do
  id=benchkube-$$-$rep
  cat > "$work/ctx/docker-bake.hcl" <<HCL
target "base" {
  context = "base"
  tags = ["$REG/$id/base:1"]
}
target "app" {
  context = "app"
  contexts = { b = "target:base" }
  tags = ["$REG/$id/app:1"]
}
group "default" {
  targets = ["base", "app"]
}
HCL
  for run in first second; do
    export FAKE_KUBECTL_DIR=$work/kube-$rep-$run
    mkdir -p "$FAKE_KUBECTL_DIR"
    (cd "$work/ctx" && "$G" bake --kubernetes --kubernetes-image gorae:bench --kubernetes-secret - --progress=plain 2> "$work/table" || { cat "$work/table" >&2; exit 1; })
    eval "${run}_base+=(\"$(time_of base < "$work/table")\")"
    eval "${run}_app+=(\"$(time_of app < "$work/table")\")"
  done
done
for t in base app; do
  f=$(eval "printf '%s\n' \"\${first_$t[@]}\"" | median)
  s=$(eval "printf '%s\n' \"\${second_$t[@]}\"" | median)
  printf '%s: first run %.2fs, second run on an empty root %.2fs, ratio %.2f (target <= 0.3)\n' "$t" "$f" "$s" "$(echo "$s / $f" | bc -l)"
done

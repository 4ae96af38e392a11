# lib.sh — sourced by bench/*.sh: the helpers several of them time builds with.

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

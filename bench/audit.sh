#!/usr/bin/env bash
# The audit benchmarks of docs/benchmarks.md. Needs the PostgreSQL of
# scripts/services.sh.
#
# The append, seal and verify benchmarks run ROUNDS times (default 5). The
# login benchmarks run in pairs, audited and not back to back, in
# alternating order (AB, BA, …), ROUNDS pairs of each configuration, so
# that a change in the machine's load falls on both alike; the summary is
# the median of each throughput and the median of the pairs' ratios.
# CONFIGS narrows the login pairs (default: all four); LOGIN_ONLY=1 skips
# the append, seal and verify benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
benchtime=${BENCHTIME:-5s}
bin=$(mktemp -d)/storage.test
go test -c -o "$bin" ./storage/
cd storage
export AUTHD_REQUIRE_SERVICES=1
out=$(mktemp)
configs=${CONFIGS:-postgres/argon2-default postgres/argon2-cheap sqlite/argon2-default sqlite/argon2-cheap}
if [[ -z ${LOGIN_ONLY:-} ]]; then
  "$bin" -test.run '^$' -test.bench 'AuditAppendAndSeal|AuditSeal|AuditVerify' -test.benchtime 20000x -test.count "$rounds" |
    grep '^Benchmark' | tee -a "$out"
fi
for round in $(seq "$rounds"); do
  order="true false"
  if (( round % 2 == 0 )); then order="false true"; fi
  for config in $configs; do
    for audited in $order; do
      "$bin" -test.run '^$' -test.bench "^BenchmarkLogin/$config/audited=$audited\$" -test.benchtime "$benchtime" |
        grep '^Benchmark' | sed "s/^/round$round /" | tee -a "$out"
    done
  done
done
echo
echo "medians of $rounds runs:"
awk '
function median(list,   n, xs, i, j, x) {
  n = split(substr(list, 2), xs, " ")
  for (i = 2; i <= n; i++) { x = xs[i] + 0; for (j = i - 1; j >= 1 && xs[j] + 0 > x; j--) xs[j+1] = xs[j]; xs[j+1] = x }
  return (n % 2) ? xs[(n+1)/2] : (xs[n/2] + xs[n/2+1]) / 2
}
# A line: [roundN] name iterations value ns/op value unit …
{
  round = ""
  if ($1 ~ /^round/) { round = $1; $0 = substr($0, length($1) + 2) }
  name = $1; sub(/-[0-9]+$/, "", name)
  for (i = 5; i < NF; i += 2) {
    key = name " " $(i+1)
    v[key] = v[key] " " $i
    if (round != "") { value[round, key] = $i; rounds[round] = 1 }
  }
}
END {
  for (key in v) printf "%-64s %10.1f\n", key, median(v[key])
  for (key in v) if (key ~ /audited=true /) {
    split(key, parts, " ")
    base = key; sub(/audited=true /, "audited=false ", base)
    ratios = ""
    for (r in rounds) if ((r, key) in value && (r, base) in value) ratios = ratios " " sprintf("%.3f", value[r, key] / value[r, base])
    if (ratios != "") printf "%-64s %10.3f audited/unaudited %s (pairs:%s)\n", substr(parts[1], 1, length(parts[1]) - 13), median(ratios), parts[2], ratios
  }
}' "$out" | sort

#!/usr/bin/env bash
# Memory bandwidth of this machine (STREAM-like triad) plus the CPU facts the
# planner needs, as one JSON object: the "machine" object of `pivot bench --json`
# (see include/pivot/plan.h) and the input of `pivot plan --chip host --machine FILE`.
#
# usage: bench/stream.sh [n_elements] [n_reps] > machine.json
# Threads: OMP_NUM_THREADS (default: every online CPU).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cc -O2 -march=native -fopenmp -o "$work/stream" "$here/stream.c"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
result="$("$work/stream" "${1:-16777216}" "${2:-10}")"
model="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/"/\\"/g')"
mhz="$(grep -m1 '^cpu MHz' /proc/cpuinfo | cut -d: -f2- | tr -d ' ')"
flags="$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2-)"
has() { [[ " $flags " == *" $1 "* ]] && echo true || echo false; }
mem_kb="$(grep -m1 '^MemTotal' /proc/meminfo | awk '{print $2}')"
triad="$(sed -E 's/.*"triad_gbs": ([0-9.]+).*/\1/' <<<"$result")"
cat <<JSON
{"cpu_model": "$model", "n_cpus": $(nproc), "cpu_mhz": ${mhz:-null},
 "avx2": $(has avx2), "fma": $(has fma), "avx512f": $(has avx512f), "amx_bf16": $(has amx_bf16),
 "mem_total_bytes": $((mem_kb * 1024)), "mem_bw_gbs": $triad,
 "stream": $result,
 "measured_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "tool": "bench/stream.sh"}
JSON

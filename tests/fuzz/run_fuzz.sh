#!/usr/bin/env bash
# run_fuzz.sh FUZZER SEED_DIR SECONDS: fuzz from the committed seeds for SECONDS
# (a scratch copy of the corpus, so the repo stays clean); non-zero on any finding.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
"$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work" 2>&1 | tail -n 25

#!/usr/bin/env bash
# build.sh [DIR] [cmake args...]: configure and build pivot (Release, warnings as
# errors) into DIR (default build/). Binary: DIR/bin/pivot.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
[ -f "$dir/CMakeCache.txt" ] && gen=()  # keep the generator of an existing build dir
cmake -S . -B "$dir" "${gen[@]}" -DPIVOT_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"

#!/usr/bin/env bash
# test.sh: set up, build and run every test (what CI runs, via .ci/run).
#  1. system packages + .venv (scripts/setup.sh), real models (scripts/get-models.sh)
#  2. ASan+UBSan build (clang): unit, conformance, CLI and fuzz tests (the slow
#     30-prompt generation golden runs in the Release stage only)
#  3. Release build (-Werror): every test; its ctest summary is the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get-models.sh all
export PIVOT_REQUIRE_MODELS=1  # model-dependent tests fail, not skip, if a model is missing

echo "== ASan/UBSan build (clang) =="
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DPIVOT_SANITIZE=ON -DPIVOT_FUZZ=ON -DPIVOT_CUDA=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2 -E generation_golden

echo "== Release build =="
scripts/build.sh build
ctest --test-dir build --output-on-failure -j2

#!/usr/bin/env bash
# quickstart.sh: set up, build, fetch the default model and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get-models.sh smollm2
scripts/build.sh build
model=$(scripts/get-models.sh --print-path smollm2)
build/bin/pivot inspect "$model"

#!/usr/bin/env bash
# quickstart.sh: set up, build, fetch the default model and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get-models.sh smollm2
scripts/build.sh build
model=$(scripts/get-models.sh --print-path smollm2)
build/bin/pivot run -m "$model" --chat -p "What is the capital of France?"

"""Shared helpers for the Python-driven tests (run by ctest with the repo's .venv)."""
import argparse
import os
import sys
from pathlib import Path

SKIP = 77  # ctest SKIP_RETURN_CODE
ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
}


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--pivot", required=True, help="path to the pivot binary")
    return p.parse_args()


def skip(why):
    """Skip, unless CI demands everything be present (PIVOT_REQUIRE_MODELS=1)."""
    if os.environ.get("PIVOT_REQUIRE_MODELS") == "1":
        print(f"FAIL: {why} (PIVOT_REQUIRE_MODELS=1)")
        sys.exit(1)
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def model_path(name):
    d = Path(os.environ.get("PIVOT_MODELS", Path.home() / ".cache/pivot/models"))
    p = d / MODELS[name]
    if not p.exists():
        skip(f"{p} not found; run scripts/get-models.sh")
    return p

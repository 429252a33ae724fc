"""Logits and greedy continuations of Gemma 3 270M Q4_K_M against the transformers
goldens in tests/golden/generation-gemma3 (made by
tests/golden/generation/gen_generation.py --golden tests/golden/generation-gemma3),
with test_generation_golden.py's checks and tolerances: relative L2 <= 1e-3
(reference) / 1e-2 (cpu) at every position, greedy agreement >= 28/30, llama.cpp's
agreement with transformers reported, `pivot run --temp 0` end to end. The
long_doc prompt (> 512 tokens) exercises the sliding window of the local layers.
`reference` is slow on this model: it runs every sixth prompt
(PIVOT_GOLDEN_FULL=1 runs all).
"""
from common import ROOT
from test_generation_golden import main

if __name__ == "__main__":
    main("gemma3", ROOT / "tests/golden/generation-gemma3", ref_every=6,
         e2e=("en_story", "code_c"))

"""Writes gguf-py's GGML type table (id name block_size type_size per line) to
ggml_types.txt, the oracle for tests/unit/ggml_type_test.cc.
Run: .venv/bin/python tests/golden/ggml_types/gen.py"""
from pathlib import Path

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

out = Path(__file__).with_name("ggml_types.txt")
lines = [f"{t.value} {t.name} {GGML_QUANT_SIZES[t][0]} {GGML_QUANT_SIZES[t][1]}"
         for t in GGMLQuantizationType]
out.write_text("\n".join(lines) + "\n")

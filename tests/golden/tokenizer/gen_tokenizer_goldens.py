#!/usr/bin/env python3
"""Token-id goldens from llama.cpp (PyPI llama-cpp-python) for tests/unit/tokenizer_golden_test.cc.

Run with the oracle venv (kept apart from .venv because it builds llama.cpp):
    python3 -m venv .venv-oracle && .venv-oracle/bin/pip install llama-cpp-python gguf numpy
    .venv-oracle/bin/python tests/golden/tokenizer/gen_tokenizer_goldens.py

Input: corpus.jsonl beside this script, one case per line: {"id", "cat", "text"} or
{"id", "cat", "hex"} (bytes that are not valid UTF-8). Output: goldens.jsonl, one line per
(model, mode): {"model", "file", "mode", "add_special", "parse_special", "ids": [[...] or
null per case]}. Mode "plain" (add_special and parse_special off) covers every case;
mode "special" (both on) the cases that contain '<' or are in category "special".
Models: the two real models (cache dir ${PIVOT_MODELS:-~/.cache/pivot/models}, see
scripts/get-models.sh) and every vocabulary in tests/data/tokenizer-vectors.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import llama_cpp
from llama_cpp import Llama

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
MODELS_DIR = Path(os.environ.get("PIVOT_MODELS", Path.home() / ".cache/pivot/models"))
MODELS = {
    "smollm2": ("models", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3": ("models", "gemma-3-270m-q4_k_m.gguf"),
}
for v in ["gpt-2", "llama-spm", "phi-3", "deepseek-llm", "mpt", "starcoder", "baichuan"]:
    MODELS[v] = ("vocab", f"ggml-vocab-{v}.gguf")


def path_of(kind, name):
    if kind == "models":
        return MODELS_DIR / name
    return ROOT / "tests/data/tokenizer-vectors" / name


def case_bytes(case):
    return bytes.fromhex(case["hex"]) if "hex" in case else case["text"].encode("utf-8")


def wants_special(case):
    return case["cat"] == "special" or b"<" in case_bytes(case)


def main():
    corpus_path = HERE / "corpus.jsonl"
    corpus = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").split("\n") if line]
    assert [c["id"] for c in corpus] == list(range(len(corpus))), "ids must be 0..n-1"
    lines = [json.dumps({
        "generator": "llama-cpp-python " + llama_cpp.__version__,
        "corpus_sha256": hashlib.sha256(corpus_path.read_bytes()).hexdigest(),
        "cases": len(corpus),
    })]
    for model, (kind, name) in MODELS.items():
        path = path_of(kind, name)
        if not path.exists():
            sys.exit(f"{path} not found (scripts/get-models.sh)")
        llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        for mode, on in (("plain", False), ("special", True)):
            ids = []
            for c in corpus:
                if on and not wants_special(c):
                    ids.append(None)
                    continue
                ids.append(llm.tokenize(case_bytes(c), add_bos=on, special=on))
            lines.append(json.dumps({"model": model, "file": f"{kind}/{name}", "mode": mode,
                                     "add_special": on, "parse_special": on, "ids": ids},
                                    separators=(",", ":")))
        print(f"{model}: done", file=sys.stderr)
        del llm
    (HERE / "goldens.jsonl").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

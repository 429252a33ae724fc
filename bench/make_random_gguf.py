#!/usr/bin/env python3
"""Writes a random-weight GGUF with a real model's shapes, for benchmarks.

Weights are N(0, 0.02) (norm weights N(1, 0.02)), never zeros, quantized with the
`gguf` package's reference quantizers, so decode speed and bytes per token match a
real file of that shape and type. The tokenizer is GPT-2's byte-level BPE (from
tests/data/tokenizer-vectors/ggml-vocab-gpt-2.gguf) padded with unused "<|reserved_N|>" tokens up to
the shape's vocabulary size, so pivot and llama.cpp both load and run the file.

Shapes (from each model's config.json on Hugging Face):
  llama-3.2-1b   hidden 2048, 16 layers, 32 heads / 8 KV heads, ffn 8192, vocab 128256,
                 tied embeddings, rope theta 500000
  llama-3.1-8b   hidden 4096, 32 layers, 32 heads / 8 KV heads, ffn 14336, vocab 128256,
                 rope theta 500000
  llama-tiny     hidden 256, 4 layers, 8 heads / 2 KV heads, ffn 704 (tests)

Usage (needs only numpy + gguf, both in .venv):
  .venv/bin/python bench/make_random_gguf.py --shape llama-3.2-1b --type Q4_0 -o /tmp/l1b-q4_0.gguf
Types: F32, F16, BF16, Q8_0, Q4_0, Q4_1 (norms stay F32, as converters write them).
--distinct-layers N draws N layers of random data and repeats them (default: every
layer distinct); an 8B file takes minutes to quantize in numpy, N=2 cuts that ~16x.
Deterministic for a given --seed, numpy and gguf version.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import gguf

ROOT = Path(__file__).resolve().parent.parent
VOCAB = ROOT / "tests/data/tokenizer-vectors/ggml-vocab-gpt-2.gguf"

SHAPES = {
    "llama-3.2-1b": dict(n_embd=2048, n_layer=16, n_head=32, n_head_kv=8, n_ff=8192,
                         n_vocab=128256, tied=True, rope_base=500000.0, ctx=131072),
    "llama-3.1-8b": dict(n_embd=4096, n_layer=32, n_head=32, n_head_kv=8, n_ff=14336,
                         n_vocab=128256, tied=False, rope_base=500000.0, ctx=131072),
    "llama-tiny": dict(n_embd=256, n_layer=4, n_head=8, n_head_kv=2, n_ff=704, n_vocab=50304,
                       tied=False, rope_base=10000.0, ctx=4096),
}
TYPES = {t: getattr(gguf.GGMLQuantizationType, t)
         for t in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"]}


def tokenizer_fields(n_vocab):
    """GPT-2's tokens, types and merges, padded to n_vocab with unused tokens."""
    r = gguf.GGUFReader(str(VOCAB))

    f = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    f = r.fields["tokenizer.ggml.token_type"]
    types = [int(f.parts[i][0]) for i in f.data]
    f = r.fields["tokenizer.ggml.merges"]
    merges = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    if n_vocab < len(tokens):
        sys.exit(f"vocab {n_vocab} < GPT-2's {len(tokens)} tokens")
    pad = n_vocab - len(tokens)
    tokens += [f"<|reserved_{i}|>" for i in range(pad)]
    types += [gguf.TokenType.UNUSED] * pad
    eos = int(r.fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    return tokens, types, merges, eos


def tensor_list(s):
    """(name, shape as numpy (rows, cols), is_norm) for every tensor, in file order."""
    d, kv = s["n_embd"], s["n_embd"] // s["n_head"] * s["n_head_kv"]
    out = [("token_embd.weight", (s["n_vocab"], d), False)]
    for i in range(s["n_layer"]):
        p = f"blk.{i}."
        out += [(p + "attn_norm.weight", (d,), True), (p + "attn_q.weight", (d, d), False),
                (p + "attn_k.weight", (kv, d), False), (p + "attn_v.weight", (kv, d), False),
                (p + "attn_output.weight", (d, d), False), (p + "ffn_norm.weight", (d,), True),
                (p + "ffn_gate.weight", (s["n_ff"], d), False),
                (p + "ffn_up.weight", (s["n_ff"], d), False),
                (p + "ffn_down.weight", (d, s["n_ff"]), False)]
    out.append(("output_norm.weight", (d,), True))
    if not s["tied"]:
        out.append(("output.weight", (s["n_vocab"], d), False))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--type", choices=sorted(TYPES), required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--distinct-layers", type=int, default=0,
                    help="layers of distinct random data, repeated (0: all distinct)")
    a = ap.parse_args()
    s, qtype = SHAPES[a.shape], TYPES[a.type]
    rng = np.random.default_rng(a.seed)
    tokens, types, merges, eos = tokenizer_fields(s["n_vocab"])

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(f"random {a.shape} {a.type}")
    w.add_file_type({"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "BF16": 32}[a.type])
    w.add_context_length(s["ctx"])
    w.add_embedding_length(s["n_embd"])
    w.add_block_count(s["n_layer"])
    w.add_feed_forward_length(s["n_ff"])
    w.add_head_count(s["n_head"])
    w.add_head_count_kv(s["n_head_kv"])
    w.add_rope_dimension_count(s["n_embd"] // s["n_head"])
    w.add_rope_freq_base(s["rope_base"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(s["n_vocab"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(eos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(False)

    cache = {}

    def data(name, shape, is_norm):
        layer = int(name.split(".")[1]) if name.startswith("blk.") else -1
        key = None
        if a.distinct_layers > 0 and layer >= a.distinct_layers:
            key = name.replace(f"blk.{layer}.", f"blk.{layer % a.distinct_layers}.")
        if key in cache:
            return cache[key]
        x = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        if is_norm:
            return x + np.float32(1)
        q = x if qtype == gguf.GGMLQuantizationType.F32 else gguf.quants.quantize(x, qtype)
        if a.distinct_layers > 0 and 0 <= layer < a.distinct_layers:
            cache[name] = q
        return q

    tensors = tensor_list(s)
    # Tensor infos first (shapes and byte sizes are known without the data).
    for name, shape, is_norm in tensors:
        t = gguf.GGMLQuantizationType.F32 if is_norm else qtype
        if t == gguf.GGMLQuantizationType.F32:
            w.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
        elif t == gguf.GGMLQuantizationType.F16:
            w.add_tensor_info(name, shape, np.dtype(np.float16), int(np.prod(shape)) * 2)
        else:  # stored as bytes: gguf wants the byte shape
            b = gguf.quants.quant_shape_to_byte_shape(shape, t)
            w.add_tensor_info(name, b, np.dtype(np.uint8), int(np.prod(b)), raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    t0 = time.time()
    for k, (name, shape, is_norm) in enumerate(tensors):
        w.write_tensor_data(data(name, shape, is_norm))
        print(f"\r{a.shape} {a.type}: tensor {k + 1}/{len(tensors)} ({time.time() - t0:.0f} s)",
              end="", file=sys.stderr, flush=True)
    w.close()
    print(f"\nwrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

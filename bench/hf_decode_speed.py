#!/usr/bin/env python3
"""Batch-1 greedy decode speed of Hugging Face transformers (eager attention,
bf16) on a random-weight Llama of a preset shape: the baseline that
scripts/gpu-check.sh divides pivot's tokens/s by. Same shapes as
bench/make_random_gguf.py (--shape); weights are random (speed does not depend on them).

Prints one JSON line: {"preset", "device", "dtype", "n_tokens", "tokens_per_s", ...}.
Tokens/s counts generated tokens (each one forward pass) over wall time, after
one short warm-up generation, like `pivot bench`'s tg.

    python3 bench/hf_decode_speed.py --shape llama-3.1-8b --tokens 64
"""
import argparse
import json
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {  # as bench/make_random_gguf.py's SHAPES (which needs gguf to import)
    "llama-3.2-1b": dict(n_embd=2048, n_layer=16, n_head=32, n_head_kv=8, n_ff=8192,
                         n_vocab=128256, tied=True, rope_base=500000.0),
    "llama-3.1-8b": dict(n_embd=4096, n_layer=32, n_head=32, n_head_kv=8, n_ff=14336,
                         n_vocab=128256, tied=False, rope_base=500000.0),
    "llama-tiny": dict(n_embd=256, n_layer=4, n_head=8, n_head_kv=2, n_ff=704, n_vocab=50304,
                       tied=False, rope_base=10000.0),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), default="llama-3.1-8b")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    p = SHAPES[a.shape]
    cfg = LlamaConfig(vocab_size=p["n_vocab"], hidden_size=p["n_embd"],
                      intermediate_size=p["n_ff"], num_hidden_layers=p["n_layer"],
                      num_attention_heads=p["n_head"], num_key_value_heads=p["n_head_kv"],
                      max_position_embeddings=4096, rms_norm_eps=1e-5,
                      rope_theta=p["rope_base"], tie_word_embeddings=p["tied"],
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    t0 = time.time()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(a.device):
        model = LlamaForCausalLM(cfg)
    torch.set_default_dtype(torch.float32)
    model.eval()
    init_s = time.time() - t0
    ids = torch.tensor([[1]], device=a.device)

    def gen(n):
        with torch.no_grad():
            model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           pad_token_id=0)
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    gen(4)  # warm-up
    t0 = time.time()
    gen(a.tokens)
    dt = time.time() - t0
    print(json.dumps({"shape": a.shape, "device": a.device,
                      "gpu": torch.cuda.get_device_name() if a.device.startswith("cuda") else "",
                      "dtype": "bf16", "attn": model.config._attn_implementation,
                      "transformers": transformers.__version__, "torch": torch.__version__,
                      "n_tokens": a.tokens, "tokens_per_s": a.tokens / dt, "init_s": init_s}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a small random-weight GGUF of the `qwen2` or `qwen3` architecture.

No real Qwen weights can be downloaded here, so the Qwen tests run on models with
the real architectures' structure and scaled-down shapes (4 layers, hidden 256,
8 query heads : 2 KV heads, FFN 704; Qwen3 with head size 64 != 256 / 8), random
weights from a fixed seed, and a small byte-level BPE tokenizer trained on the
text below, with Qwen's special tokens and ChatML chat template. Output is
byte-for-byte deterministic for fixed numpy and gguf versions: the goldens'
meta.json records the sha256 of each file and the test checks it.

Needs only numpy and gguf (CI's .venv). Usage:
    .venv/bin/python tests/golden/qwen/make_random_gguf.py --arch qwen3 --out qwen3.gguf [--q8]
--q8 stores the 2-D weights (matmuls and token_embd) as Q8_0 instead of F32.

Layout facts (as llama.cpp's convert_hf_to_gguf.py writes Qwen2/Qwen3): tensor
names blk.N.attn_q.weight etc.; Wq/Wk are NOT permuted (these architectures use
NeoX-style RoPE); a numpy array [out][in] is a GGUF tensor with ne = {in, out}.
"""
import argparse
import re
from pathlib import Path

import numpy as np
import gguf

ARCHS = ("qwen2", "qwen3")

# Scaled-down shapes; rope base and epsilon are the real models' values.
CONFIG = {
    "qwen2": dict(n_layer=4, n_embd=256, n_head=8, n_head_kv=2, head_dim=32, n_ff=704,
                  rope_theta=1e6, rms_eps=1e-6, n_ctx=4096, tied=True, qkv_bias=True,
                  qk_norm=False, embd_std=0.05, seed=2),
    "qwen3": dict(n_layer=4, n_embd=256, n_head=8, n_head_kv=2, head_dim=64, n_ff=704,
                  rope_theta=1e6, rms_eps=1e-6, n_ctx=4096, tied=False, qkv_bias=False,
                  qk_norm=True, embd_std=0.5, seed=3),
}

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
N_MERGES = 500  # at most (training stops when no pair occurs twice: 151 here); vocab 410

# Qwen2-Instruct's ChatML template (default system prompt when none is given).
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

CORPUS = """\
The quick brown fox jumps over the lazy dog. A language model reads a sequence of tokens
and predicts the next one. Tokens are pieces of words: the tokenizer splits text into
pre-tokens with a regular expression, then merges byte pairs in the order it learned them.
Once upon a time, in a small town by the sea, there lived an old fisherman and his daughter.
Every morning they walked to the harbour, talked with the other fishermen, and mended their
nets in the sun. The weather was changing, and the winter would be long and cold.
What is the capital of France? The capital of France is Paris. What is the capital of
Germany? The capital of Germany is Berlin. How many days are there in a week? Seven.
int main(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) printf("%s\\n", argv[i]);
    return 0;
}
def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
Attention computes a weighted average of the values, with weights given by the softmax of
the scaled dot products of the queries and the keys. Rotary position embeddings rotate pairs
of dimensions of each query and key by an angle that grows with the position in the sequence.
The numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14159 are written digit by digit.
I'm sure they'll say it's fine; we've seen what you'd do and we don't think you're wrong.
"""


def bytes_to_unicode():
    """GPT-2's byte -> printable character table used by byte-level BPE vocabularies."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def train_bpe(text, n_merges):
    """Byte-pair merges learned greedily from `text` (most frequent pair first, ties by
    the pair's text), within pre-tokens split roughly as Qwen2's regex does."""
    b2u = bytes_to_unicode()
    pre = re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[^\r\n\w]?[A-Za-z]+|\d| ?[^\s\w]+[\r\n]*"
                     r"|\s*[\r\n]+|\s+(?!\S)|\s+", text)
    words = {}
    for w in pre:
        key = tuple(b2u[b] for b in w.encode("utf-8"))
        words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w, c in words.items():
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + c
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        if counts[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def tokenizer():
    """(tokens, token types, merges) of the byte-level BPE vocabulary."""
    b2u = bytes_to_unicode()
    merges = train_bpe(CORPUS, N_MERGES)
    tokens = [b2u[b] for b in range(256)] + [a + b for a, b in merges] + SPECIALS
    types = [gguf.TokenType.NORMAL] * (len(tokens) - len(SPECIALS)) + \
            [gguf.TokenType.CONTROL] * len(SPECIALS)
    return tokens, types, [f"{a} {b}" for a, b in merges]


def weights(arch, n_vocab):
    """name -> float32 array in Hugging Face layout ([out][in]), drawn in a fixed order."""
    c = CONFIG[arch]
    rng = np.random.default_rng(c["seed"])
    E, H, Hkv, D, F = c["n_embd"], c["n_head"], c["n_head_kv"], c["head_dim"], c["n_ff"]

    def normal(shape, std, mean=0.0):
        return (mean + std * rng.standard_normal(shape, dtype=np.float64)).astype(np.float32)

    # Scales chosen so that every part matters: q/k large enough for peaked attention
    # (so RoPE and the Q/K layout show in the logits), biases and norm weights non-trivial;
    # a small tied embedding, else each token's logits favour the token itself.
    w = {"token_embd.weight": normal((n_vocab, E), c["embd_std"])}
    for i in range(c["n_layer"]):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = normal((E,), 0.1, 1.0)
        w[p + "attn_q.weight"] = normal((H * D, E), 0.1)
        w[p + "attn_k.weight"] = normal((Hkv * D, E), 0.1)
        w[p + "attn_v.weight"] = normal((Hkv * D, E), 0.05)
        if c["qkv_bias"]:
            w[p + "attn_q.bias"] = normal((H * D,), 0.5)
            w[p + "attn_k.bias"] = normal((Hkv * D,), 0.5)
            w[p + "attn_v.bias"] = normal((Hkv * D,), 0.1)
        if c["qk_norm"]:
            w[p + "attn_q_norm.weight"] = normal((D,), 0.3, 1.5)
            w[p + "attn_k_norm.weight"] = normal((D,), 0.3, 1.5)
        w[p + "attn_output.weight"] = normal((E, H * D), 0.05)
        w[p + "ffn_norm.weight"] = normal((E,), 0.1, 1.0)
        w[p + "ffn_gate.weight"] = normal((F, E), 0.05)
        w[p + "ffn_up.weight"] = normal((F, E), 0.05)
        w[p + "ffn_down.weight"] = normal((E, F), 0.05)
    w["output_norm.weight"] = normal((E,), 0.1, 1.0)
    if not c["tied"]:
        w["output.weight"] = normal((n_vocab, E), 0.05)
    return w


def write(arch, out, q8=False):
    """Writes the GGUF to `out`; returns the float32 weights the file holds (after Q8_0
    rounding when q8), keyed by GGUF tensor name, in [out][in] layout."""
    if arch not in ARCHS:
        raise SystemExit(f"unknown arch {arch!r} (expected one of {', '.join(ARCHS)})")
    c = CONFIG[arch]
    tokens, types, merges = tokenizer()
    n_vocab = len(tokens)
    w = weights(arch, n_vocab)

    g = gguf.GGUFWriter(str(out), arch)
    g.add_name(f"pivot-random-{arch}{'-q8_0' if q8 else ''}")
    g.add_context_length(c["n_ctx"])
    g.add_embedding_length(c["n_embd"])
    g.add_block_count(c["n_layer"])
    g.add_feed_forward_length(c["n_ff"])
    g.add_head_count(c["n_head"])
    g.add_head_count_kv(c["n_head_kv"])
    if c["head_dim"] != c["n_embd"] // c["n_head"]:
        g.add_key_length(c["head_dim"])
        g.add_value_length(c["head_dim"])
    g.add_rope_freq_base(c["rope_theta"])
    g.add_layer_norm_rms_eps(c["rms_eps"])
    g.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if q8 else gguf.LlamaFileType.ALL_F32)
    g.add_tokenizer_model("gpt2")
    g.add_tokenizer_pre("qwen2")
    g.add_token_list(tokens)
    g.add_token_types(types)
    g.add_token_merges(merges)
    g.add_eos_token_id(tokens.index("<|im_end|>"))
    g.add_pad_token_id(tokens.index("<|endoftext|>"))
    g.add_bos_token_id(tokens.index("<|endoftext|>"))
    g.add_add_bos_token(False)
    g.add_chat_template(CHAT_TEMPLATE)

    stored = {}
    for name, a in w.items():
        if q8 and a.ndim == 2:
            qa = gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0)
            g.add_tensor(name, qa, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            stored[name] = gguf.quants.dequantize(qa, gguf.GGMLQuantizationType.Q8_0).reshape(a.shape)
        else:
            g.add_tensor(name, a)
            stored[name] = a
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()
    return stored


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True, choices=ARCHS)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--q8", action="store_true", help="Q8_0 matmul weights and token_embd")
    a = p.parse_args()
    write(a.arch, a.out, a.q8)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates the Qwen2 / Qwen3 goldens from Hugging Face transformers (the oracle) on
the random-weight GGUFs of make_random_gguf.py.

Environment: the oracle venv (torch, transformers, gguf, numpy). Run from anywhere:
    .venv-oracle/bin/python tests/golden/qwen/gen_qwen_goldens.py [MODEL...] [--tokenizer-only]
(default: every model of MODELS; naming some regenerates only those). The tokenizer
goldens (meta.json "tokenizer": transformers' Qwen2Tokenizer built from the GGUF's
vocabulary and merges, ids of TOKENIZER_TEXTS with special tokens parsed) are always
refreshed; --tokenizer-only refreshes nothing else.

For each model of MODELS: make_random_gguf.write() writes the GGUF into a temporary
directory; its tensors are read back with gguf's GGUFReader (Q8_0 dequantized by
gguf.quants), mapped by name onto transformers' Qwen2ForCausalLM / Qwen3ForCausalLM,
built from a config with the file's hyper-parameters, in float32 with eager attention.
For each of N_PROMPTS prompts of random token ids (lengths LENGTHS, specials excluded)
it runs 32 greedy steps (pure argmax, EOS not special) with the KV cache, then one
teacher-forced forward over prompt + continuation[:31], whose T = P + 31 rows are
the logits at every prompt position and at each greedy step.

<model>.npz stores, per prompt i (float32 unless said):
    p{i}_tokens    int32 [P + 32]   prompt ids then the 32 greedy ids
    p{i}_n_prompt  int32 scalar     P
    p{i}_fixed     [T, N_FIXED]     logits at the token ids `fixed_ids`
    p{i}_top_ids   int32 [T, N_TOP] the N_TOP largest logits' ids, descending
    p{i}_top_vals  [T, N_TOP]       their values
and once: fixed_ids int32 [N_FIXED] (uniform random ids, seed 4). meta.json records
versions, each GGUF's sha256 (the CI test regenerates the file with CI's numpy and
gguf and checks it) and whether teacher-forced argmax reproduces the greedy ids.
"""
import hashlib
import importlib.metadata
import json
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np
import torch
import transformers
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_random_gguf  # noqa: E402

# name -> (arch, q8)
MODELS = {"qwen2": ("qwen2", False), "qwen3": ("qwen3", False), "qwen3-q8_0": ("qwen3", True)}
N_STEPS = 32
N_FIXED = 128
N_TOP = 16
# 30 prompt lengths: short ones, a few spanning several batches of the CLI's -b, one long.
LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 16, 19, 23, 27, 32, 38, 45, 53, 64, 75, 90,
           107, 128, 150, 180, 215, 257, 300, 420]


TOKENIZER_TEXTS = [
    "The capital of France is Paris.",
    "Hello world!  It's 2024, I'm   here\n\n def f(x):\n\treturn x+1",
    "They'll say we've done what you'd do; don't they?",
    "h\u00e9llo w\u00f6rld \u65e5\u672c\u8a9e \U0001F642 \u00bfqu\u00e9?",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "   leading spaces, trailing spaces   \n\n\n",
    "3.14159 + 1000000 = 1000003.14159",
]


def tokenizer_goldens(path):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    return [{"text": t, "ids": tok.encode(t, add_special_tokens=False)} for t in TOKENIZER_TEXTS]


def read_gguf(path):
    """GGUF tensor name -> float32 array in [out][in] layout, as stored in the file."""
    out = {}
    for t in gguf.GGUFReader(str(path)).tensors:
        a = np.asarray(t.data)
        if t.tensor_type != gguf.GGMLQuantizationType.F32:
            a = gguf.quants.dequantize(a, t.tensor_type)
        out[t.name] = a.astype(np.float32).reshape([int(n) for n in reversed(t.shape)])
    return out


def hf_model(arch, w, n_vocab):
    c = make_random_gguf.CONFIG[arch]
    common = dict(vocab_size=n_vocab, hidden_size=c["n_embd"], intermediate_size=c["n_ff"],
                  num_hidden_layers=c["n_layer"], num_attention_heads=c["n_head"],
                  num_key_value_heads=c["n_head_kv"], max_position_embeddings=c["n_ctx"],
                  rope_theta=c["rope_theta"], rms_norm_eps=c["rms_eps"],
                  tie_word_embeddings=c["tied"], attn_implementation="eager")
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(use_sliding_window=False, **common))
    else:
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=c["head_dim"], attention_bias=False,
                                             **common))
    names = {"token_embd.weight": "model.embed_tokens.weight",
             "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
    per_layer = {"attn_norm.weight": "input_layernorm.weight",
                 "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
                 "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
                 "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
                 "attn_q_norm.weight": "self_attn.q_norm.weight",
                 "attn_k_norm.weight": "self_attn.k_norm.weight",
                 "attn_output.weight": "self_attn.o_proj.weight",
                 "ffn_norm.weight": "post_attention_layernorm.weight",
                 "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
                 "ffn_down.weight": "mlp.down_proj.weight"}
    sd = {}
    for name, a in w.items():
        if name.startswith("blk."):
            _, i, rest = name.split(".", 2)
            sd[f"model.layers.{i}.{per_layer[rest]}"] = torch.from_numpy(a.copy())
        else:
            sd[names[name]] = torch.from_numpy(a.copy())
    if c["tied"]:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    model.load_state_dict(sd, strict=True)  # every parameter comes from the file
    return model.float().eval()


def goldens(model, prompts, fixed_ids):
    arrays, meta = {"fixed_ids": fixed_ids}, []
    for i, ids in enumerate(prompts):
        with torch.no_grad():
            out = model(torch.tensor([ids]), use_cache=True)
            past, cont, logits = out.past_key_values, [], out.logits[0, -1]
            for step in range(N_STEPS):
                t = int(torch.argmax(logits))
                cont.append(t)
                if step + 1 == N_STEPS:
                    break
                out = model(torch.tensor([[t]]), past_key_values=past, use_cache=True)
                past, logits = out.past_key_values, out.logits[0, -1]
            full = model(torch.tensor([ids + cont[:-1]])).logits[0].float().numpy()
        top = np.argsort(-full, axis=1, kind="stable")[:, :N_TOP].astype(np.int32)
        arrays[f"p{i}_tokens"] = np.array(ids + cont, dtype=np.int32)
        arrays[f"p{i}_n_prompt"] = np.array(len(ids), dtype=np.int32)
        arrays[f"p{i}_fixed"] = full[:, fixed_ids].astype(np.float32)
        arrays[f"p{i}_top_ids"] = top
        arrays[f"p{i}_top_vals"] = np.take_along_axis(full, top, axis=1).astype(np.float32)
        tf = full[len(ids) - 1:].argmax(axis=1).tolist()
        sorted_vals = -np.sort(-full[len(ids) - 1:], axis=1)
        meta.append({"n_prompt": len(ids), "continuation_ids": cont,
                     "teacher_forced_matches_incremental": tf == cont,
                     "min_greedy_margin": float((sorted_vals[:, 0] - sorted_vals[:, 1]).min())})
        print(f"  p{i:02d} P={len(ids):4d} margin {meta[-1]['min_greedy_margin']:.4f} "
              f"{cont[:8]}", file=sys.stderr)
    return arrays, meta


def main():
    tokenizer_only = "--tokenizer-only" in sys.argv
    selected = [a for a in sys.argv[1:] if a != "--tokenizer-only"]
    selected = selected or ([] if tokenizer_only else list(MODELS))
    for name in selected:
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r} (expected some of {', '.join(MODELS)})")
    torch.manual_seed(0)
    tokens, types, _ = make_random_gguf.tokenizer()
    n_vocab = len(tokens)
    normal = np.array([i for i, t in enumerate(types) if t == gguf.TokenType.NORMAL])
    rng = np.random.default_rng(7)
    prompts = [rng.choice(normal, size=n).tolist() for n in LENGTHS]
    fixed_ids = np.sort(np.random.default_rng(4).choice(n_vocab, size=N_FIXED, replace=False))
    old = json.loads((HERE / "meta.json").read_text()) if (HERE / "meta.json").exists() else {}
    meta = {"torch": torch.__version__, "transformers": transformers.__version__,
            "numpy": np.__version__, "gguf": importlib.metadata.version("gguf"),
            "n_steps": N_STEPS, "models": old.get("models", {})}
    with tempfile.TemporaryDirectory() as tmp:
        for name in selected:
            arch, q8 = MODELS[name]
            path = Path(tmp) / f"{name}.gguf"
            make_random_gguf.write(arch, path, q8)
            w = read_gguf(path)
            print(f"{name}: {path.stat().st_size} bytes", file=sys.stderr)
            arrays, pm = goldens(hf_model(arch, w, n_vocab), prompts, fixed_ids.astype(np.int32))
            np.savez_compressed(HERE / f"{name}.npz", **arrays)
            meta["models"][name] = {"arch": arch, "q8_0": q8, "n_vocab": n_vocab,
                                    "gguf_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                    "prompts": pm}
        path = Path(tmp) / "tokenizer.gguf"
        make_random_gguf.write("qwen3", path)
        meta["tokenizer"] = tokenizer_goldens(path)
    meta["models"] = {k: meta["models"][k] for k in MODELS if k in meta["models"]}
    (HERE / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()

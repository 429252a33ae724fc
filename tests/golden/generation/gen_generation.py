#!/usr/bin/env python3
"""Generates the generation goldens of one model from Hugging Face transformers (the
oracle) and, when llama-cpp-python is installed, llama.cpp: SmolLM2-135M-Instruct Q4_1
in tests/golden/generation (the default), Gemma 3 270M Q4_K_M in
tests/golden/generation-gemma3 (--golden DIR). DIR/prompts.json names the model file
(in the model cache) and holds the prompts; the outputs go to DIR.

Environment: the oracle venv, `.venv-oracle` (pip install torch transformers accelerate
gguf numpy sentencepiece protobuf llama-cpp-python). Run from anywhere:
    .venv-oracle/bin/python tests/golden/generation/gen_generation.py
    .venv-oracle/bin/python tests/golden/generation/gen_generation.py \
        --golden tests/golden/generation-gemma3

For each prompt of prompts.json: the HF tokenizer (built from the same GGUF) gives the
prompt ids, with BOS first exactly when the GGUF says tokenizer.ggml.add_bos_token
(SmolLM2: false, no BOS; Gemma 3: true); transformers, loading the GGUF dequantized to
float32, runs 32 greedy steps (pure argmax, EOS not special) and then one
teacher-forced forward over prompt + continuation[:31], whose T = P + 31 rows are the
logits at every prompt position and at each greedy step.

Full logits (T x n_vocab floats) are too big to commit, so goldens.npz stores, per
prompt i (float32 unless said):
    p{i}_tokens    int32 [P + 32]   prompt ids then the 32 greedy ids
    p{i}_n_prompt  int32 scalar     P
    p{i}_fixed     [T, 1024]        logits at the token ids `fixed_ids`
    p{i}_top_ids   int32 [T, 32]    the 32 largest logits' ids, descending
    p{i}_top_vals  [T, 32]          their values
and once: fixed_ids int32 [1024] (uniform random ids, seed 4). The test compares
pivot's logits at the union of those entries by relative L2 error per position.
meta.json records versions, the model's sha256, the transformers config facts the
architecture depends on, llama.cpp's greedy continuations and llama.cpp's teacher-forced
accuracy against these goldens (llama_cpp_teacher_forced: max relative L2, first
differing greedy step), the yardstick for pivot's 8-bit activation mode.
"""
import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = Path(__file__).resolve().parent  # the default --golden
N_STEPS = 32
N_FIXED = 1024
N_TOP = 32


def model_dir():
    return Path(os.environ.get("PIVOT_MODELS", Path.home() / ".cache/pivot/models"))


def llamacpp_continuations(path, token_lists):
    """Greedy continuations from llama.cpp on the same prompt ids, or None."""
    try:
        from llama_cpp import Llama
    except ImportError:
        print("llama-cpp-python not installed: no llama.cpp comparison", file=sys.stderr)
        return None
    n_ctx = max(2048, max(len(ids) for ids in token_lists) + N_STEPS)
    llm = Llama(model_path=str(path), n_ctx=n_ctx, n_batch=512, logits_all=True,
                verbose=False, seed=0, n_threads=os.cpu_count())
    out = []
    for ids in token_lists:
        llm.reset()
        llm.eval(ids)
        cont = []
        for _ in range(N_STEPS):
            logits = np.asarray(llm.scores[llm.n_tokens - 1])
            t = int(np.argmax(logits))
            cont.append(t)
            llm.eval([t])
        out.append(cont)
    return out


def llamacpp_teacher_forced(path, g, n_prompts):
    """llama.cpp's own accuracy against the transformers goldens, per prompt: its
    teacher-forced logits over prompt + continuation[:31] (one batch, f32 KV cache so
    only its 8-bit activation quantization differs from f32 math) compared exactly as
    tests/py/test_generation_golden.py compares pivot: (max relative L2 over the
    positions, first greedy step whose argmax differs or None). The test holds pivot's
    q8 activation mode to this accuracy. None without llama-cpp-python."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    sys.path.insert(0, str(HERE.parents[1] / "py"))
    from test_generation_golden import compare
    n_max = max(len(g[f"p{i}_tokens"]) for i in range(n_prompts))
    llm = Llama(model_path=str(path), n_ctx=max(2048, n_max), n_batch=n_max, n_ubatch=512,
                logits_all=True, verbose=False, seed=0, n_threads=os.cpu_count(),
                type_k=0, type_v=0, flash_attn=False)  # 0: GGML_TYPE_F32
    out = []
    for i in range(n_prompts):
        ids = g[f"p{i}_tokens"][:-1].tolist()
        llm.reset()
        llm.eval(ids)
        logits = np.asarray(llm.scores[:len(ids)], dtype=np.float32)
        worst, step, _ = compare(logits, g, i, g["fixed_ids"])
        out.append({"max_rel_l2": round(worst, 6), "first_diff_step": step})
    return out


def add_llamacpp(path, meta, token_lists, g):
    lc = llamacpp_continuations(path, token_lists)
    if lc is not None:
        import llama_cpp
        meta["llama_cpp_python"] = llama_cpp.__version__
        for pm, c in zip(meta["prompts"], lc):
            pm["llama_cpp_continuation_ids"] = c
        for pm, tf in zip(meta["prompts"], llamacpp_teacher_forced(path, g, len(token_lists))):
            pm["llama_cpp_teacher_forced"] = tf


def add_bos(path):
    """tokenizer.ggml.add_bos_token of the GGUF (llama.cpp's default: true for SPM)."""
    import gguf
    r = gguf.GGUFReader(str(path))
    f = r.fields.get("tokenizer.ggml.add_bos_token")
    if f is None:
        model = r.fields["tokenizer.ggml.model"]
        return bytes(model.parts[model.data[0]]).decode() == "llama"
    return bool(f.parts[f.data[0]][0])


CONFIG_FACTS = ("layer_types", "sliding_window", "rope_parameters", "query_pre_attn_scalar",
                "final_logit_softcapping", "attn_logit_softcapping", "hidden_activation",
                "hidden_act", "rms_norm_eps", "tie_word_embeddings", "_attn_implementation")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", type=Path, default=HERE, help="golden directory (prompts.json in, "
                    "goldens.npz and meta.json out)")
    ap.add_argument("--llamacpp-only", action="store_true",
                    help="refresh only llama.cpp's part of meta.json")
    opt = ap.parse_args()
    out_dir = opt.golden.resolve()
    spec = json.loads((out_dir / "prompts.json").read_text())
    path = model_dir() / spec["model"]
    if opt.llamacpp_only:
        g = np.load(out_dir / "goldens.npz")
        meta = json.loads((out_dir / "meta.json").read_text())
        ids = [g[f"p{i}_tokens"][:int(g[f"p{i}_n_prompt"])].tolist() for i in range(len(spec["prompts"]))]
        add_llamacpp(path, meta, ids, g)
        (out_dir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
        return
    torch.set_num_threads(os.cpu_count())
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name,
                                                 dtype=torch.float32)
    model.eval()
    bos = [tok.bos_token_id] if add_bos(path) else []
    rng = np.random.default_rng(4)
    vocab = model.config.vocab_size
    fixed_ids = np.sort(rng.choice(vocab, size=N_FIXED, replace=False)).astype(np.int32)
    arrays = {"fixed_ids": fixed_ids}
    prompts_meta = []
    token_lists = []
    for i, p in enumerate(spec["prompts"]):
        ids = bos + tok.encode(p["text"], add_special_tokens=False)
        token_lists.append(ids)
        with torch.no_grad():
            out = model(torch.tensor([ids]), use_cache=True)
            past, cont = out.past_key_values, []
            logits = out.logits[0, -1]
            for step in range(N_STEPS):
                t = int(torch.argmax(logits))
                cont.append(t)
                if step + 1 == N_STEPS:
                    break
                out = model(torch.tensor([[t]]), past_key_values=past, use_cache=True)
                past, logits = out.past_key_values, out.logits[0, -1]
            full = model(torch.tensor([ids + cont[:-1]])).logits[0].float().numpy()
        part = np.argpartition(-full, N_TOP, axis=1)[:, :N_TOP]  # then sorted, ties by id
        part.sort(axis=1)
        order = np.argsort(-np.take_along_axis(full, part, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1).astype(np.int32)
        arrays[f"p{i}_tokens"] = np.array(ids + cont, dtype=np.int32)
        arrays[f"p{i}_n_prompt"] = np.array(len(ids), dtype=np.int32)
        arrays[f"p{i}_fixed"] = full[:, fixed_ids].astype(np.float32)
        arrays[f"p{i}_top_ids"] = top
        arrays[f"p{i}_top_vals"] = np.take_along_axis(full, top, axis=1).astype(np.float32)
        # Teacher-forced argmax must reproduce the incremental greedy ids.
        tf = full[len(ids) - 1:].argmax(axis=1).tolist()
        prompts_meta.append({"name": p["name"], "n_prompt": len(ids),
                             "continuation": tok.decode(cont),
                             "teacher_forced_matches_incremental": tf == cont})
        print(f"{i:2d} {p['name']:14s} P={len(ids):5d} {tok.decode(cont)[:60]!r}", file=sys.stderr)

    np.savez_compressed(out_dir / "goldens.npz", **arrays)
    meta = {
        "model": spec["model"],
        "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "n_steps": N_STEPS,
        "add_bos": bool(bos),
        "config": {k: getattr(model.config, k) for k in CONFIG_FACTS
                   if getattr(model.config, k, None) is not None},
        "prompts": prompts_meta,
    }
    add_llamacpp(path, meta, token_lists, np.load(out_dir / "goldens.npz"))
    (out_dir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()

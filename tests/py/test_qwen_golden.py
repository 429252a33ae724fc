"""Qwen2 / Qwen3 forward passes against transformers, on random-weight models.

tests/golden/qwen/make_random_gguf.py regenerates each GGUF (numpy + gguf only) into
a temporary directory; its sha256 must equal the one in meta.json (the goldens were
computed on that exact file, so numpy/gguf drift is caught here). Then, per model
and backend, `pivot logits` runs each of the 30 random-id prompts + the golden greedy
continuation teacher-forced: the relative L2 error over the stored entries (fixed ids
+ top k) at every position must be <= 1e-3 (reference) or 1e-2 (cpu, --activations f32), and pivot's
argmax must reproduce the golden continuation for >= 28 of 30 prompts (for the Q8_0
file, `reference` runs every third prompt, with at most two differing).
Finally the CLI accepts the files (inspect, run, run --chat, chat, bench), `pivot
tokenize` matches transformers' tokenizer built from the same vocabulary, and an
unsupported architecture is refused at load with a message listing the supported ones.
"""
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np

from common import ROOT, args

GOLDEN = ROOT / "tests/golden/qwen"
sys.path.insert(0, str(GOLDEN))
import make_random_gguf  # noqa: E402

TOL = {"reference": 1e-3, "cpu": 1e-2}
MIN_AGREE = 28


def compare(logits, g, i):
    """(max rel L2 over positions, first differing greedy step or None)."""
    n_prompt = int(g[f"p{i}_n_prompt"])
    tokens = g[f"p{i}_tokens"]
    fixed, top_ids, top_vals = g[f"p{i}_fixed"], g[f"p{i}_top_ids"], g[f"p{i}_top_vals"]
    worst = 0.0
    for t in range(logits.shape[0]):
        ids, first = np.unique(np.concatenate([g["fixed_ids"], top_ids[t]]), return_index=True)
        want = np.concatenate([fixed[t], top_vals[t]])[first]
        worst = max(worst, float(np.linalg.norm(logits[t, ids] - want) / np.linalg.norm(want)))
    for s in range(logits.shape[0] - n_prompt + 1):
        if int(np.argmax(logits[n_prompt - 1 + s])) != int(tokens[n_prompt + s]):
            return worst, s
    return worst, None


def check_model(pivot, name, path, g, n_prompts, q8, tmp):
    errors = []
    for backend in ("cpu", "reference"):
        # The Q8_0 file's reference run adds little over the F32 one (block decoding has
        # its own goldens): every third prompt keeps the test quick under ASan.
        which = range(0, n_prompts, 3) if q8 and backend == "reference" else range(n_prompts)
        agree, worst_all, bad = 0, 0.0, []
        for i in which:
            tokens = g[f"p{i}_tokens"][:-1].astype("<i4")
            tok_file, out_file = Path(tmp) / "tokens.bin", Path(tmp) / "logits.bin"
            tokens.tofile(tok_file)
            subprocess.run([pivot, "logits", "-m", str(path), "--backend", backend, "--tokens",
                            str(tok_file), "--out", str(out_file), "-b", "128",
                            "--activations", "f32"],
                           check=True, capture_output=True)
            logits = np.fromfile(out_file, dtype="<f4").reshape(len(tokens), -1)
            worst, step = compare(logits, g, i)
            worst_all = max(worst_all, worst)
            agree += step is None
            if worst > TOL[backend]:
                bad.append(f"p{i} {worst:.2e}")
            if step is not None:
                print(f"    {name} {backend} p{i}: greedy differs at step {step}")
        print(f"  {name:11s} {backend:9s} max rel L2 {worst_all:.2e} (tol {TOL[backend]:.0e}), "
              f"greedy equal {agree}/{len(which)}")
        if bad:
            errors.append(f"{name} {backend}: relative L2 above {TOL[backend]}: {', '.join(bad)}")
        if agree < len(which) - (30 - MIN_AGREE):  # at most two prompts may differ
            errors.append(f"{name} {backend}: greedy agreement {agree}/{len(which)}")
    return errors


def cli(pivot, *argv, stdin=None):
    return subprocess.run([pivot, *argv], input=stdin, capture_output=True, text=True, timeout=300)


def check_cli(pivot, path, tmp):
    """inspect / run / run --chat / chat / bench accept the file."""
    errors = []
    runs = [("inspect", [str(path)]),
            ("run", ["run", "-m", str(path), "-p", "The capital of France is", "-n", "8",
                     "--temp", "0"]),
            ("run --chat", ["run", "-m", str(path), "-p", "Hello!", "--chat", "-n", "8",
                            "--temp", "0"]),
            ("chat", ["chat", "-m", str(path), "-n", "8", "--temp", "0"]),
            ("bench", ["bench", "-m", str(path), "-p", "16", "-n", "4", "-r", "1",
                       "--no-bandwidth"])]
    for what, argv in runs:
        if what == "inspect":
            argv = ["inspect", *argv]
        r = cli(pivot, *argv, stdin="Hi there\n" if what == "chat" else None)
        if r.returncode != 0:
            errors.append(f"pivot {what} {path.name}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    return errors


def check_tokenizer(pivot, path, cases):
    """`pivot tokenize` on the random models' vocabulary (pre-tokenizer "qwen2") gives
    transformers' Qwen2Tokenizer ids."""
    errors = []
    for c in cases:
        r = cli(pivot, "tokenize", "-m", str(path), "--ids", "--special", c["text"])
        got = [int(t) for t in r.stdout.split()] if r.returncode == 0 else None
        if got != c["ids"]:
            errors.append(f"tokenize {c['text']!r}: pivot {got} != transformers {c['ids']}")
    print(f"  tokenizer: {len(cases) - len(errors)}/{len(cases)} texts equal to transformers")
    return errors


def check_unsupported(pivot, tmp):
    """A file whose general.architecture is not registered (but is otherwise usable: it
    has a tokenizer) is refused at load by run, bench and logits, naming the supported
    architectures."""
    path = Path(tmp) / "mamba.gguf"
    tokens, types, merges = make_random_gguf.tokenizer()
    g = gguf.GGUFWriter(str(path), "mamba")
    g.add_embedding_length(16)
    g.add_block_count(1)
    g.add_tokenizer_model("gpt2")
    g.add_tokenizer_pre("qwen2")
    g.add_token_list(tokens)
    g.add_token_types(types)
    g.add_token_merges(merges)
    g.add_tensor("token_embd.weight", np.zeros((len(tokens), 16), dtype=np.float32))
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()
    (Path(tmp) / "one.bin").write_bytes(np.array([1], dtype="<i4").tobytes())
    errors = []
    for argv in (["run", "-m", str(path), "-p", "hi", "-n", "1"],
                 ["bench", "-m", str(path), "-p", "4", "-n", "1", "-r", "1", "--no-bandwidth"],
                 ["logits", "-m", str(path), "--tokens", str(Path(tmp) / "one.bin"), "--out",
                  str(Path(tmp) / "out.bin")]):
        r = cli(pivot, *argv)
        msg = r.stderr.strip()
        print(f"  unsupported architecture, pivot {argv[0]}: exit {r.returncode}: {msg}")
        ok = r.returncode == 1 and "'mamba' is not supported" in msg and \
            all(a in msg for a in ("llama", "qwen2", "qwen3"))
        if not ok:
            errors.append(f"mamba file, pivot {argv[0]}: expected a refusal listing llama, "
                          f"qwen2, qwen3; got exit {r.returncode}: {msg!r}")
    return errors


def main():
    a = args()
    meta = json.loads((GOLDEN / "meta.json").read_text())
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in meta["models"].items():
            path = Path(tmp) / f"{name}.gguf"
            make_random_gguf.write(m["arch"], path, m["q8_0"])
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            if sha != m["gguf_sha256"]:
                errors.append(f"{name}: regenerated GGUF sha256 {sha} != {m['gguf_sha256']} in "
                              f"meta.json (numpy/gguf versions differ from the goldens': "
                              f"numpy {meta['numpy']}, gguf {meta['gguf']})")
                continue
            g = np.load(GOLDEN / f"{name}.npz")
            errors += check_model(a.pivot, name, path, g, len(m["prompts"]), m["q8_0"], tmp)
            errors += check_cli(a.pivot, path, tmp)
            if name == "qwen3":
                errors += check_tokenizer(a.pivot, path, meta["tokenizer"])
        errors += check_unsupported(a.pivot, tmp)
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

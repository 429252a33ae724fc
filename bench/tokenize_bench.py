#!/usr/bin/env python3
"""Encode throughput (MB/s, one thread) of `pivot tokenize` beside llama.cpp (llama-cpp-python)
on a large English and a large Chinese text. A benchmark, not a test.

    .venv-oracle/bin/python bench/tokenize_bench.py --pivot build/bin/pivot [--model FILE]
        [--english FILE] [--chinese FILE] [--repeat N]

Texts: --english/--chinese files, else vim's English docs and chardet's GB2312/Big5 test
pages (converted to UTF-8) if this machine has them, else a synthesized text from
tests/golden/tokenizer/corpus.jsonl (say which in the output). pivot's time is the encode
call alone (`pivot tokenize --stats`); llama.cpp's is Llama.tokenize() alone. Best of N runs.
"""
import argparse
import json
import re
import subprocess
import time
from pathlib import Path

from llama_cpp import Llama

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path.home() / ".cache/pivot/models"


def english_text():
    docs = sorted(Path("/usr/share/vim").glob("vim*/doc/*.txt"))
    if docs:
        return "".join(p.read_text(errors="replace") for p in docs)[:4_000_000], "vim docs"
    return synth("english"), "corpus (synthesized)"


def chinese_text():
    base = Path("/usr/lib/google-cloud-sdk/platform/gsutil/third_party/chardet/tests")
    parts = []
    for enc, d in (("gb2312", "GB2312"), ("big5", "Big5")):
        for p in sorted((base / d).glob("*")):
            t = p.read_bytes().decode(enc, errors="ignore")
            parts.append(re.sub(r"<[^>]*>", "", t))  # drop HTML markup
    if parts:
        return "".join(parts), "chardet GB2312+Big5 pages"
    return synth("chinese"), "corpus (synthesized)"


def synth(cat):
    lines = (ROOT / "tests/golden/tokenizer/corpus.jsonl").read_text(encoding="utf-8").split("\n")
    texts = [json.loads(l)["text"] for l in lines if l and json.loads(l)["cat"] == cat]
    return "\n".join(texts * (2_000_000 // sum(map(len, texts)) + 1))


def pivot_rate(pivot, model, text, repeat):
    best = 0.0
    for _ in range(repeat):
        r = subprocess.run([pivot, "tokenize", "-m", model, "--ids", "--no-bos", "--stats"],
                           input=text.encode(), capture_output=True, check=True)
        m = re.search(r"([\d.]+) MB/s", r.stderr.decode())
        best = max(best, float(m.group(1)))
    return best, len(r.stdout.split())


def llama_rate(model, text, repeat):
    llm = Llama(model_path=model, vocab_only=True, verbose=False)
    data = text.encode()
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        ids = llm.tokenize(data, add_bos=False, special=False)
        best = max(best, len(data) / (time.perf_counter() - t0) / 1e6)
    return best, len(ids)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pivot", default=str(ROOT / "build/bin/pivot"))
    ap.add_argument("--model", action="append",
                    help="GGUF file(s); default: SmolLM2 and Gemma 3 from the model cache")
    ap.add_argument("--english")
    ap.add_argument("--chinese")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    models = a.model or [str(MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"),
                         str(MODELS / "gemma-3-270m-q4_k_m.gguf")]
    texts = []
    for name, arg, fn in (("English", a.english, english_text), ("Chinese", a.chinese, chinese_text)):
        texts.append((name, *((Path(arg).read_text(), arg) if arg else fn())))
    print(f"{'model':<34} {'text':<8} {'MB':>6} {'pivot MB/s':>11} {'llama.cpp MB/s':>15} {'ratio':>6}  same ids")
    for model in models:
        for name, text, src in texts:
            p, pn = pivot_rate(a.pivot, model, text, a.repeat)
            l, ln = llama_rate(model, text, a.repeat)
            print(f"{Path(model).name:<34} {name:<8} {len(text.encode()) / 1e6:6.2f} {p:11.2f} {l:15.2f} "
                  f"{p / l:6.2f}  {'yes' if pn == ln else f'no ({pn} vs {ln})'}")
    for name, _, src in texts:
        print(f"{name}: {src}")


if __name__ == "__main__":
    main()

"""pivot vs llama.cpp, side by side on one machine: same GGUF file, same threads,
same prompt/generation lengths, runs alternating (pivot, llama.cpp, pivot, ...).

llama.cpp runs through llama-cpp-python (its vendored llama.cpp, built from the
sdist) in the oracle venv; per-call Python overhead is measured (an empty eval
loop) and printed so it can be seen to be negligible against a decode step.
pivot runs as `pivot bench --json -r 1` per round, so both get the same warm-up.
The memory read bandwidth comes from pivot's own measurement in the same run, and
each decode rate is shown as a fraction of the limit bandwidth ÷ bytes/token.

Usage:
  .venv-oracle/bin/python bench/compare_llamacpp.py --pivot build/bin/pivot \
      MODEL.gguf [MODEL2.gguf ...] [-p 512] [-n 128] [-t 1 2] [--rounds 3] [--activations q8|f32]
"""
import argparse
import json
import statistics
import subprocess
import time

from llama_cpp import Llama


def pivot_round(pivot, model, p, n, threads, activations):
    out = subprocess.run([pivot, "bench", "-m", model, "-p", str(p), "-n", str(n), "-t",
                          str(threads), "-r", "1", "--json", "--activations", activations],
                         capture_output=True, text=True, check=True)
    j = json.loads(out.stdout)
    return (j["pp"]["tokens_per_s"] if p else None), (j["tg"]["tokens_per_s"] if n else None), j


def llama_round(llm, p, n, vocab):
    """Timed pp of p tokens and tg of n tokens (None where 0), each from an empty cache."""
    pp = tg = None
    if p:
        prompt = [(i * 7919) % vocab for i in range(p)]
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        pp = p / (time.perf_counter() - t0)
    if not n:
        return pp, tg
    llm.reset()
    tok = 1
    t0 = time.perf_counter()
    for _ in range(n):
        llm.eval([tok])
        tok = int(llm.scores[llm.n_tokens - 1].argmax())
    tg = n / (time.perf_counter() - t0)
    return pp, tg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--pivot", default="build/bin/pivot")
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--activations", default="q8", choices=["q8", "f32"],
                    help="pivot's --activations (llama.cpp always quantizes them to 8 bits)")
    a = ap.parse_args()
    if a.p < 0 or a.n < 0 or a.p + a.n == 0:
        ap.error("-p and -n must be >= 0 and not both 0")
    rows = []
    for model in a.models:
        for t in a.t:
            llm = Llama(model_path=model, n_ctx=max(a.p, a.n) + 8, n_batch=max(a.p, a.n, 8),
                        n_ubatch=max(a.p, a.n, 8),
                        n_threads=t, n_threads_batch=t, verbose=False, logits_all=False)
            vocab = llm.n_vocab()
            llama_round(llm, min(a.p, 32), min(a.n, 4), vocab)  # warm-up
            pv_pp, pv_tg, ll_pp, ll_tg = [], [], [], []
            meta = None
            for _ in range(a.rounds):
                pp, tg, meta = pivot_round(a.pivot, model, a.p, a.n, t, a.activations)
                pv_pp.append(pp)
                pv_tg.append(tg)
                pp, tg = llama_round(llm, a.p, a.n, vocab)
                ll_pp.append(pp)
                ll_tg.append(tg)
            t0 = time.perf_counter()
            for _ in range(1000):
                llm.n_tokens  # noqa: B018 - the per-call attribute overhead
            overhead_us = (time.perf_counter() - t0) * 1e3
            bw = meta["machine"]["mem_bw_gbs"] * 1e9
            bpt = meta["tg"]["bytes_per_token"] if a.n else 0
            del llm
            for test, pv, ll in (("pp", pv_pp, ll_pp), ("tg", pv_tg, ll_tg)):
                if pv[0] is None:
                    continue
                m_pv, m_ll = statistics.mean(pv), statistics.mean(ll)
                frac = ""
                if test == "tg" and bw > 0:
                    limit = bw / bpt
                    frac = f"pivot {m_pv / limit:5.1%} / llama.cpp {m_ll / limit:5.1%} of {limit:.1f}"
                rows.append((model.split("/")[-1][:34], t, f"{test}{a.p if test == 'pp' else a.n}",
                             m_pv, statistics.pstdev(pv), m_ll, statistics.pstdev(ll), m_pv / m_ll,
                             frac))
            print(f"# {model} t={t}: pivot --activations {a.activations}, python call overhead ~{overhead_us:.3f} us, "
                  f"bandwidth {bw / 1e9:.2f} GB/s, {bpt / 1e6:.1f} MB/token (decode)", flush=True)
    print(f"| {'model':34} | t | test  | pivot t/s        | llama.cpp t/s    | ratio | "
          "decode vs bandwidth limit (t/s) |")
    print("|" + "---|" * 7)
    for r in rows:
        print(f"| {r[0]:34} | {r[1]} | {r[2]:5} | {r[3]:8.2f} ± {r[4]:5.2f} | {r[5]:8.2f} ± "
              f"{r[6]:5.2f} | {r[7]:5.2f} | {r[8]} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Serving benchmark: `pivot serve` vs llama.cpp's server (llama-cpp-python[server],
`python -m llama_cpp.server`) on the same GGUF file and thread count, in one run.

For each concurrency C (default 1, 4, 16), C client threads each stream R chat
requests (temperature 0, max_tokens N, distinct prompts) over raw HTTP/SSE and
record, per request, the time to the first content chunk (TTFT) and the mean
time between content chunks after it (TPOT); aggregate throughput is content
chunks (= generated tokens: both servers send one chunk per token) over the wall
time of the whole round. Prints a markdown table (p50/p90/p99) and, with
--results FILE, replaces that file's "## Serving" section with it.

  .venv-oracle/bin/python bench/serve_bench.py --pivot build/bin/pivot \
      ~/.cache/pivot/models/SmolLM2-135M-Instruct.Q4_1.gguf -t 2 --results bench/RESULTS.md
"""
import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PROMPTS = ["Write a short poem about the sea.", "Explain how a bicycle works.",
           "List five facts about Mars.", "Describe a rainy afternoon in a city.",
           "What makes bread rise?", "Tell a story about a lost key.",
           "Summarise the water cycle.", "Give advice for a first job interview."]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, path, timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not healthy in time")


def stream_one(port, prompt, n):
    """(ttft_s, tpot_s or None, n_chunks) for one streamed chat request."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": prompt}],
                       "max_tokens": n, "temperature": 0, "stream": True})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body=body,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {r.read()[:200]!r}")
    times = []
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ev = json.loads(line[6:])
        ch = ev.get("choices") or []
        if ch and (ch[0].get("delta") or {}).get("content"):
            times.append(time.perf_counter())
    c.close()
    if not times:
        return None, None, 0
    tpot = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else None
    return times[0] - t0, tpot, len(times)


def pct(v, p):
    v = sorted(x for x in v if x is not None)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    f = int(k)
    return v[f] + (v[min(f + 1, len(v) - 1)] - v[f]) * (k - f)


def run_level(port, conc, reqs, n):
    ttft, tpot, chunks, errors = [], [], [], []

    def worker(i):
        for j in range(reqs):
            try:
                a, b, c = stream_one(port, PROMPTS[(i + j) % len(PROMPTS)] + f" (#{i}.{j})", n)
                ttft.append(a)
                tpot.append(b)
                chunks.append(c)
            except Exception as e:  # reported, not fatal
                errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    return {"conc": conc, "requests": len(chunks), "errors": len(errors),
            "tokens": sum(chunks), "wall": wall, "tps": sum(chunks) / wall,
            "ttft": [pct(ttft, p) for p in (50, 90, 99)],
            "tpot": [pct(tpot, p) for p in (50, 90, 99)]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--pivot", default="build/bin/pivot")
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count())
    ap.add_argument("-n", "--max-tokens", type=int, default=64)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--requests", type=int, default=2, help="requests per client per level")
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--results", help="markdown file whose '## Serving' section is replaced")
    a = ap.parse_args()
    maxc = max(a.concurrency)
    servers = {
        "pivot": ([a.pivot, "serve", "-m", a.model, "--threads", a.threads, "--parallel", maxc,
                   "--ctx-size", a.ctx], "/health"),
        "llama.cpp": ([sys.executable, "-m", "llama_cpp.server", "--model", a.model,
                       "--n_threads", a.threads, "--n_threads_batch", a.threads,
                       "--n_ctx", a.ctx, "--verbose", "False",
                       # queue concurrent requests instead of cutting the running one short
                       "--interrupt_requests", "False"], "/v1/models"),
    }
    results = {}
    for name, (cmd, health) in servers.items():
        port = free_port()
        cmd = [str(x) for x in cmd] + ["--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_healthy(port, proc, health)
            stream_one(port, PROMPTS[0], 8)  # warm-up
            for c in a.concurrency:
                r = run_level(port, c, a.requests, a.max_tokens)
                results[(name, c)] = r
                print(f"{name:9s} C={c:2d}: {r['tps']:7.1f} tok/s  TTFT p50 {r['ttft'][0]*1e3:7.0f} ms"
                      f"  TPOT p50 {r['tpot'][0]*1e3:6.1f} ms  ({r['requests']} req, "
                      f"{r['errors']} errors)", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    load = os.getloadavg()[0]
    lines = [
        "## Serving: pivot serve vs llama.cpp server (issue 6)", "",
        f"Machine: {platform.node()} ({os.cpu_count()} CPUs), load average {load:.1f} at the end "
        f"of the run; commit {commit}, {time.strftime('%Y-%m-%d')}. Model {Path(a.model).name}, "
        f"{a.threads} threads each, chat requests streamed over SSE, temperature 0, max_tokens "
        f"{a.max_tokens}, {a.requests} requests per client. llama.cpp: llama-cpp-python 0.3.36's "
        "server (`python -m llama_cpp.server --interrupt_requests False`), which serves one "
        "request at a time (no continuous batching) and reuses the KV cache of the previous "
        "prompt's common prefix (here the chat template's system prompt), which lowers its TTFT; "
        f"pivot: `--parallel {maxc}`, no prefix reuse.", "",
        "```", " ".join([".venv-oracle/bin/python", "bench/serve_bench.py", "--pivot", a.pivot,
                         a.model, "-t", str(a.threads), "-n", str(a.max_tokens),
                         "--requests", str(a.requests)]), "```", "",
        "| server | streams | requests | errors | aggregate tok/s | TTFT p50 / p90 / p99 (ms) "
        "| TPOT p50 / p90 / p99 (ms) |", "|---|---|---|---|---|---|---|"]
    for c in a.concurrency:
        for name in servers:
            r = results[(name, c)]
            lines.append(
                f"| {name} | {c} | {r['requests']} | {r['errors']} | {r['tps']:.1f} | "
                + " / ".join(f"{x*1e3:.0f}" for x in r["ttft"]) + " | "
                + " / ".join(f"{x*1e3:.1f}" for x in r["tpot"]) + " |")
    section = "\n".join(lines) + "\n"
    print(section)
    if a.results:
        p = Path(a.results)
        text = p.read_text() if p.exists() else "# Benchmark results\n"
        start = text.find("## Serving")
        if start < 0:
            text = text.rstrip("\n") + "\n\n" + section
        else:
            end = text.find("\n## ", start + 1)
            text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
        p.write_text(text)


if __name__ == "__main__":
    main()

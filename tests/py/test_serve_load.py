"""Bounded load on `pivot serve` (SmolLM2): 16 concurrent clients x 20 requests
each through the official openai client (completions, short prompts, short
max_tokens). Checks: zero errors, every response complete (finish_reason
stop/length, usage consistent), server RSS after the run within RSS_BOUND_MIB of
its RSS after a warm-up round, and aggregate generated tokens/s above a single
stream's (continuous batching).
ASan builds (or PIVOT_SERVE_LOAD=small) run 8 clients x 4 requests; under a
sanitizer the throughput comparison is printed, not asserted: instrumented
per-token work shrinks batching's gain to within this 2-vCPU VM's timing noise
(aggregate / single measured 0.95-1.37 on an otherwise idle machine), so it would
test the machine, not the scheduler. The Release stage asserts it at 16 x 20."""
import os
import sys
import threading
import time

import common
import serve_util

try:
    import openai
except ImportError as e:
    common.skip(f"python package missing: {e}")

RSS_BOUND_MIB = 64  # growth allowed between the warm-up round and the end of the run
MAX_TOKENS = 12


def main():
    a = common.args()
    model = common.model_path("smollm2")
    sanitized = serve_util.is_sanitized(a.pivot)
    small = sanitized or os.environ.get("PIVOT_SERVE_LOAD") == "small"
    clients, per_client = (8, 4) if small else (16, 20)
    srv = serve_util.Server(a.pivot, model, "--ctx-size", 256, "--parallel", 16)
    fails = []
    try:
        client = openai.OpenAI(base_url=srv.base + "/v1", api_key="x", max_retries=0, timeout=600)
        # Short completion prompts: decode, which batching speeds up, dominates the
        # work (prompt processing is already batched within one request).
        prompts = [f"Fact {i}:" for i in range(clients)]

        def one(i, j, out):
            r = client.completions.create(model="m", prompt=prompts[i], max_tokens=MAX_TOKENS,
                                          temperature=0.7, seed=i * 1000 + j)
            c = r.choices[0]
            if c.finish_reason not in ("stop", "length") or c.text is None:
                raise RuntimeError(f"incomplete response: {r}")
            if c.finish_reason == "length" and r.usage.completion_tokens != MAX_TOKENS:
                raise RuntimeError(f"length finish with {r.usage.completion_tokens} tokens")
            out.append(r.usage.completion_tokens)

        # Single stream: sequential requests.
        single = []
        t0 = time.time()
        for j in range(4 if small else 6):
            one(0, j, single)
        single_tps = sum(single) / (time.time() - t0)

        # Warm-up round at full concurrency, then RSS baseline.
        def run_round(n_per_client):
            done, errors = [], []

            def worker(i):
                for j in range(n_per_client):
                    try:
                        one(i, j, done)
                    except Exception as e:  # counted, not raised: zero is the requirement
                        errors.append(repr(e))
            ts = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
            t = time.time()
            for th in ts:
                th.start()
            for th in ts:
                th.join()
            return done, errors, time.time() - t

        run_round(1)
        rss0 = srv.rss_kib()
        done, errors, wall = run_round(per_client)
        rss1 = srv.rss_kib()
        agg_tps = sum(done) / wall
        n = clients * per_client
        print(f"{clients} clients x {per_client} requests: {len(done)} ok, {len(errors)} errors, "
              f"{sum(done)} tokens in {wall:.1f} s = {agg_tps:.1f} tokens/s aggregate; "
              f"single stream {single_tps:.1f} tokens/s; RSS {rss0 / 1024:.1f} -> "
              f"{rss1 / 1024:.1f} MiB")
        if errors:
            fails.append(f"{len(errors)} errors, first: {errors[0]}")
        if len(done) != n:
            fails.append(f"{len(done)} of {n} requests completed")
        if (rss1 - rss0) / 1024 > RSS_BOUND_MIB:
            fails.append(f"RSS grew {(rss1 - rss0) / 1024:.1f} MiB > {RSS_BOUND_MIB} MiB")
        if not agg_tps > single_tps and sanitized:
            print(f"note: aggregate {agg_tps:.1f} tokens/s not above single {single_tps:.1f} "
                  "(sanitized build: not asserted)")
        elif not agg_tps > single_tps:
            fails.append(f"aggregate {agg_tps:.1f} tokens/s not above single {single_tps:.1f}")
        m = srv.metrics()
        if m["pivot_kv_cache_blocks_used"] != 0 or m["pivot_running_sequences"] != 0:
            fails.append("KV blocks or sequences left over after the run")
    finally:
        rc = srv.stop()
        if rc != 0:
            fails.append(f"server exit code {rc} on SIGTERM (sanitizer report?): {srv.log_text()}")
    for f in fails:
        print("FAIL " + f)
    if fails:
        sys.exit(1)
    print("load test passed")


if __name__ == "__main__":
    main()

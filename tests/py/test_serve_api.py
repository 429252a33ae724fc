"""`pivot serve` end to end with the official openai client and raw HTTP (SmolLM2):
chat + completions, streamed and not; greedy output == `pivot run --temp 0`;
usage == `pivot tokenize`; stop strings; seed reproducibility; every bad input of
the issue (status + OpenAI error object, server still serving); API key; /health;
/models; /metrics parsed by prometheus_client; a client that disconnects
mid-stream frees its KV blocks at once."""
import concurrent.futures
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time

import common
import serve_util

try:
    import openai
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:  # CI installs both from scripts/requirements.txt
    common.skip(f"python package missing: {e}")

CTX = 512
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def pivot_out(pivot, *argv):
    r = subprocess.run([str(pivot), *map(str, argv)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"pivot {argv[0]} failed: {r.stderr}")
    return r.stdout


def n_tokens(pivot, model, text):
    """Token count as `pivot tokenize` gives it (BOS per the file, specials parsed)."""
    return len(pivot_out(pivot, "tokenize", "-m", model, "--ids", "--special", text).split())


def rendered_chat(pivot, model, messages):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(messages, f)
    return pivot_out(pivot, "template", "-m", model, "--messages", f.name,
                     "--add-generation-prompt")


def is_error_object(body, status_text=""):
    try:
        e = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (isinstance(e.get("message"), str) and e["message"] != "" and isinstance(e.get("type"), str)
            and "param" in e and "code" in e)


def bad_inputs(srv):
    chat = "/v1/chat/completions"
    ok_msgs = [{"role": "user", "content": "hi"}]
    cases = [
        ("malformed JSON", chat, b'{"messages": [', 400, None),
        ("body not an object", chat, b"[1, 2]", 400, None),
        ("messages wrong type", chat, {"messages": "hello"}, 400, "messages"),
        ("max_tokens wrong type", chat, {"messages": ok_msgs, "max_tokens": "10"}, 400, "max_tokens"),
        ("temperature wrong type", chat, {"messages": ok_msgs, "temperature": "hot"}, 400,
         "temperature"),
        ("stream wrong type", chat, {"messages": ok_msgs, "stream": "yes"}, 400, "stream"),
        ("stop wrong type", chat, {"messages": ok_msgs, "stop": 5}, 400, "stop"),
        ("content wrong type", chat, {"messages": [{"role": "user", "content": 5}]}, 400,
         "messages[0].content"),
        ("missing messages", chat, {"model": "x"}, 400, "messages"),
        ("empty messages", chat, {"messages": []}, 400, "messages"),
        ("unknown role", chat, {"messages": [{"role": "wizard", "content": "hi"}]}, 400,
         "messages[0].role"),
        ("negative max_tokens", chat, {"messages": ok_msgs, "max_tokens": -5}, 400, "max_tokens"),
        ("zero max_tokens", chat, {"messages": ok_msgs, "max_tokens": 0}, 400, "max_tokens"),
        ("huge max_tokens", chat, {"messages": ok_msgs, "max_tokens": 10**12}, 400, "max_tokens"),
        ("huge max_completion_tokens", chat,
         {"messages": ok_msgs, "max_completion_tokens": 100000}, 400, "max_tokens"),
        ("temperature out of range", chat, {"messages": ok_msgs, "temperature": 7}, 400,
         "temperature"),
        ("n = 2", chat, {"messages": ok_msgs, "n": 2}, 400, "n"),
        ("prompt longer than the context", "/v1/completions",
         {"prompt": "hello " * (CTX * 2), "max_tokens": 4}, 400, "prompt"),
        ("chat longer than the context", chat,
         {"messages": [{"role": "user", "content": "hello " * (CTX * 2)}]}, 400, "messages"),
        ("completion prompt missing", "/v1/completions", {"max_tokens": 3}, 400, "prompt"),
        ("body over the size limit", chat,
         {"messages": [{"role": "user", "content": "x" * 70000}]}, 413, None),
        ("unknown path", "/v1/nope", {"messages": ok_msgs}, 404, None),
    ]
    for name, path, body, want, param in cases:
        status, _, data = srv.request("POST", path, body)
        check(status == want and is_error_object(data),
              f"bad input: {name} -> {want} + error object (got {status} {data[:160]!r})")
        if param and status == want:
            check(json.loads(data)["error"]["param"] == param,
                  f"bad input: {name} names param {param!r} ({json.loads(data)['error']['param']!r})")
    for method, path in [("GET", chat), ("DELETE", "/v1/completions"), ("POST", "/health"),
                         ("PUT", "/v1/models")]:
        status, headers, data = srv.request(method, path, b"{}" if method != "GET" else None)
        check(status == 405 and is_error_object(data) and "Allow" in headers,
              f"wrong method {method} {path} -> 405 + Allow + error object (got {status})")
    status, _, data = srv.request("GET", "/nothing/here")
    check(status == 404 and is_error_object(data), f"GET unknown path -> 404 ({status})")
    # Still serving after all of that.
    status, _, data = srv.request("POST", chat, {"messages": ok_msgs, "max_tokens": 3,
                                                 "temperature": 0})
    check(status == 200 and json.loads(data)["choices"][0]["finish_reason"] in ("stop", "length"),
          f"serves normally after the bad inputs ({status})")


def batch_invariance(pivot, model):
    """Continuous batching changes nothing in exact mode (--activations f32): concurrent
    greedy requests (one batch) give the texts the same requests give one at a time.
    The default q8 mode does not promise this, like llama.cpp: a prompt of <= 8 tokens
    alone runs the integer decode kernels, inside a larger batch the f32 GEMM on the
    same Q8-rounded activations, and rounding-level differences can flip a near-tie."""
    srv = serve_util.Server(pivot, model, "--ctx-size", CTX, "--parallel", 4,
                            "--activations", "f32")
    try:
        client = openai.OpenAI(base_url=srv.base + "/v1", api_key="unused", max_retries=0)
        fact = [f"Fact {i}:" for i in range(4)]

        def greedy(p):
            return client.completions.create(model="any", prompt=p, max_tokens=16,
                                             temperature=0).choices[0].text
        alone = [greedy(p) for p in fact]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            together = list(ex.map(greedy, fact))
        check(together == alone, "4 concurrent greedy requests == the same requests alone "
              f"(--activations f32): {together} vs {alone}")
    finally:
        srv.stop()


def main():
    a = common.args()
    model = common.model_path("smollm2")
    batch_invariance(a.pivot, model)
    srv = serve_util.Server(a.pivot, model, "--ctx-size", CTX, "--parallel", 4,
                            "--max-body", 65536)
    try:
        run_checks(a.pivot, model, srv)
    finally:
        rc = srv.stop()
        check(rc == 0, f"server exits 0 on SIGTERM (got {rc})" + ("" if rc == 0 else srv.log_text()))
    api_key_checks(a.pivot, model)
    chunked_prefill(a.pivot, model)
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        sys.exit(1)
    print("all serve API checks passed")


def run_checks(pivot, model, srv):
    client = openai.OpenAI(base_url=srv.base + "/v1", api_key="unused", max_retries=0)

    # /health, /v1/models
    status, _, body = srv.request("GET", "/health")
    check(status == 200 and json.loads(body)["status"] == "ok", "/health is 200 when ready")
    models = client.models.list()
    check(len(models.data) == 1 and models.data[0].id == model.name, "/v1/models lists the model")

    # Greedy chat == `pivot run --chat --temp 0`, and usage == tokenizer counts.
    prompt = "Name three colours of the rainbow."
    n = 24
    want = pivot_out(pivot, "run", "-m", model, "--chat", "-p", prompt, "-n", n, "--temp", 0,
                     "-c", CTX)
    want = want[:-1] if want.endswith("\n") else want
    msgs = [{"role": "user", "content": prompt}]
    r = client.chat.completions.create(model="any", messages=msgs, max_tokens=n, temperature=0)
    got = r.choices[0].message.content
    check(got == want, f"greedy chat == pivot run --chat --temp 0 ({got!r} vs {want!r})")
    n_prompt = n_tokens(pivot, model, rendered_chat(pivot, model, msgs))
    check(r.usage.prompt_tokens == n_prompt,
          f"usage.prompt_tokens {r.usage.prompt_tokens} == pivot tokenize count {n_prompt}")
    check(r.choices[0].finish_reason in ("stop", "length"), "finish_reason is stop or length")
    if r.choices[0].finish_reason == "length":
        check(r.usage.completion_tokens == n, f"completion_tokens == max_tokens ({r.usage.completion_tokens})")
    check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "total_tokens")
    check(r.object == "chat.completion" and r.choices[0].message.role == "assistant",
          "chat.completion object")

    # Greedy completion == `pivot run --temp 0` (no template).
    cprompt = "The capital of France is"
    want_c = pivot_out(pivot, "run", "-m", model, "-p", cprompt, "-n", 20, "--temp", 0, "-c", CTX)
    want_c = want_c[:-1] if want_c.endswith("\n") else want_c
    rc = client.completions.create(model="any", prompt=cprompt, max_tokens=20, temperature=0)
    check(rc.choices[0].text == want_c,
          f"greedy completion == pivot run --temp 0 ({rc.choices[0].text!r} vs {want_c!r})")
    n_cprompt = n_tokens(pivot, model, cprompt)
    check(rc.usage.prompt_tokens == n_cprompt,
          f"completion usage.prompt_tokens {rc.usage.prompt_tokens} == tokenizer {n_cprompt}")
    if rc.choices[0].finish_reason == "length":
        check(rc.usage.completion_tokens == 20, "completion_tokens == max_tokens on length")

    # Streamed chat: deltas concatenate to the non-streamed text; usage chunk last.
    stream = client.chat.completions.create(model="any", messages=msgs, max_tokens=n, temperature=0,
                                            stream=True, stream_options={"include_usage": True})
    parts, finish, usage, n_chunks = [], None, None, 0
    for ch in stream:
        n_chunks += 1
        if ch.choices:
            if ch.choices[0].delta.content:
                parts.append(ch.choices[0].delta.content)
            finish = ch.choices[0].finish_reason or finish
        if ch.usage:
            usage = ch.usage
    check("".join(parts) == got, f"streamed chat == non-streamed ({''.join(parts)!r})")
    check(finish == r.choices[0].finish_reason, f"streamed finish_reason {finish}")
    check(usage is not None and usage.prompt_tokens == n_prompt
          and usage.completion_tokens == r.usage.completion_tokens,
          "stream_options.include_usage gives the same usage")
    check(n_chunks >= 3, f"stream came in several chunks ({n_chunks})")

    # Raw SSE: every event is data: JSON, the last is [DONE].
    status, headers, body = srv.request("POST", "/v1/completions",
                                        {"prompt": cprompt, "max_tokens": 8, "stream": True,
                                         "temperature": 0})
    events = [l[len("data: "):] for l in body.decode().split("\n\n") if l.startswith("data: ")]
    check(status == 200 and headers.get("Content-Type", "").startswith("text/event-stream")
          and events and events[-1] == "[DONE]", "raw SSE ends with data: [DONE]")
    text = "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1]
                   if json.loads(e)["choices"])
    check(text == want_c[:len(text)] and len(text) > 0, f"raw streamed completion text {text!r}")

    # Streamed completion through the client.
    sc = client.completions.create(model="any", prompt=cprompt, max_tokens=20, temperature=0,
                                   stream=True)
    check("".join(c.choices[0].text for c in sc if c.choices) == want_c,
          "streamed completion == non-streamed")

    # Stop strings: cut where the stop string starts; finish_reason "stop".
    words = want_c.split()
    if len(words) >= 4:
        stop = " " + words[2]
        cut = want_c[:want_c.index(stop)]
        rs = client.completions.create(model="any", prompt=cprompt, max_tokens=20, temperature=0,
                                       stop=[stop, "@@never@@"])
        check(rs.choices[0].text == cut and rs.choices[0].finish_reason == "stop",
              f"stop string {stop!r}: {rs.choices[0].text!r} == {cut!r}, finish_reason stop")
        ss = client.completions.create(model="any", prompt=cprompt, max_tokens=20, temperature=0,
                                       stop=stop, stream=True)
        check("".join(c.choices[0].text for c in ss if c.choices) == cut,
              "stop string (one string), streamed")
    else:
        check(False, f"greedy completion too short for the stop test: {want_c!r}")

    # Seeds: same seed, same text at temperature 1; other seeds vary.
    def sample(seed):
        return client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=24,
            temperature=1.0, seed=seed).choices[0].message.content
    a1, a2 = sample(42), sample(42)
    check(a1 == a2, "seed 42 twice gives the same text")
    others = {sample(s) for s in (1, 2, 3, 4)}
    check(len(others | {a1}) >= 2, "different seeds give different texts")

    bad_inputs(srv)
    disconnect_frees_blocks(srv)
    metrics_parse(srv)


def disconnect_frees_blocks(srv):
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": CTX - 16, "stream": True,
                       "temperature": 1.0, "seed": 7}).encode()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    got = b""
    while got.count(b"data: ") < 3:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    m = srv.metrics()
    used_before = m["pivot_kv_cache_blocks_used"]
    check(used_before > 0 and m["pivot_running_sequences"] == 1,
          f"mid-stream: the sequence holds KV blocks ({used_before:.0f})")
    s.close()
    t0 = time.time()
    while time.time() - t0 < 5 and srv.metrics()["pivot_kv_cache_blocks_used"] > 0:
        time.sleep(0.02)
    m = srv.metrics()
    dt = time.time() - t0
    check(m["pivot_kv_cache_blocks_used"] == 0 and m["pivot_running_sequences"] == 0,
          f"disconnect freed the sequence's blocks in {dt:.2f} s")


def metrics_parse(srv):
    status, headers, body = srv.request("GET", "/metrics")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/plain"),
          "/metrics is text/plain")
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    want = {"pivot_requests": "counter", "pivot_prompt_tokens": "counter",
            "pivot_generation_tokens": "counter",
            "pivot_time_to_first_token_seconds": "histogram",
            "pivot_time_per_output_token_seconds": "histogram", "pivot_queue_depth": "gauge",
            "pivot_running_sequences": "gauge", "pivot_kv_cache_blocks_used": "gauge",
            "pivot_kv_cache_blocks_total": "gauge"}
    for name, typ in want.items():
        check(name in fams and fams[name].type == typ, f"/metrics has {name} ({typ})")
    if "pivot_requests" in fams:
        statuses = {s.labels.get("status") for s in fams["pivot_requests"].samples}
        check({"200", "400", "404", "405", "413"} <= statuses,
              f"requests counted by status ({sorted(statuses)})")
    if "pivot_time_to_first_token_seconds" in fams:
        count = [s.value for s in fams["pivot_time_to_first_token_seconds"].samples
                 if s.name.endswith("_count")]
        check(count and count[0] >= 5, f"TTFT histogram observed requests ({count})")
    gen = [s.value for s in fams.get("pivot_generation_tokens", fams["pivot_requests"]).samples]
    check(gen and gen[0] > 50, f"generated tokens counted ({gen})")


def chunked_prefill(pivot, model):
    """With 32 tokens per step, a ~300-token prompt takes ~10 steps to prefill; a
    stream already running must keep getting a token every step meanwhile."""
    srv = serve_util.Server(pivot, model, "--ctx-size", 512, "--parallel", 2, "--batch-size", 32)
    try:
        arrivals = []
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 200, "stream": True,
                           "temperature": 1.0, "seed": 11})

        def stream_a():
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
            c.request("POST", "/v1/completions", body=body,
                      headers={"Content-Type": "application/json"})
            for line in c.getresponse():
                if line.startswith(b"data: {"):
                    arrivals.append(time.time())
            c.close()
        ta = threading.Thread(target=stream_a)
        ta.start()
        while len(arrivals) < 3:
            time.sleep(0.01)
        long_prompt = " ".join(f"item {i}," for i in range(100))
        t_submit = time.time()
        st, _, data = srv.request("POST", "/v1/completions",
                                  {"prompt": long_prompt, "max_tokens": 1, "temperature": 0})
        t_done = time.time()
        n_prompt = json.loads(data)["usage"]["prompt_tokens"] if st == 200 else 0
        ta.join()
        during = sum(1 for t in arrivals if t_submit <= t <= t_done)
        check(st == 200 and n_prompt > 250,
              f"long prompt of {n_prompt} tokens served with 32 tokens per step")
        check(during >= 5, f"the running stream got {during} tokens while the long prompt was "
                           "prefilled in chunks (>= 5)")
    finally:
        rc = srv.stop()
        check(rc == 0, f"server exits 0 on SIGTERM (got {rc})" + ("" if rc == 0 else srv.log_text()))


def api_key_checks(pivot, model):
    """A second server: API key, 2 sequences, a 12-block (192-token) KV pool."""
    srv = serve_util.Server(pivot, model, "--ctx-size", 256, "--parallel", 2, "--api-key", "s3cret",
                            "--kv-blocks", 12)
    try:
        auth = {"Authorization": "Bearer s3cret"}
        # Fits the context (256) but never the pool (12 blocks of 16): 400 naming both.
        status, _, data = srv.request("POST", "/v1/completions",
                                      {"prompt": "Hello", "max_tokens": 240}, auth)
        msg = json.loads(data)["error"]["message"] if status == 400 else ""
        check(status == 400 and "16 KV blocks" in msg and "12" in msg,
              f"request larger than the KV pool -> 400 naming its size and the limit ({msg!r})")
        # Admission: two requests of 8 blocks each; the second waits for the first's blocks.
        results = []

        def long_request():
            results.append(srv.request("POST", "/v1/completions",
                                       {"prompt": "Once upon a time", "max_tokens": 120,
                                        "temperature": 1.0, "seed": 3}, auth))
        ts = [threading.Thread(target=long_request) for _ in range(2)]
        for t in ts:
            t.start()
        max_depth = 0
        while any(t.is_alive() for t in ts):
            max_depth = max(max_depth, srv.metrics()["pivot_queue_depth"])
            time.sleep(0.05)
        check(max_depth >= 1, f"a request that cannot be admitted yet waits in the queue ({max_depth})")
        check(len(results) == 2 and all(r[0] == 200 for r in results),
              "both queued requests complete with 200")
        m = srv.metrics()
        check(m["pivot_kv_cache_blocks_used"] == 0 and m["pivot_kv_cache_blocks_total"] == 12,
              "KV pool back to 0 of 12 blocks used")
        body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        status, _, data = srv.request("POST", "/v1/chat/completions", body)
        check(status == 401 and is_error_object(data), f"missing API key -> 401 ({status})")
        status, _, data = srv.request("POST", "/v1/chat/completions", body,
                                      {"Authorization": "Bearer wrong"})
        check(status == 401 and is_error_object(data), f"wrong API key -> 401 ({status})")
        client = openai.OpenAI(base_url=srv.base + "/v1", api_key="s3cret", max_retries=0)
        r = client.chat.completions.create(model="x", messages=body["messages"], max_tokens=2)
        check(r.usage.completion_tokens >= 1, "right API key -> 200 via the openai client")
        try:
            openai.OpenAI(base_url=srv.base + "/v1", api_key="nope", max_retries=0) \
                .chat.completions.create(model="x", messages=body["messages"], max_tokens=2)
            check(False, "openai client sees AuthenticationError for a wrong key")
        except openai.AuthenticationError:
            check(True, "openai client sees AuthenticationError for a wrong key")
        status, _, _ = srv.request("GET", "/health")
        check(status == 200, "/health needs no key")
    finally:
        rc = srv.stop()
        check(rc == 0, f"server exits 0 on SIGTERM (got {rc})" + ("" if rc == 0 else srv.log_text()))


if __name__ == "__main__":
    main()

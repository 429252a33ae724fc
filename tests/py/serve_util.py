"""A `pivot serve` process on 127.0.0.1 for the serve tests: start on a free port,
wait for /health, raw HTTP helpers, /metrics reading, RSS, shutdown."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_sanitized(pivot):
    """True for an ASan/UBSan build (slower: the tests use a lighter load)."""
    cache = Path(pivot).resolve().parent.parent / "CMakeCache.txt"
    return cache.exists() and "PIVOT_SANITIZE:BOOL=ON" in cache.read_text()


class Server:
    def __init__(self, pivot, model, *extra, timeout=120):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(f"/tmp/pivot-serve-{self.port}.log", "w+")
        self.proc = subprocess.Popen(
            [str(pivot), "serve", "-m", str(model), "--host", "127.0.0.1",
             "--port", str(self.port), *map(str, extra)],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.saw_503 = False
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pivot serve exited with {self.proc.returncode}: "
                                   + self.log_text())
            try:
                status, _, body = self.request("GET", "/health")
                if status == 200:
                    break
                assert status == 503, (status, body)
                assert "error" in json.loads(body), body
                self.saw_503 = True
            except (ConnectionError, OSError):
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("pivot serve did not become healthy: " + self.log_text())
            time.sleep(0.05)

    def log_text(self):
        if self.log.closed:
            return self.final_log
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def request(self, method, path, body=None, headers=None, timeout=300):
        """(status, headers dict, body bytes); `body` may be bytes, str or a JSON value."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def metrics(self):
        """{sample name (with labels folded in): value} from /metrics."""
        status, _, body = self.request("GET", "/metrics")
        assert status == 200
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def rss_kib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.final_log = self.log_text()
        self.log.close()
        return self.proc.returncode

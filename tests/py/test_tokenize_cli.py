"""`pivot tokenize`: ids, pieces, --special and stdin on the vocabulary files (no models needed)."""
import subprocess
import sys

from common import ROOT, args

VOCAB = ROOT / "tests/data/tokenizer-vectors"


def run(pivot, *argv, stdin=None):
    r = subprocess.run([pivot, "tokenize", *argv], input=stdin, capture_output=True, check=True)
    return r.stdout.decode()


def main():
    pivot = args().pivot
    gpt2 = str(VOCAB / "ggml-vocab-gpt-2.gguf")
    spm = str(VOCAB / "ggml-vocab-llama-spm.gguf")
    checks = [
        (run(pivot, "-m", gpt2, "--ids", "Hello world"), "15496 995\n"),
        (run(pivot, "-m", gpt2, "--pieces", "Hello world"), "Hello \\x20world\n"),
        (run(pivot, "-m", gpt2, "Hello"), "15496\tHello\n"),
        (run(pivot, "-m", gpt2, "--ids", "--special", "<|endoftext|>"), "50256\n"),
        (run(pivot, "-m", spm, "--ids", "Hello"), "1 15043\n"),
        (run(pivot, "-m", spm, "--ids", "--no-bos", stdin=b"Hello"), "15043\n"),
    ]
    bad = [(got, want) for got, want in checks if got != want]
    for got, want in bad:
        print(f"FAIL: got {got!r}, want {want!r}")
    r = subprocess.run([pivot, "tokenize", "-m", str(VOCAB / "nope.gguf"), "x"], capture_output=True)
    if r.returncode != 1 or b"nope.gguf" not in r.stderr:
        print(f"FAIL: missing file: rc {r.returncode}, {r.stderr!r}")
        bad.append(r)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

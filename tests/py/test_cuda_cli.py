"""`--device cuda[:N]` in `pivot run` and `pivot bench`: without a GPU (or in a
build without the CUDA backend) the CLI prints one clear error line and exits 1;
with a GPU the run succeeds on a cuda device. A malformed --device is a one-line
error either way.
"""
import subprocess
import sys

from common import args, model_path


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def check_cuda_or_clear_error(name, cmd, errors):
    rc, out, err = run(cmd)
    lines = [l for l in err.splitlines() if l.strip()]
    if rc == 0:  # a GPU is present: the run must really have been on it
        ok = "cuda:" in err or "cuda:" in out
        print(f"  {name}: ran on a GPU ({'ok' if ok else 'BAD: no cuda device named'})")
        if not ok:
            errors.append(f"{name}: exit 0 but no cuda device in the output")
        return
    ok = (rc == 1 and len(lines) == 1 and lines[0].startswith("pivot: error: ")
          and "cuda" in lines[0])
    print(f"  {name}: exit {rc}: {lines[-1] if lines else '(no stderr)'} {'ok' if ok else 'BAD'}")
    if not ok:
        errors.append(f"{name}: want exit 1 and one 'pivot: error: ... cuda ...' line, got exit "
                      f"{rc} and stderr {err!r}")


def main():
    a = args()
    model = str(model_path("smollm2"))
    errors = []
    check_cuda_or_clear_error(
        "run --device cuda",
        [a.pivot, "run", "-m", model, "-p", "Hello", "-n", "2", "--temp", "0", "--device", "cuda"],
        errors)
    check_cuda_or_clear_error(
        "run --backend cuda",
        [a.pivot, "run", "-m", model, "-p", "Hello", "-n", "2", "--temp", "0", "--backend", "cuda"],
        errors)
    check_cuda_or_clear_error(
        "bench --device cuda:0",
        [a.pivot, "bench", "-m", model, "-p", "8", "-n", "4", "-r", "1", "--device", "cuda:0"],
        errors)
    for bad in ("cuda:x", "cuda:", "cuda:-1"):
        rc, _, err = run([a.pivot, "run", "-m", model, "-p", "Hi", "-n", "1", "--device", bad])
        lines = [l for l in err.splitlines() if l.strip()]
        ok = rc == 1 and len(lines) == 1 and "--device" in lines[0]
        print(f"  --device {bad}: exit {rc}: {lines[-1] if lines else ''} {'ok' if ok else 'BAD'}")
        if not ok:
            errors.append(f"--device {bad}: want one '--device' error line, got {err!r}")
    rc, out, err = run([a.pivot, "run", "-m", model, "-p", "Hi", "-n", "2", "--temp", "0",
                        "--device", "cpu"])
    print(f"  --device cpu: exit {rc} {'ok' if rc == 0 else 'BAD'}")
    if rc != 0:
        errors.append(f"--device cpu failed: {err!r}")
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

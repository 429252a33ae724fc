"""`pivot template` renders like transformers (goldens in tests/golden/templates/renders)."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, args, model_path

RENDERS = ROOT / "tests/golden/templates/renders"


def case(template, name):
    doc = json.loads((RENDERS / f"{template}.json").read_text(encoding="utf-8"))
    return doc, next(c for c in doc["cases"] if c["name"] == name)


def run(pivot, *argv):
    return subprocess.run([pivot, "template", *map(str, argv)], capture_output=True)


def main():
    pivot = args().pivot
    failures = []
    tmp = Path(tempfile.mkdtemp())

    def check(what, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(f"{what}: {detail}")

    # A template file, extra variables as --var, tools from a file.
    for template, name in [("Qwen-Qwen3-0.6B", "enable_thinking_false"), ("Qwen-Qwen3-0.6B", "tools"),
                           ("meta-llama-Llama-3.1-8B-Instruct", "non_ascii")]:
        doc, c = case(template, name)
        (tmp / "m.json").write_text(json.dumps(c["messages"], ensure_ascii=False), encoding="utf-8")
        argv = ["--template", ROOT / doc["template"], "--messages", tmp / "m.json", "--now", doc["now"]]
        if c["tools"] is not None:
            (tmp / "t.json").write_text(json.dumps(c["tools"]), encoding="utf-8")
            argv += ["--tools", tmp / "t.json"]
        if c["add_generation_prompt"]:
            argv.append("--add-generation-prompt")
        for k, v in c["extra"].items():
            argv += ["--var", f"{k}={json.dumps(v)}"]
        if doc["bos_token"]:
            argv += ["--bos", doc["bos_token"]]
        if doc["eos_token"]:
            argv += ["--eos", doc["eos_token"]]
        r = run(pivot, *argv)
        got = r.stdout.decode("utf-8", "replace")
        check(f"{template} [{name}]", r.returncode == 0 and got == c["output"],
              r.stderr.decode() + "\n" + got)

    # The model's own template, read from the GGUF.
    doc, c = case("HuggingFaceTB-SmolLM2-135M-Instruct-gguf", "multi_turn_system")
    (tmp / "m.json").write_text(json.dumps(c["messages"]), encoding="utf-8")
    r = run(pivot, "-m", model_path("smollm2"), "--messages", tmp / "m.json")
    check("SmolLM2 GGUF template", r.returncode == 0 and r.stdout.decode() == c["output"],
          r.stderr.decode())

    # No template in the GGUF: pivot's built-in template for the architecture (Gemma's
    # turn format), rendering what Google's own template renders, and a warning.
    (tmp / "u.json").write_text('[{"role": "user", "content": "hi"}]', encoding="utf-8")
    doc, c = case("google-gemma-3-it", "multi_turn_system")
    (tmp / "g.json").write_text(json.dumps(c["messages"], ensure_ascii=False), encoding="utf-8")
    r = run(pivot, "-m", model_path("gemma3"), "--messages", tmp / "g.json",
            *(["--add-generation-prompt"] if c["add_generation_prompt"] else []))
    check("gemma3 GGUF without template -> built-in Gemma template + warning",
          r.returncode == 0 and r.stdout.decode() == c["output"] and b"warning" in r.stderr
          and b"Gemma" in r.stderr, r.stderr.decode() + "\n" + r.stdout.decode())

    # A broken template: an error with file, line and column, exit code 1, no crash.
    (tmp / "bad.jinja").write_text("ok\n{% for m in messages %}{{ m.content ", encoding="utf-8")
    r = run(pivot, "--template", tmp / "bad.jinja", "--messages", tmp / "u.json")
    check("syntax error reports line:column", r.returncode == 1 and b"bad.jinja:2:" in r.stderr,
          r.stderr.decode())

    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()

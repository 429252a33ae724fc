#!/usr/bin/env python3
"""Golden renders of real chat templates, made by Hugging Face transformers itself.

Each template (tests/data/chat-templates/*.jinja and tests/golden/templates/templates/*.jinja)
is rendered over every conversation in conversations.json with transformers'
render_jinja_template (jinja2 sandbox, trim_blocks, lstrip_blocks, HF's tojson, raise_exception,
strftime_now), after the same message normalization apply_chat_template does. Output:
renders/<template>.json with, per case, the inputs (messages, tools, extra variables,
add_generation_prompt; bos/eos and the clock per file) and the exact text or the error raised.
The C++ test (tests/unit/template_golden_test.cc) renders the same inputs and compares bytes.

Run with the oracle venv:  .venv-oracle/bin/python tests/golden/templates/generate.py
(needs jinja2 >= 3.1.6 and transformers; strftime_now is frozen at NOW, in UTC).
"""
import datetime as dt
import json
import sys
from pathlib import Path

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
NOW = 1741962566  # 2025-03-14 14:29:26 UTC: what strftime_now() sees

# bos/eos text as each family's tokenizer defines it (None: the tokenizer has none).
TOKENS = [
    ("meta-llama", "<|begin_of_text|>", "<|eot_id|>"),
    ("NousResearch", "<|begin_of_text|>", "<|im_end|>"),
    ("fireworks", "<|begin_of_text|>", "<|eot_id|>"),
    ("meetkai", "<|begin_of_text|>", "<|eot_id|>"),
    ("deepseek", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("llama-cpp-deepseek", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("google", "<bos>", "<eos>"),
    ("Qwen", None, "<|im_end|>"),
    ("CohereForAI", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    ("HuggingFaceTB", "<|im_start|>", "<|im_end|>"),
    ("Mistral", "<s>", "</s>"),
    ("microsoft", "<s>", "<|endoftext|>"),
    ("openai", "<|startoftext|>", "<|return|>"),
    ("ibm", "<|end_of_text|>", "<|end_of_text|>"),
    ("moonshotai", "[BOS]", "[EOS]"),
    ("GLM", None, "<|endoftext|>"),
]


# Variables some templates need beyond HF's standard context: tool-use variants are only
# used with tools, Command R+ wants Cohere's tool format, FireFunction a `functions` string.
COHERE_TOOLS = [
    {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameter_definitions": {
            "city": {"description": "City name, e.g. Zürich", "type": "str", "required": True},
            "unit": {"description": "celsius or fahrenheit", "type": "str", "required": False},
        },
    }
]


def context_for(stem, case, default_tools):
    tools, extra = case.get("tools"), dict(case.get("extra", {}))
    if stem.startswith("NousResearch") and tools is None:
        tools = default_tools
    if stem.startswith("CohereForAI"):
        tools = COHERE_TOOLS
    if stem.startswith("fireworks"):
        extra.setdefault("functions", json.dumps(tools or default_tools, ensure_ascii=False))
        extra.setdefault("datetime", "2025-03-14")
    return tools, extra


class FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return dt.datetime.fromtimestamp(NOW, dt.timezone.utc).replace(tzinfo=None)


def templates():
    out = sorted((ROOT / "tests/data/chat-templates").glob("*.jinja"))
    out += sorted((HERE / "templates").glob("*.jinja"))
    return out


def tokens_for(stem):
    for prefix, bos, eos in TOKENS:
        if stem.startswith(prefix):
            return bos, eos
    return "<s>", "</s>"


def render(source, case, bos, eos):
    """case: messages, tools, extra, add_generation_prompt — exactly what the C++ test passes."""
    kwargs = {}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    kwargs.update(case.get("extra", {}))
    # apply_chat_template: normalize (drop None-valued keys), then render_jinja_template.
    messages = ctu._normalize_chat_messages(json.loads(json.dumps(case["messages"])))
    rendered, _ = ctu.render_jinja_template(
        conversations=[messages],
        tools=case.get("tools"),
        documents=None,
        chat_template=source,
        add_generation_prompt=case["add_generation_prompt"],
        **kwargs,
    )
    return rendered[0]


def main():
    ctu.datetime = FrozenDatetime
    cases = json.loads((HERE / "conversations.json").read_text(encoding="utf-8"))
    outdir = HERE / "renders"
    outdir.mkdir(exist_ok=True)
    for path in templates():
        source = path.read_bytes().decode("utf-8")
        bos, eos = tokens_for(path.stem)
        default_tools = next(c["tools"] for c in cases if c["name"] == "tools")
        results = []
        for base in cases:
            tools, extra = context_for(path.stem, base, default_tools)
            case = {
                "name": base["name"],
                "add_generation_prompt": base["add_generation_prompt"],
                "messages": base["messages"],
                "tools": tools,
                "extra": extra,
            }
            r = dict(case)
            try:
                r["output"] = render(source, case, bos, eos)
            except Exception as e:  # what jinja2 / the template raised is the expected result
                r["error_type"] = type(e).__name__
                r["error"] = str(e)
            results.append(r)
        doc = {
            "template": str(path.relative_to(ROOT)),
            "bos_token": bos,
            "eos_token": eos,
            "now": NOW,
            "generator": f"transformers {transformers.__version__}, jinja2 {jinja2.__version__}",
            "cases": results,
        }
        out = outdir / (path.stem + ".json")
        out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        ok = sum("output" in r for r in results)
        print(f"{path.stem}: {ok} rendered, {len(results) - ok} raised", file=sys.stderr)


def snippets():
    """Small feature-by-feature templates (snippets.json) rendered in the same environment."""
    out = []
    for case in json.loads((HERE / "snippets.json").read_text(encoding="utf-8")):
        r = {"t": case["t"], "ctx": case.get("ctx", {})}
        try:
            r["output"] = ctu._compile_jinja_template(case["t"]).render(**r["ctx"])
        except Exception as e:
            r["error_type"] = type(e).__name__
            r["error"] = str(e)
        out.append(r)
    doc = {"now": NOW, "cases": out}
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    (HERE / "snippets_renders.json").write_text(text, encoding="utf-8")
    print(f"snippets: {len(out)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
    snippets()

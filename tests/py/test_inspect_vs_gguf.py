"""`pivot inspect --json` agrees with gguf-py's GGUFReader on every key and tensor
of both real models (and of every vocabulary file in ../shared/testdata)."""
import json
import math
import subprocess
import sys

import gguf
import numpy as np

from common import ROOT, MODELS, args, model_path

TYPE_NAMES = {t.value: t.name.lower() for t in gguf.GGUFValueType}


def py_value(field):
    if field.types[0] == gguf.GGUFValueType.ARRAY and len(field.types) > 2:
        raise NotImplementedError("nested arrays are not in these files")
    return field.contents()


def same(a, b, ftype):
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(
            same(x, y, ftype) for x, y in zip(a, b))
    if ftype == gguf.GGUFValueType.FLOAT32:
        return np.float32(a) == np.float32(b) or (math.isnan(a) and math.isnan(b))
    if isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b and type(a) is type(b)


def compare(pivot, path):
    out = subprocess.run([pivot, "inspect", "--json", str(path)], capture_output=True, check=True)
    mine = json.loads(out.stdout)
    ref = gguf.GGUFReader(str(path))
    errors = []
    keys = [k for k in ref.fields if not k.startswith("GGUF.")]
    if keys != list(mine["metadata"]):
        errors.append(f"key lists differ: {set(keys) ^ set(mine['metadata'])}")
    for k in keys:
        f = ref.fields[k]
        elem = f.types[-1]
        want = py_value(f)
        got = mine["metadata"].get(k)
        if not same(got, want, elem):
            errors.append(f"{k}: pivot {str(got)[:80]} != gguf {str(want)[:80]}")
        label = TYPE_NAMES[f.types[0].value]
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            label = f"[{TYPE_NAMES[elem.value]} x {len(f.data)}]"
        if mine["metadata_types"][k] != label:
            errors.append(f"{k}: type {mine['metadata_types'][k]} != {label}")
    if len(ref.tensors) != len(mine["tensors"]):
        errors.append(f"tensor count {len(mine['tensors'])} != {len(ref.tensors)}")
    if ref.tensors and mine["data_offset"] != ref.data_offset:
        errors.append(f"data_offset {mine['data_offset']} != {ref.data_offset}")
    for t, m in zip(ref.tensors, mine["tensors"]):
        want = {"name": t.name, "type": gguf.GGMLQuantizationType(t.tensor_type).name,
                "shape": [int(x) for x in t.shape], "offset": int(t.data_offset) - ref.data_offset,
                "bytes": int(t.n_bytes)}
        if m != want:
            errors.append(f"tensor {t.name}: pivot {m} != gguf {want}")
    params = sum(int(t.n_elements) for t in ref.tensors)
    if mine["totals"]["parameters"] != params:
        errors.append(f"parameters {mine['totals']['parameters']} != {params}")
    print(f"{path.name}: {len(keys)} keys, {len(ref.tensors)} tensors, {len(errors)} differences")
    for e in errors[:20]:
        print("  " + e)
    return not errors


def main():
    a = args()
    files = [model_path(name) for name in MODELS]
    files += sorted((ROOT / "tests/data/tokenizer-vectors").glob("*.gguf"))
    ok = all([compare(a.pivot, p) for p in files])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

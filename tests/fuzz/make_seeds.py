"""Writes the GGUF fuzz seed corpus (tests/fuzz/corpus/gguf) with gguf-py.
Run: .venv/bin/python tests/fuzz/make_seeds.py  (deterministic output)."""
from pathlib import Path

import gguf
import numpy as np

OUT = Path(__file__).parent / "corpus/gguf"


def write(name, arch="llama", tensors=(), alignment=None, kv=True):
    OUT.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(OUT / name), arch)
    if alignment:
        w.add_custom_alignment(alignment)
    if kv:
        w.add_uint8("t.u8", 7)
        w.add_int8("t.i8", -7)
        w.add_uint16("t.u16", 700)
        w.add_int16("t.i16", -700)
        w.add_uint32("t.u32", 70000)
        w.add_int32("t.i32", -70000)
        w.add_float32("t.f32", 0.5)
        w.add_uint64("t.u64", 2**40)
        w.add_int64("t.i64", -(2**40))
        w.add_float64("t.f64", 0.25)
        w.add_bool("t.bool", True)
        w.add_string("t.str", "héllo")
        w.add_array("t.arr", ["a", "bb", "ccc"])
        w.add_array("t.nested", [[1, 2], [3]])
    for tname, arr, raw_type in tensors:
        w.add_tensor(tname, arr, raw_dtype=raw_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    rng = np.random.default_rng(0)
    q = gguf.GGMLQuantizationType
    f32 = rng.standard_normal((4, 32)).astype(np.float32)
    write("kv_only.gguf")
    write("no_kv.gguf", kv=False, tensors=[("a", f32, None)])
    write("f32_f16.gguf", tensors=[("a", f32, None), ("b", f32.astype(np.float16), None)])
    q40 = gguf.quants.quantize(f32, q.Q4_0)
    q80 = gguf.quants.quantize(f32, q.Q8_0)
    write("quant.gguf", tensors=[("w.q4_0", q40, q.Q4_0), ("w.q8_0", q80, q.Q8_0)])
    write("align64.gguf", alignment=64, tensors=[("a", f32, None), ("b", f32[:1], None)])


if __name__ == "__main__":
    main()

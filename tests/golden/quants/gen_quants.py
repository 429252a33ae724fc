#!/usr/bin/env python3
"""Golden data for pivot's GGUF block formats (src/format/quant.cc), from gguf-py.

Regenerate (from the repo root; deterministic, fixed seed):
    .venv/bin/python tests/golden/quants/gen_quants.py

Files written next to this script; every integer and float is little-endian:

  inputs.bin          f32 rows that the quantizers are fed
      magic "PVQI", u32 version (1), u32 n_rows, u32 n_finite_rows, u32 row_len,
      then n_rows * row_len f32. Rows [0, n_finite_rows) are finite (all types);
      the rest hold NaN/inf and conversion edge cases (F32/F16/BF16 only).

  <TYPE>.dequant.bin  blocks and what gguf.quants.dequantize makes of them
      magic "PVQD", u32 version (1), u32 ggml type id, u32 n_blocks,
      then n_blocks * type_size bytes of blocks, then n_blocks * block_size f32.

  <TYPE>.quant.bin    what gguf.quants.quantize makes of the first n_rows input rows
      magic "PVQQ", u32 version (1), u32 ggml type id, u32 n_rows,
      then n_rows * (row_len / block_size * type_size) bytes.

Dequantization blocks are random bytes with the f16 scale fields overwritten by
finite values from a realistic range (plus a few edge blocks: 0, -0, 65504,
subnormal, and inf and NaN in one field), so that every bit of every field reaches the output.
gguf-py cannot dequantize Q8_K; its expected output is d * qs computed here with
numpy from the ggml-common.h layout (f32 d, int8 qs[256], int16 bsums[16]).
gguf-py quantizes only F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (of pivot's
types); the K-quant quantizers are checked by error bounds in quant_test.cc.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

OUT = Path(__file__).resolve().parent
VERSION = 1
ROW_LEN = 256
SEED = 20240611

DEQUANT_TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1,
                 T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K]
QUANT_TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]

# Byte offsets of the f16 scale fields in each block (ggml-common.h).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
EDGE_F16 = [0.0, -0.0, 65504.0, -65504.0, 2.0**-24, -(2.0**-14), np.inf, np.nan]


def random_scales(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Log-uniform magnitudes in [10^lo, 10^hi] with random signs."""
    mag = 10.0 ** rng.uniform(lo, hi, n)
    return (mag * rng.choice([-1.0, 1.0], n)).astype(np.float32)


def dequant_blocks(rng: np.random.Generator, qtype: T) -> np.ndarray:
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if block_size == 1:  # plain types: random bit patterns plus edge values
        n = 4096
        raw = rng.integers(0, 256, n * type_size, dtype=np.uint8)
        if qtype == T.F16:
            edges = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff,
                              0x7c00, 0xfc00, 0x7c01, 0x7e00, 0xfe00, 0x7fff, 0x3c00, 0x3555],
                             dtype=np.uint16)
        elif qtype == T.BF16:
            edges = np.array([0x0000, 0x8000, 0x0001, 0x807f, 0x0080, 0x7f7f, 0xff7f,
                              0x7f80, 0xff80, 0x7f81, 0x7fc0, 0xffc0, 0x3f80, 0x3eaa],
                             dtype=np.uint16)
        else:
            edges = np.array([0x00000000, 0x80000000, 0x00000001, 0x007fffff, 0x00800000,
                              0x7f7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000,
                              0xffffffff, 0x3f800000], dtype=np.uint32)
        raw[: edges.nbytes] = edges.view(np.uint8)
        return raw.reshape(n, type_size)

    n_blocks = 64 if block_size == 32 else 32
    blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    if qtype == T.Q8_K:
        d = random_scales(rng, n_blocks, -8, 0)
        d[:5] = [0.0, -0.0, 3e38, np.inf, np.nan]
        blocks[:, 0:4] = d.reshape(-1, 1).view(np.uint8)
        return blocks
    for k, off in enumerate(F16_FIELDS[qtype]):
        d = random_scales(rng, n_blocks, -6, 1).astype(np.float16)
        # Edge values in the first blocks, shifted per field; inf and NaN (which make
        # whole blocks NaN) only in the first field.
        edges = EDGE_F16 if k == 0 else EDGE_F16[:-2]
        for i, v in enumerate(edges):
            d[i + 3 * k] = v
        blocks[:, off:off + 2] = d.reshape(-1, 1).view(np.uint8)
    return blocks


def expected_dequant(blocks: np.ndarray, qtype: T) -> np.ndarray:
    if qtype == T.Q8_K:  # not in gguf-py
        d = blocks[:, 0:4].copy().view(np.float32)
        qs = blocks[:, 4:260].copy().view(np.int8)
        return (d * qs.astype(np.float32)).reshape(-1)
    if qtype in (T.F32, T.F16):
        dtype = np.float32 if qtype == T.F32 else np.float16
        return dequantize(blocks.reshape(-1).view(dtype), qtype).reshape(-1)
    return dequantize(blocks, qtype).reshape(-1)


def input_rows(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    n = ROW_LEN
    normal = lambda: rng.standard_normal(n)  # noqa: E731
    rows = [
        np.zeros(n),                                       # all zeros
        np.full(n, -0.0),                                  # negative zeros
        np.full(n, 0.7),                                   # constant
        np.full(n, -1.3),                                  # constant negative
        normal(),
        normal() * 0.02,                                   # typical weights
        normal() * 100.0,
        normal(),                                          # + outliers, below
        normal() * 1e-6,                                   # f16 subnormal scales
        normal() * 1e-9,                                   # scales flush to f16 zero
        -np.abs(normal()),                                 # negative only
        np.abs(normal()) * 3.0,                            # positive only
        rng.uniform(-1.0, 1.0, n),
        np.tile(np.concatenate([[127.0], np.arange(31) - 15.5]), n // 32),   # Q8_0 ties
        np.tile(np.concatenate([[-8.0], np.arange(31) * 0.5 - 7.5]), n // 32),  # Q4_0 ties
        np.where(rng.uniform(size=n) < 0.05, normal(), 0.0),  # sparse
        normal() * np.repeat(10.0 ** rng.uniform(-4, 3, n // 32), 32),  # per-block scale
        normal() * 1e6,                                    # f16 scale overflow
        np.tile([0.25, -0.25], n // 2),                    # |max| ties: first wins
        normal() * 1e-30,                                  # tiny, still normal f32
    ]
    rows[7][37] = 1e4
    rows[7][200] = -3e3
    n_finite = len(rows)

    # Conversion edge cases for F32/F16/BF16, padded with random bit patterns.
    edges = np.array([
        0x7f800001, 0xff800001, 0x7fc00000, 0xffc00000, 0x7f802000, 0x7fbfffff, 0x7fffffff,
        0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001, 0x80000001, 0x007fffff, 0x00800000,
        0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x47800000,  # around f16 max
        0x33000000, 0x33000001, 0x32ffffff, 0x33400000, 0x33c00000,  # f16 subnormal ties
        0x387fc000, 0x387fe000, 0x38800000, 0x3f801000, 0x3f803000,  # f16 ties
        0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, 0x7f7f8000, 0xff7f8000,  # bf16 ties
    ], dtype=np.uint32)
    special = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    special[: len(edges)] = edges
    random_bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    data = np.stack([np.asarray(r, dtype=np.float32) for r in rows])
    data = np.concatenate([data, special.view(np.float32)[None], random_bits.view(np.float32)[None]])
    return data, n_finite


def write(path: Path, header: bytes, *payloads: np.ndarray) -> int:
    blob = header + b"".join(p.tobytes() for p in payloads)
    path.write_bytes(blob)
    return len(blob)


def main() -> None:
    rng = np.random.default_rng(SEED)
    np.seterr(all="ignore")  # inf/NaN edge blocks and the f16 casts of the special rows
    total = 0

    for qtype in DEQUANT_TYPES:
        blocks = dequant_blocks(rng, qtype)
        out = expected_dequant(blocks, qtype).astype(np.float32, copy=False)
        assert out.size == blocks.shape[0] * GGML_QUANT_SIZES[qtype][0]
        header = b"PVQD" + struct.pack("<III", VERSION, int(qtype), blocks.shape[0])
        total += write(OUT / f"{qtype.name}.dequant.bin", header, blocks, out)

    data, n_finite = input_rows(rng)
    header = b"PVQI" + struct.pack("<IIII", VERSION, data.shape[0], n_finite, ROW_LEN)
    total += write(OUT / "inputs.bin", header, data)

    for qtype in QUANT_TYPES:
        n_rows = data.shape[0] if GGML_QUANT_SIZES[qtype][0] == 1 else n_finite
        q = np.asarray(quantize(data[:n_rows], qtype))
        header = b"PVQQ" + struct.pack("<III", VERSION, int(qtype), n_rows)
        total += write(OUT / f"{qtype.name}.quant.bin", header, q.view(np.uint8))

    print(f"wrote {len(DEQUANT_TYPES) + len(QUANT_TYPES) + 1} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()

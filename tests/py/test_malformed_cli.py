"""`pivot inspect` on malformed GGUF files: each exits 1 with exactly one line on
stderr ("pivot: error: PATH: offset 0x..: ...") naming the problem; never a crash
or a sanitizer report. Files are built here field by field."""
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from common import args


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv_u32(key, v):
    return s(key) + struct.pack("<II", 4, v)


def tensor(name, dims, ttype, offset):
    return s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims) + \
        struct.pack("<IQ", ttype, offset)


def gguf(kvs=None, tensors=None, data=1024, version=3, magic=b"GGUF", n_kv=None, n_t=None,
         align=32):
    kvs = [s("general.architecture") + struct.pack("<I", 8) + s("llama")] if kvs is None else kvs
    tensors = [tensor("a", [32, 4], 0, 0), tensor("b", [64], 8, 512)] if tensors is None else tensors
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_t is None else n_t,
                               len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    body += b"\0" * (-len(body) % align)
    return body + bytes(i % 251 for i in range(data))


def cases():
    ok = gguf(data=512 + 68)  # exactly the bytes the two tensors need
    yield "valid", ok, None
    header_end = 24
    kv_end = header_end + len(s("general.architecture")) + 4 + len(s("llama"))
    yield "truncated in magic", ok[:3], "magic"
    yield "truncated in version", ok[:6], "version"
    yield "truncated in counts", ok[:20], "kv_count"
    yield "counts past end", ok[:header_end + 10], "cannot fit"
    big = [kv_u32(f"k{i}", i) for i in range(40)]
    full = gguf(kvs=big, data=580)
    at30 = header_end + len(b"".join(big[:30]))  # counts still fit when cut past here
    yield "truncated in key", full[:at30 + 9], "key length 3 runs past the end"
    yield "truncated in value", full[:at30 + len(big[30]) - 2], "truncated: uint32 value"
    yield "truncated in tensor info", full[:header_end + len(b"".join(big)) + 12], "truncated"
    yield "truncated in data", ok[:-8], "past the end of the data section"
    yield "bad magic", b"GGML" + ok[4:], "bad magic"
    yield "version 1", gguf(version=1), "version 1"
    yield "version 4", gguf(version=4), "unsupported GGUF version 4"
    yield "huge kv_count", gguf(n_kv=2**63), "kv_count"
    yield "huge tensor_count", gguf(n_t=2**40), "tensor_count"
    yield "huge string", gguf(kvs=[s("k") + struct.pack("<IQ", 8, 2**60)]), "string value length"
    yield "huge array", gguf(kvs=[s("k") + struct.pack("<IIQ", 9, 4, 2**50)]), "array of"
    yield "unknown value type", gguf(kvs=[s("k") + struct.pack("<IB", 99, 0)]), "unknown value type 99"
    yield "duplicate key", gguf(kvs=[kv_u32("x", 1), kv_u32("x", 2)]), "duplicate metadata key 'x'"
    yield "alignment not pow2", gguf(kvs=[kv_u32("general.alignment", 24)]), "not a power of two"
    yield "n_dims 0", gguf(tensors=[tensor("a", [], 0, 0)]), "n_dims 0"
    yield "n_dims 7", gguf(tensors=[tensor("a", [1] * 7, 0, 0)]), "n_dims 7"
    yield "dims overflow", gguf(tensors=[tensor("a", [2**40, 2**40], 0, 0)]), "overflows"
    yield "unknown tensor type", gguf(tensors=[tensor("a", [32], 77, 0)]), "unknown tensor type 77"
    yield "removed tensor type", gguf(tensors=[tensor("a", [32], 4, 0)]), "unknown tensor type 4"
    yield "bad block multiple", gguf(tensors=[tensor("a", [33], 2, 0)]), "block size"
    yield "offset past end", gguf(tensors=[tensor("a", [32], 0, 2**20)]), "past the end"
    yield "offset wraps", gguf(tensors=[tensor("a", [32], 0, 2**64 - 64)]), "past the end"
    yield "misaligned", gguf(tensors=[tensor("a", [32], 0, 8)]), "not a multiple of the alignment"
    yield "overlapping", gguf(tensors=[tensor("a", [64], 0, 0), tensor("b", [32], 0, 128)]), "overlaps"
    yield "duplicate tensor", gguf(tensors=[tensor("a", [8], 0, 0), tensor("a", [8], 0, 32)]), \
        "duplicate tensor name 'a'"
    yield "empty file", b"", "magic"


def main():
    pivot = args().pivot
    failures = 0
    n = 0
    with tempfile.TemporaryDirectory() as d:
        for name, data, want in cases():
            n += 1
            p = Path(d) / (name.replace(" ", "_") + ".gguf")
            p.write_bytes(data)
            r = subprocess.run([pivot, "inspect", str(p)], capture_output=True, text=True,
                               timeout=30)
            lines = r.stderr.splitlines()
            if want is None:
                good = r.returncode == 0
            else:
                good = (r.returncode == 1 and len(lines) == 1 and
                        lines[0].startswith("pivot: error: ") and
                        want in lines[0].split(": offset ", 1)[-1])
            print(f"{'ok  ' if good else 'FAIL'} {name}: rc={r.returncode} {r.stderr.strip()[:200]}")
            failures += not good
    print(f"{n - failures}/{n} cases behave")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

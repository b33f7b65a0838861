"""Random but valid blocks of every ggml type the runtime reads, dequantized by gguf-py's
reference NumPy code, written to Tests/VLMRuntimeTests/Fixtures/dequant.json so the Swift
dequantizers can be checked bit for bit without Python in CI. Format: one object per type name,
{"count": values, "bytes_base64": the raw blocks, "values_f32_base64": little-endian float32}.

Block bytes are random except the f16 scale fields, which are set to finite values: mostly of a
realistic range, but one block per type has a subnormal scale and one a negative scale (a random
f16 bit pattern could be inf/NaN). F16 and BF16 values are random finite bit patterns plus the
edge cases (signed zeros, smallest and largest subnormals, smallest normal, largest finite), so
the half-precision conversions are checked exactly where they are easiest to get wrong.
Run: .venv/bin/python tools/make_dequant_fixtures.py
"""
import base64, json, os
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize
from gguf.constants import GGML_QUANT_SIZES

rng = np.random.default_rng(2024)

def f16_bytes(n, lo=-0.05, hi=0.05):
    return np.frombuffer(rng.uniform(lo, hi, n).astype(np.float16).tobytes(), np.uint8)

EDGE16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400, 0x8400, 0x7BFF, 0xFBFF, 0x3C00, 0x3555]

def finite_bits16(n, exponent_mask, exponent_shift, exponent_max):
    """n random 16-bit patterns whose exponent field is not all ones (no inf/NaN), edges first."""
    bits = rng.integers(0, 1 << 16, n, dtype=np.uint32)
    bad = ((bits & exponent_mask) >> exponent_shift) == exponent_max
    bits[bad] &= ~np.uint32(1 << exponent_shift)
    bits[: len(EDGE16)] = EDGE16
    return np.frombuffer(bits.astype("<u2").tobytes(), np.uint8)

# (type, byte offsets of f16 fields inside a block)
TYPES = {
    "F32": None, "F16": None, "BF16": None,
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
}

out = {}
for name, f16_fields in TYPES.items():
    qt = T[name]
    block, size = GGML_QUANT_SIZES[qt]
    blocks = (6 if block == 32 else 4) if block > 1 else 128
    if name == "F32":
        raw = np.frombuffer(rng.normal(0, 1, blocks).astype(np.float32).tobytes(), np.uint8)
    elif name == "F16":
        raw = finite_bits16(blocks, 0x7C00, 10, 0x1F)
    elif name == "BF16":
        # BF16's edge cases are F16's bit patterns read as BF16: zeros, tiny subnormals, etc.
        raw = finite_bits16(blocks, 0x7F80, 7, 0xFF).view("<u2").copy()
        # Keep magnitudes below 2^32 so the mat-vec test's sums stay far from Float's range.
        big = ((raw >> 7) & 0xFF) > 0x9F
        raw[big] = (raw[big] & 0x807F) | (0x9F << 7)
        raw = raw.view(np.uint8)
    else:
        raw = rng.integers(0, 256, blocks * size, dtype=np.uint8)
        for b in range(blocks):
            for off in f16_fields:
                raw[b * size + off: b * size + off + 2] = f16_bytes(1)
        # Block 1: a subnormal f16 scale; block 2: a negative scale of ordinary size.
        off = f16_fields[0]
        raw[size + off: size + off + 2] = np.frombuffer(np.uint16(rng.integers(1, 0x400)).tobytes(), np.uint8)
        raw[2 * size + off: 2 * size + off + 2] = f16_bytes(1, -0.05, -0.01)
    values = dequantize(raw.copy(), qt).reshape(-1)
    out[name] = {"count": int(values.size),
                 "bytes_base64": base64.b64encode(raw.tobytes()).decode(),
                 "values_f32_base64": base64.b64encode(values.astype("<f4").tobytes()).decode()}

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLMRuntimeTests", "Fixtures", "dequant.json")
with open(path, "w") as f:
    json.dump(out, f)
print(path, os.path.getsize(path) // 1024, "KB")

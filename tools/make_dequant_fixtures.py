"""Random but valid blocks of every ggml type the runtime reads, dequantized by gguf-py's
reference NumPy code, written to Tests/VLMRuntimeTests/Fixtures/dequant.json so the Swift
dequantizers can be checked value for value without Python in CI.

Block bytes are random except the f16 scale fields, which are set to finite values of a
realistic range (a random f16 bit pattern could be inf/NaN). Run: .venv/bin/python tools/make_dequant_fixtures.py
"""
import json, os
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize
from gguf.constants import GGML_QUANT_SIZES

rng = np.random.default_rng(2024)

def f16_bytes(n, lo=-0.05, hi=0.05):
    return np.frombuffer(rng.uniform(lo, hi, n).astype(np.float16).tobytes(), np.uint8)

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
    blocks = 4 if block > 1 else 64
    if name == "F32":
        raw = np.frombuffer(rng.normal(0, 1, blocks).astype(np.float32).tobytes(), np.uint8)
    elif name == "F16":
        raw = f16_bytes(blocks, -3, 3)
    elif name == "BF16":
        raw = np.frombuffer((rng.normal(0, 1, blocks).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes(), np.uint8)
    else:
        raw = rng.integers(0, 256, blocks * size, dtype=np.uint8)
        for b in range(blocks):
            for off in f16_fields:
                raw[b * size + off: b * size + off + 2] = f16_bytes(1)
    values = dequantize(raw.copy(), qt).reshape(-1)
    out[name] = {"count": int(values.size), "bytes": raw.tolist(), "values": [float(v) for v in values.astype(np.float32)]}

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLMRuntimeTests", "Fixtures", "dequant.json")
with open(path, "w") as f:
    json.dump(out, f)
print(path, os.path.getsize(path) // 1024, "KB")

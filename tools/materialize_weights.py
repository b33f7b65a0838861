"""Turns a generated-weights fixture (a model directory whose weights.json lists each tensor's
generator parameters instead of its values: Tests/VisionTests/Fixtures/vlms/qwen2_5_vl,
qwen3_vl) into a loadable model directory: the fixture's files plus model.safetensors.

    .venv/bin/python tools/materialize_weights.py Tests/VisionTests/Fixtures/vlms/qwen2_5_vl /tmp/qwen25

The values are the ones tools/make_qwen_vl_fixtures.py gave transformers and the Swift tests
(GeneratedWeights.swift) generate: value = offset + scale * (((splitmix64(fnv1a64(name) + i) >> 56)
- 128) / 128), stored as the tensor's dtype (BF16 or F32; every value is exact in BF16).
Needs numpy only.
"""
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

MASK = (1 << 64) - 1


def fnv1a64(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def levels(name: str, count: int) -> np.ndarray:
    """splitmix64(seed + i) >> 56 for i < count, in uint64 arithmetic (wrapping as the spec's mod 2^64)."""
    with np.errstate(over="ignore"):
        z = np.arange(count, dtype=np.uint64) + np.uint64(fnv1a64(name)) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(56)).astype(np.int32)


def tensor_bytes(t: dict) -> bytes:
    count = int(np.prod(t["shape"])) if t["shape"] else 1
    values = (np.float32(t["offset"]) + np.float32(t["scale"]) * ((levels(t["name"], count) - 128) / 128).astype(np.float32)).astype(np.float32)
    total = float(values.astype(np.float64).sum())
    if abs(total - t["sum"]) > 1e-3 * max(1.0, t["abs_sum"]):
        raise SystemExit(f"{t['name']}: generated sum {total} is not the fixture's {t['sum']} (generator mismatch)")
    if t["dtype"] == "BF16":
        return (values.view(np.uint32) >> np.uint32(16)).astype(np.uint16).tobytes()
    return values.tobytes()


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: materialize_weights.py FIXTURE_DIR OUT_DIR")
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    spec = json.loads((src / "weights.json").read_text())
    if spec.get("generator") != "fnv1a64-splitmix64-int8":
        raise SystemExit(f"{src}/weights.json: unknown generator {spec.get('generator')!r}")
    out.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.name != "weights.json":
            shutil.copy(f, out / f.name)
    header, blobs, offset = {}, [], 0
    for t in spec["tensors"]:
        data = tensor_bytes(t)
        header[t["name"]] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(out / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for b in blobs:
            f.write(b)
    print(f"{out}: {len(spec['tensors'])} tensors, {offset / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

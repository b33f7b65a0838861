"""Turns a generated-weights fixture (a model directory whose weights.json lists each tensor's
generator parameters instead of its values: Tests/VisionTests/Fixtures/vlms/qwen2_5_vl,
qwen3_vl, gemma3) into a loadable model directory: the fixture's files plus model.safetensors.

    .venv/bin/python tools/materialize_weights.py Tests/VisionTests/Fixtures/vlms/qwen2_5_vl /tmp/qwen25

The values are the ones tools/make_qwen_vl_fixtures.py (and make_gemma3_fixtures.py) gave
transformers and the Swift tests (GeneratedWeights.swift) generate, by tools/qwen_vl_weights.py's
generator: value = offset + scale * (((splitmix64(fnv1a64(name) + i) >> 56) - 128) / 128), stored
as the tensor's dtype (BF16 or F32; every BF16 value is exact), each tensor's sums checked against
weights.json exactly.
Needs numpy only.
"""
import json
import os
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen_vl_weights import generate  # noqa: E402  (numpy only: the generator the fixtures were made with)


def tensor_bytes(t: dict) -> bytes:
    values, total, abs_total = generate(t["name"], tuple(t["shape"]), t["offset"], t["scale"])
    if (total, abs_total) != (t["sum"], t["abs_sum"]):
        raise SystemExit(f"{t['name']}: generated sums {total}, {abs_total} are not the fixture's (generator mismatch)")
    values = values.reshape(-1)
    if t["dtype"] == "BF16":
        return (values.view(np.uint32) >> np.uint32(16)).astype(np.uint16).tobytes()
    return values.astype("<f4").tobytes()


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

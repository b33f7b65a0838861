"""Expected values for Tests/VLMRuntimeTests/RealGGUFTests.swift, read from the real model
files by gguf-py (an independent GGUF reader and NumPy dequantizer): a few metadata values,
the tensor count and type histogram, and whole rows of a few tensors of every type present.

Rows are stored as base64 of little-endian float32, so the Swift test can compare bit for bit.
Output: Tests/VLMRuntimeTests/Fixtures/real_gguf_rows.json (~50 KB).
Run: .venv/bin/python tools/make_real_gguf_fixtures.py  (models in $VLM_MODELS or ~/.cache/vlm/models)
"""
import base64, json, os
from collections import Counter
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

MODELS = os.environ.get("VLM_MODELS") or os.path.expanduser("~/.cache/vlm/models")

# file -> (metadata keys to record, [(tensor name, [row indices])])
PLAN = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": (
        ["general.architecture", "llama.block_count", "llama.embedding_length", "llama.rope.freq_base"],
        [("token_embd.weight", [0, 49151]),            # Q8_0, the tied output head
         ("blk.0.attn_q.weight", [7]),                 # Q4_1
         ("blk.29.ffn_down.weight", [575]),            # Q4_1, 1536 columns
         ("output_norm.weight", [0])]),                # F32
    "gemma-3-270m-q4_k_m.gguf": (
        ["general.architecture", "gemma3.block_count", "gemma3.embedding_length", "gemma3.rope.freq_base"],
        [("token_embd.weight", [0, 262143]),           # Q8_0
         ("blk.0.attn_q.weight", [5]),                 # Q5_0
         ("blk.0.attn_output.weight", [100]),          # Q4_K, 1024 columns
         ("blk.0.ffn_down.weight", [639]),             # Q6_K, 2048 columns
         ("output_norm.weight", [0])]),                # F32
}

out = {}
for fname, (keys, picks) in PLAN.items():
    r = GGUFReader(os.path.join(MODELS, fname))
    meta = {}
    for k in keys:
        v = r.fields[k].contents()
        meta[k] = v.item() if hasattr(v, "item") else v
    tensors = {t.name: t for t in r.tensors}
    rows = []
    for name, indices in picks:
        t = tensors[name]
        data = t.data if t.data.ndim > 1 else t.data.reshape(1, -1)
        for i in indices:
            row = np.asarray(data[i])
            values = row.astype(np.float32) if t.tensor_type.name in ("F32", "F16") else dequantize(row, t.tensor_type)
            values = np.asarray(values, dtype="<f4").reshape(-1)
            rows.append({"tensor": name, "type": t.tensor_type.name, "shape": [int(n) for n in t.shape],
                         "row": i, "values_f32_base64": base64.b64encode(values.tobytes()).decode()})
    out[fname] = {
        "tensor_count": len(r.tensors),
        "kv_count": len(r.fields) - 3,   # gguf-py adds GGUF.version/tensor_count/kv_count
        "type_counts": dict(Counter(t.tensor_type.name for t in r.tensors)),
        "metadata": meta,
        "rows": rows,
    }

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLMRuntimeTests", "Fixtures", "real_gguf_rows.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(path, os.path.getsize(path) // 1024, "KB")

"""An independent NumPy reference for Gemma 3 text models stored as GGUF: weights dequantized
by gguf-py (llama.cpp's own Python package), the forward pass written from the Gemma 3 paper
and transformers' modeling_gemma3.py, in float64. Prints/saves the last-position logits and a
greedy continuation so `vlm logits` can be compared with it (issue 3, check 2).

Usage: .venv/bin/python tools/gemma3_reference.py MODEL.gguf --ids 2,669,... [--out ref.npy] [--greedy 16]
The token ids come from `vlm` (the tokenizer is tested separately against transformers).
"""
import argparse, json
import numpy as np
import gguf
from gguf.quants import dequantize

def load(path):
    r = gguf.GGUFReader(path)
    f = {k: v.contents() for k, v in r.fields.items() if not k.startswith("tokenizer.")}
    W = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float64)
        W[t.name] = a.reshape([int(x) for x in reversed(t.shape.tolist())]) if a.ndim == 1 and len(t.shape) > 1 else a
    return f, W

def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w   # GGUF norms already hold 1 + w

def rope(x, pos, theta):
    # split-half ("NeoX") rotation over the head dimension, as transformers' rotate_half
    d = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    ang = pos[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    c, s = cos[:, None, :], sin[:, None, :]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)

def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))

def forward(f, W, ids):
    p = "gemma3."
    L, H, KV = f[p + "block_count"], f[p + "attention.head_count"], f[p + "attention.head_count_kv"]
    hd, eps = f[p + "attention.key_length"], f[p + "attention.layer_norm_rms_epsilon"]
    window, dim = f[p + "attention.sliding_window"], f[p + "embedding_length"]
    T = len(ids)
    x = W["token_embd.weight"][ids] * np.sqrt(dim)
    pos = np.arange(T, dtype=np.float64)
    for l in range(L):
        b = f"blk.{l}."
        is_global = (l + 1) % 6 == 0
        theta = f[p + "rope.freq_base"] if is_global else 10000.0
        h = rms(x, W[b + "attn_norm.weight"], eps)
        q = (h @ W[b + "attn_q.weight"].T).reshape(T, H, hd)
        k = (h @ W[b + "attn_k.weight"].T).reshape(T, KV, hd)
        v = (h @ W[b + "attn_v.weight"].T).reshape(T, KV, hd)
        q = rope(rms(q, W[b + "attn_q_norm.weight"], eps), pos, theta)
        k = rope(rms(k, W[b + "attn_k_norm.weight"], eps), pos, theta)
        g = H // KV
        k, v = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd)
        i, j = np.arange(T)[:, None], np.arange(T)[None, :]
        mask = (j > i) | ((i - j >= window) if not is_global else False)
        s = np.where(mask[None], -np.inf, s)
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v).reshape(T, H * hd) @ W[b + "attn_output.weight"].T
        x = x + rms(o, W[b + "post_attention_norm.weight"], eps)
        h = rms(x, W[b + "ffn_norm.weight"], eps)
        m = gelu_tanh(h @ W[b + "ffn_gate.weight"].T) * (h @ W[b + "ffn_up.weight"].T)
        x = x + rms(m @ W[b + "ffn_down.weight"].T, W[b + "post_ffw_norm.weight"], eps)
    x = rms(x[-1], W["output_norm.weight"], eps)
    return W["token_embd.weight"] @ x

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("--ids", required=True)
    ap.add_argument("--out"); ap.add_argument("--greedy", type=int, default=16)
    a = ap.parse_args()
    f, W = load(a.model)
    ids = [int(x) for x in a.ids.split(",")]
    logits = forward(f, W, ids)
    if a.out: np.save(a.out, logits.astype(np.float32))
    gen, seq = [], list(ids)
    for _ in range(a.greedy):
        nxt = int(np.argmax(forward(f, W, seq) if gen else logits))
        gen.append(nxt); seq.append(nxt)
    print(json.dumps({"top5": np.argsort(-logits)[:5].tolist(), "greedy": gen}))

if __name__ == "__main__":
    main()

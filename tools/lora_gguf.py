"""LoRA on a transformers Llama-family decoder, saved and loaded in llama.cpp's LoRA GGUF format
(what convert_lora_to_gguf.py writes and vlm's `--lora` / a composed config's `text_adapter` read):
general.type "adapter", adapter.type "lora", adapter.lora.alpha, and per adapted product
`blk.N.<product>.weight.lora_a` (ne [in, rank]) and `.lora_b` (ne [rank, out]).

The base GGUF's q and k rows are permuted for llama.cpp's RoPE (convert_hf_to_gguf.py's
LlamaModel.permute); transformers undoes that when it loads the GGUF, so the adapter trains in
Hugging Face order and lora_b's q and k rows are permuted on the way out (and back on the way in),
as convert_lora_to_gguf.py does, so that each update lands on the base row it was trained for.
"""
import math
import numpy as np
import torch

# Hugging Face module path inside a decoder layer -> the GGUF product name.
PRODUCTS = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
            "mlp.down_proj": "ffn_down"}

class LoRALinear(torch.nn.Module):
    """y = W x + (alpha / rank) * B (A x), W frozen; B starts at zero (the base model's output)."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_a.to(x.dtype).T) @ self.lora_b.to(x.dtype).T * self.scale

def attach(llm, rank, alpha):
    """Wraps every product of every layer; returns {GGUF tensor stem: LoRALinear}."""
    out = {}
    for i, layer in enumerate(llm.model.layers):
        for path, product in PRODUCTS.items():
            parent_path, name = path.split(".")
            parent = getattr(layer, parent_path)
            wrapped = LoRALinear(getattr(parent, name), rank, alpha)
            setattr(parent, name, wrapped)
            out[f"blk.{i}.{product}.weight"] = wrapped
    return out

def _heads(stem, config):
    """The head count llama.cpp's permute uses for a q (attention heads) or k (KV heads) product,
    else None."""
    if ".attn_q." in stem:
        return config.num_attention_heads
    if ".attn_k." in stem:
        return config.num_key_value_heads
    return None

def permute(rows, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute (Hugging Face row order -> llama.cpp's)."""
    return rows.reshape(n_head, 2, rows.shape[0] // n_head // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)

def unpermute(rows, n_head):
    """The inverse (transformers' _reverse_permute_weights)."""
    return rows.reshape(n_head, rows.shape[0] // n_head // 2, 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)

def save(layers, path, config, alpha, dtype=np.float16):
    import gguf, os
    w = gguf.GGUFWriter(path + ".tmp", "llama")
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    for stem, m in layers.items():
        a = m.lora_a.detach().float().cpu().numpy()
        b = m.lora_b.detach().float().cpu().numpy()
        heads = _heads(stem, config)
        if heads:
            b = permute(b, heads)
        # numpy shape (rank, in) is GGUF ne [in, rank]; (out, rank) is ne [rank, out].
        w.add_tensor(stem + ".lora_a", np.ascontiguousarray(a.astype(dtype)))
        w.add_tensor(stem + ".lora_b", np.ascontiguousarray(b.astype(dtype)))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    os.replace(path + ".tmp", path)

def read(path, config):
    """{stem: (A [rank, in], B [out, rank] in Hugging Face row order)} and alpha from an adapter GGUF."""
    import gguf
    r = gguf.GGUFReader(path)
    alpha = float(r.fields["adapter.lora.alpha"].parts[-1][0])
    tensors = {t.name: np.array(t.data, dtype=np.float32) for t in r.tensors}
    out = {}
    for name, a in tensors.items():
        if name.endswith(".lora_a"):
            stem = name[:-len(".lora_a")]
            b = tensors[stem + ".lora_b"]
            heads = _heads(stem, config)
            out[stem] = (a, unpermute(b, heads) if heads else b)
    return out, alpha

def load(layers, path, config):
    """Copies an adapter file's factors into attached layers of the same rank."""
    _copy(layers, read(path, config)[0])

def attach_file(llm, path, scale=1.0):
    """Attaches the adapter in `path` at its own rank and alpha (times `scale`, as `--lora FILE:SCALE`)."""
    factors, alpha = read(path, llm.config)
    rank = next(iter(factors.values()))[0].shape[0]
    layers = attach(llm, rank, alpha * scale)
    _copy(layers, factors)
    return layers

def _copy(layers, factors):
    with torch.no_grad():
        for stem, m in layers.items():
            a, b = factors[stem]
            m.lora_a.copy_(torch.from_numpy(a)); m.lora_b.copy_(torch.from_numpy(b))

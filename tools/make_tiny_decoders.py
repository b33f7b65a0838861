"""Builds tiny random-initialised decoder LLMs with Hugging Face transformers and records
their outputs, so the Swift runtime can be checked against transformers without torch in CI.

For each family (Llama, Qwen2, Gemma 3) it writes, under Tests/VLMRuntimeTests/Fixtures/tiny-<family>/:
  config.json, model.safetensors (or shards + model.safetensors.index.json), and
  expected.json: {"prompt_ids": [...], "last_logits": [...], "greedy_ids": [...]}.

The weights are drawn with a larger spread than the training initialisation (std 0.15) so
that logits are far from ties and greedy decoding is a sharp test. Storage dtypes differ per
family (float32, bfloat16, float16) to exercise every safetensors path; the reference runs in
float32 on exactly the stored values. Gemma 3 uses a sliding window of 6 tokens and 7 layers,
so that both local and global layers, and the window itself, matter within 32 tokens.

Run: .venv-ref/bin/python tools/make_tiny_decoders.py   (needs torch, transformers, safetensors)
"""
import json, os, sys
import torch
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM,
                          Gemma3TextConfig, Gemma3ForCausalLM)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLMRuntimeTests", "Fixtures")
PROMPT = [5, 17, 250, 3, 99, 42, 42, 7, 301, 11, 64, 128]
GREEDY = 20

common = dict(vocab_size=384, hidden_size=64, intermediate_size=128, num_attention_heads=4,
              num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6,
              tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0)

def families():
    yield "llama", torch.float32, None, LlamaForCausalLM(LlamaConfig(
        **common, num_hidden_layers=3, rope_theta=10000.0, hidden_act="silu",
        attn_implementation="eager"))
    yield "qwen2", torch.bfloat16, None, Qwen2ForCausalLM(Qwen2Config(
        **{**common, "tie_word_embeddings": True}, num_hidden_layers=3, rope_theta=1000000.0,
        hidden_act="silu", attn_implementation="eager"))
    gemma = dict(common); gemma["tie_word_embeddings"] = True
    yield "gemma3", torch.float16, "150KB", Gemma3ForCausalLM(Gemma3TextConfig(
        **gemma, num_hidden_layers=7, sliding_window=6, query_pre_attn_scalar=16,
        hidden_activation="gelu_pytorch_tanh", attn_implementation="eager"))

def main():
    for name, dtype, shard, model in families():
        torch.manual_seed(1234)
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname:
                    p.copy_(torch.randn_like(p) * 0.2 + (0.0 if name == "gemma3" else 1.0))
                elif pname.endswith("bias"):
                    p.copy_(torch.randn_like(p) * 0.1)
                else:
                    p.copy_(torch.randn_like(p) * (0.06 if name == "gemma3" else 0.15))
            # Round to the storage dtype, then compute the reference in float32 on those values.
            for p in model.parameters():
                p.copy_(p.to(dtype).to(torch.float32))
        model.eval()
        out = os.path.join(OUT, f"tiny-{name}")
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            os.remove(os.path.join(out, f))
        # The reference runs before the cast for storage: model.to(bfloat16) would also round
        # non-persistent buffers such as RoPE's inv_freq, which the checkpoint does not hold.
        ids = torch.tensor([PROMPT])
        with torch.no_grad():
            logits = model(ids).logits[0, -1].tolist()
            gen = model.generate(ids, max_new_tokens=GREEDY, do_sample=False, eos_token_id=None,
                                 pad_token_id=0, min_new_tokens=GREEDY)[0, len(PROMPT):].tolist()
        model.to(dtype).save_pretrained(out, safe_serialization=True,
                                        **({"max_shard_size": shard} if shard else {}))
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"prompt_ids": PROMPT, "last_logits": [round(x, 6) for x in logits],
                       "greedy_ids": gen, "storage_dtype": str(dtype).replace("torch.", ""),
                       "transformers": __import__("transformers").__version__}, f)
        files = sorted(os.listdir(out))
        size = sum(os.path.getsize(os.path.join(out, x)) for x in files)
        print(f"{name}: {files} {size/1024:.0f} KB greedy={gen}")

if __name__ == "__main__":
    sys.exit(main())

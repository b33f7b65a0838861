"""Random-initialised tiny ViTs (CLIP, SigLIP, DINOv2) from transformers with their outputs and
the tap values the reducers use, so the Swift encoder and its taps are checked against
transformers without torch in CI.

Writes Tests/VisionTests/Fixtures/encoders/<name>/: config.json, model.safetensors and
expected.json with the input pixels, every hidden state (transformers' `hidden_states`), the
final output with the post-layernorm, and for layer 1: head-averaged attention probabilities,
head-averaged attention logits (QK^T / sqrt(d_h), computed from the layer's own projections on
its layer-normed input) and head-averaged keys. DINOv2 is fed a 42 x 70 image, so its position
embeddings are bicubically interpolated from the 4 x 4 training grid to 3 x 5.

Run: .venv-ref/bin/python tools/make_tiny_vits.py
"""
import json, os, shutil
import torch
from transformers import CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel, Dinov2Config, Dinov2Model

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VisionTests", "Fixtures", "encoders")
TAP_LAYER = 1


def models():
    common = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, attn_implementation="eager")
    yield "clip", CLIPVisionModel(CLIPVisionConfig(**common, image_size=56, patch_size=14)), (56, 56)
    yield "siglip", SiglipVisionModel(SiglipVisionConfig(**common, image_size=56, patch_size=14)), (56, 56)
    d = dict(common); d.pop("intermediate_size")
    yield "dinov2", Dinov2Model(Dinov2Config(**d, mlp_ratio=2, image_size=56, patch_size=14, layerscale_value=0.5)), (42, 70)


def main():
    for name, model, (h, w) in models():
        torch.manual_seed(7)
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname and pname.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                elif "layer_scale" in pname:
                    p.copy_(0.5 + 0.2 * torch.randn_like(p))
                else:
                    p.copy_(0.1 * torch.randn_like(p) if pname.endswith("bias") else 0.2 * torch.randn_like(p))
        model.eval()
        pixels = torch.randn(1, 3, h, w)
        layers = model.encoder.layers if name != "dinov2" else model.encoder.layer
        layer = layers[TAP_LAYER]
        captured = {}
        norm = layer.layer_norm1 if name != "dinov2" else layer.norm1
        handle = norm.register_forward_hook(lambda m, i, o: captured.__setitem__("normed", o.detach()))
        with torch.no_grad():
            out = model(pixel_values=pixels, output_hidden_states=True, output_attentions=True)
        handle.remove()
        normed = captured["normed"][0]
        if name != "dinov2":
            q, k = layer.self_attn.q_proj(normed), layer.self_attn.k_proj(normed)
        else:
            q, k = layer.attention.q_proj(normed), layer.attention.k_proj(normed)
        heads, hd = 4, 8
        t = normed.shape[0]
        qh, kh = q.view(t, heads, hd).transpose(0, 1), k.view(t, heads, hd).transpose(0, 1)
        logits = (qh @ kh.transpose(1, 2) / hd ** 0.5).mean(0)
        if name == "dinov2":
            final = out.last_hidden_state[0]                   # with the final layernorm
        elif name == "siglip":
            final = out.last_hidden_state[0]                   # post_layernorm applied
        else:
            final = model.post_layernorm(out.hidden_states[-1])[0]
        expected = {
            "pixels_shape": [1, 3, h, w], "pixels": [round(float(x), 6) for x in pixels.flatten()],
            "hidden_states": [[round(float(x), 6) for x in hs[0].flatten()] for hs in out.hidden_states],
            "final": [round(float(x), 6) for x in final.flatten()],
            "tap_layer": TAP_LAYER,
            "probabilities": [round(float(x), 7) for x in out.attentions[TAP_LAYER][0].mean(0).flatten()],
            "logits": [round(float(x), 6) for x in logits.flatten()],
            "keys": [round(float(x), 6) for x in k.view(t, heads, hd).mean(1).flatten()],
            "tokens": t,
        }
        d = os.path.join(OUT, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        model.save_pretrained(d, safe_serialization=True)
        json.dump(expected, open(os.path.join(d, "expected.json"), "w"))
        print(name, t, "tokens", sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) // 1024, "KB")


if __name__ == "__main__":
    main()

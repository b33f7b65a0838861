"""Reference logits of vlm's default model (weights/shapes-vlm) computed with transformers, for
Tests/VisionTests/DefaultModelParityTests.swift: DINOv2 (Dinov2Model, last_hidden_state without
the class token, then the config's vision_feature_extras) -> the trained projector -> SmolLM2-135M-Instruct dequantized from the same
Q4_1 GGUF with the config's LoRA adapter (text_adapter, read from the committed adapter.gguf with
its q/k rows put back in Hugging Face order), on a fixed image and question, prompt rendered as vlm
renders it. The runtime applies the GGUF's rows to the GGUF's permuted base, so a wrong permutation
on either side shows up as different logits.

Writes Tests/VisionTests/Fixtures/default_vlm_logits.json: the prompt, the token ids and the
last position's logits (top 50 ids and values, plus the full vector's argmax).
Run: .venv-ref/bin/python tools/check_default_vlm.py [MODEL_DIR] [IMAGE] [QUESTION]
"""
import json, os, sys
import numpy as np, torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, Dinov2Model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("VLM_MODELS") or os.path.expanduser("~/.cache/vlm/models")
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "weights", "shapes-vlm")
image = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "Samples", "shapes.png")
question = sys.argv[3] if len(sys.argv) > 3 else "Describe the image."
cfg = json.load(open(os.path.join(model_dir, "config.json")))
pp = json.load(open(os.path.join(model_dir, "preprocessor_config.json")))
side = pp["size"]["height"]

im = Image.open(image).convert("RGB").resize((pp["size"]["width"], side), Image.BICUBIC)
x = (np.asarray(im, np.float32) / 255.0 - np.array(pp["image_mean"], np.float32)) / np.array(pp["image_std"], np.float32)
x = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]
dino = Dinov2Model.from_pretrained(os.path.join(MODELS, "dinov2-vits14-focus")).eval()
gguf = os.path.basename(cfg["text_model_file"])
llm = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=gguf, dtype=torch.float32).eval()
if "text_adapter" in cfg:
    import lora_gguf
    lora_gguf.attach_file(llm, os.path.join(model_dir, cfg["text_adapter"]["file"]), cfg["text_adapter"].get("scale", 1.0))
tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=gguf)
w = load_file(os.path.join(model_dir, "model.safetensors"))
with torch.no_grad():
    feats = dino(x).last_hidden_state[0, 1:]
    extras = cfg.get("vision_feature_extras", [])
    if extras:
        # What config.json's vision_feature_extras append, as the training script computes them.
        assert extras == ["patch_mean_colour", "patch_position"], extras
        from shapes_training_data import patch_extras
        feats = torch.cat([feats, patch_extras(x[0])], 1)
    h = torch.nn.functional.gelu(feats @ w["multi_modal_projector.linear_1.weight"].T + w["multi_modal_projector.linear_1.bias"])
    visual = h @ w["multi_modal_projector.linear_2.weight"].T + w["multi_modal_projector.linear_2.bias"]
    token = cfg["image_token"]
    prompt = "<|im_start|>user " + token * visual.shape[0] + "\n" + question + "<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.encode(prompt, add_special_tokens=False)
    emb = llm.get_input_embeddings()(torch.tensor([ids]))
    mask = torch.tensor(ids) == cfg["image_token_id"]
    emb[0, mask] = visual
    logits = llm(inputs_embeds=emb).logits[0, -1]
    out_ids = llm.generate(inputs_embeds=emb, max_new_tokens=24, do_sample=False)
top = torch.topk(logits, 50)
out = {"image": os.path.relpath(image, ROOT), "question": question, "ids": ids,
       "top_ids": top.indices.tolist(), "top_logits": top.values.tolist(),
       "greedy_text": tok.decode(out_ids[0], skip_special_tokens=True)}
path = os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "default_vlm_logits.json")
if len(sys.argv) > 4:
    path = sys.argv[4]
json.dump(out, open(path, "w"))
print(path, "greedy:", out["greedy_text"])

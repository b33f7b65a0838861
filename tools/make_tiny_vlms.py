"""Builds tiny random-initialised vision-language models with Hugging Face transformers and
records what transformers computes for one image, so that the Swift families can be checked
against transformers without torch in CI.

For each family it writes Tests/VisionTests/Fixtures/vlms/<name>/:
  config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
  preprocessor_config.json, chat_template.jinja  (a loadable model directory), and
  expected.json: the prompt, input_ids from the HF processor (image tokens expanded),
  image_sizes, the pixel_values shape, the vision tower's selected features and the projected
  image features (a strided sample plus sums), last-position logits, and 16 greedy tokens.
  pixel_values.bin: the processor's pixel_values as little-endian float32, so the model can be
  checked apart from the image processor.

Families: llava (LLaVA-1.5: CLIP, layer -2, 2-layer GELU MLP, Llama), llava_next (AnyRes with
unpadding and image_newline), llava_onevision (SigLIP, Qwen2, anyres_max_9 with its bilinear
downsampling exercised), smolvlm and idefics3 (pixel-shuffle connector, image splitting).
The tokenizer is a small byte-level BPE trained here with the special tokens each processor
needs; chat templates are the published ones of the real checkpoints.

Run: .venv-ref/bin/python tools/make_tiny_vlms.py   (needs torch, transformers, pillow)
"""
import json, os, shutil, sys
import numpy as np
import torch
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import PreTrainedTokenizerFast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "vlms")
IMAGE = os.path.join(ROOT, "Samples", "shapes.png")
QUESTION = "What is in the picture?"
GREEDY = 16

TEMPLATES = {
    # llava-hf/llava-1.5-7b-hf
    "llava": "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}",
    # llava-hf/llava-onevision-qwen2-0.5b-ov-hf
    "llava_onevision": "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}{% endfor %}{% endif %}{{'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    # HuggingFaceTB/SmolVLM-256M-Instruct
    "smolvlm": "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
}
TEMPLATES["llava_next"] = TEMPLATES["llava"]
TEMPLATES["idefics3"] = TEMPLATES["smolvlm"]

SPECIALS = ["<|endoftext|>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<image>", "<video>",
            "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"] + \
           [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]

CORPUS = [
    "USER: What is in the picture? ASSISTANT: A red circle and a blue square on white.",
    "User: Describe the image. Assistant: There is a green triangle at the top left.",
    "system user assistant The picture shows shapes: circle, square, triangle, star, cross.",
    "How many objects are there? Two. Three. Four. Which colour is the star? Yellow.",
] * 20


def train_byte_level_bpe(corpus, specials, vocab_size):
    """A byte-level BPE trained on `corpus`, the special tokens first (ids 0..)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return tok


def save_fast_tokenizer(tok, directory, bos_token, eos_token, pad_token="<|endoftext|>", unk_token=None, **extra):
    """Saves `tok` as a transformers fast tokenizer, recording add_bos_token explicitly in
    tokenizer_config.json: it is what the Swift loader reads. `extra` goes to the tokenizer as it is
    (Gemma 3: extra_special_tokens, the boi / eoi / image tokens its processor reads)."""
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
                                   pad_token=pad_token, **extra)
    fast.add_bos_token = bos_token is not None
    fast.save_pretrained(directory)
    path = os.path.join(directory, "tokenizer_config.json")
    cfg = json.load(open(path))
    cfg["add_bos_token"] = bos_token is not None
    json.dump(cfg, open(path, "w"), indent=1)
    return fast


def make_tokenizer(directory, bos):
    tok = train_byte_level_bpe(CORPUS, SPECIALS, 360)
    if bos:
        from tokenizers import processors
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                           special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return save_fast_tokenizer(tok, directory, "<s>" if bos else None, "</s>" if bos else "<|im_end|>")


def randomise(model, seed, std=0.15):
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + torch.randn_like(p) * 0.2)
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.05)
            else:
                p.copy_(torch.randn_like(p) * std)
    model.eval()


def text_config(kind, vocab, **extra):
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16, num_hidden_layers=2, max_position_embeddings=1024,
                  rms_norm_eps=1e-6, tie_word_embeddings=False, attn_implementation="eager")
    common.update(extra)
    if kind == "llama":
        from transformers import LlamaConfig
        return LlamaConfig(**common, rope_theta=10000.0)
    from transformers import Qwen2Config
    return Qwen2Config(**common, rope_theta=1000000.0)


def build(name, tok):
    vocab = len(tok)
    image_id = tok.convert_tokens_to_ids("<image>")
    from transformers import CLIPVisionConfig, SiglipVisionConfig
    clip = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                            image_size=112, patch_size=14, projection_dim=32, hidden_act="quick_gelu",
                            attn_implementation="eager")
    if name == "llava":
        from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor, CLIPImageProcessorPil
        cfg = LlavaConfig(vision_config=clip, text_config=text_config("llama", vocab, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id), image_token_index=image_id,
                          vision_feature_layer=-2, vision_feature_select_strategy="default")
        model = LlavaForConditionalGeneration(cfg)
        ip = CLIPImageProcessorPil(size={"shortest_edge": 112}, crop_size={"height": 112, "width": 112})
        proc = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                              chat_template=TEMPLATES[name], num_additional_image_tokens=1)
    elif name == "llava_next":
        from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor, LlavaNextImageProcessorPil
        pins = [[112, 224], [224, 112], [224, 224], [112, 336], [336, 112]]
        cfg = LlavaNextConfig(vision_config=clip, text_config=text_config("llama", vocab, bos_token_id=tok.bos_token_id,
                              eos_token_id=tok.eos_token_id), image_token_index=image_id, image_grid_pinpoints=pins,
                              vision_feature_layer=-2, vision_feature_select_strategy="default")
        model = LlavaNextForConditionalGeneration(cfg)
        ip = LlavaNextImageProcessorPil(size={"shortest_edge": 112}, crop_size={"height": 112, "width": 112},
                                        image_grid_pinpoints=pins)
        proc = LlavaNextProcessor(image_processor=ip, tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                                  chat_template=TEMPLATES[name], num_additional_image_tokens=1)
    elif name == "llava_onevision":
        from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, LlavaOnevisionProcessor,
                                  LlavaOnevisionImageProcessorPil, LlavaOnevisionVideoProcessor)
        siglip = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                                    image_size=112, patch_size=14, attn_implementation="eager")
        pins = [[112 * i, 112 * j] for i in range(1, 4) for j in range(1, 4)]
        cfg = LlavaOnevisionConfig(vision_config=siglip, text_config=text_config("qwen2", vocab,
                                   eos_token_id=tok.eos_token_id), image_token_index=image_id,
                                   video_token_index=tok.convert_tokens_to_ids("<video>"), image_grid_pinpoints=pins,
                                   vision_feature_layer=-1, vision_feature_select_strategy="full",
                                   vision_aspect_ratio="anyres_max_2")
        model = LlavaOnevisionForConditionalGeneration(cfg)
        ip = LlavaOnevisionImageProcessorPil(size={"height": 112, "width": 112}, image_grid_pinpoints=pins)
        proc = LlavaOnevisionProcessor(image_processor=ip, tokenizer=tok, video_processor=LlavaOnevisionVideoProcessor(
                                       size={"height": 112, "width": 112}), num_image_tokens=64,
                                       vision_feature_select_strategy="full", chat_template=TEMPLATES[name],
                                       vision_aspect_ratio="anyres_max_2")
    else:  # smolvlm / idefics3
        if name == "smolvlm":
            from transformers import (SmolVLMConfig as C, SmolVLMForConditionalGeneration as M, SmolVLMProcessor as P,
                                      SmolVLMImageProcessorPil as IP, SmolVLMVisionConfig as VC)
        else:
            from transformers import (Idefics3Config as C, Idefics3ForConditionalGeneration as M, Idefics3Processor as P,
                                      Idefics3ImageProcessorPil as IP, Idefics3VisionConfig as VC)
        vis = VC(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, image_size=64,
                 patch_size=4, attn_implementation="eager")
        cfg = C(vision_config=vis, text_config=text_config("llama", vocab, eos_token_id=tok.eos_token_id),
                image_token_id=image_id, scale_factor=2)
        model = M(cfg)
        ip = IP(size={"longest_edge": 192}, max_image_size={"longest_edge": 64})
        kwargs = dict(image_processor=ip, tokenizer=tok, image_seq_len=64, chat_template=TEMPLATES[name])
        if name == "smolvlm":
            from transformers import SmolVLMVideoProcessor
            kwargs["video_processor"] = SmolVLMVideoProcessor()
        proc = P(**kwargs)
    cfg.text_config._attn_implementation = "eager"
    return model, proc


def sample(t, n=512):
    flat = t.reshape(-1)
    step = max(1, flat.numel() // n)
    return [round(float(x), 6) for x in flat[::step][:n]]


def greedy(model, inputs, pad_token_id):
    """GREEDY tokens past the prompt (EOS ignored) and each step's top-1 minus top-2 logit."""
    with torch.no_grad():
        res = model.generate(**inputs, max_new_tokens=GREEDY, min_new_tokens=GREEDY, do_sample=False,
                             eos_token_id=None, pad_token_id=pad_token_id, output_scores=True,
                             return_dict_in_generate=True)
    margins = [float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in res.scores]
    return res.sequences[0, inputs["input_ids"].shape[1]:].tolist(), margins


def image_features(model, extra):
    """The projected image features as one [tokens, width] tensor, whatever the family returns."""
    with torch.no_grad():
        feats = model.model.get_image_features(**{k: v for k, v in extra.items()
                                                  if k in ("pixel_values", "image_sizes", "pixel_attention_mask")})
    feats = feats.pooler_output if hasattr(feats, "pooler_output") and feats.pooler_output is not None else feats
    if isinstance(feats, (list, tuple)):
        feats = torch.cat([f.reshape(-1, f.shape[-1]) for f in feats], 0)
    return feats.reshape(-1, feats.shape[-1])


def main():
    os.makedirs(OUT, exist_ok=True)
    image = Image.open(IMAGE).convert("RGB")
    for name in ["llava", "llava_next", "llava_onevision", "smolvlm", "idefics3"]:
        out = os.path.join(OUT, name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        tok = make_tokenizer(out, bos=name in ("llava", "llava_next"))
        model, proc = build(name, tok)
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
        prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = proc(images=[image], text=prompt, return_tensors="pt")
        ids = inputs["input_ids"]
        # Seeds are tried in order until greedy decoding is far from ties and not degenerate.
        for seed in range(1234, 1264):
            randomise(model, seed)
            gen, margins = greedy(model, inputs, tok.pad_token_id)
            if min(margins) > 0.02 and len(set(gen)) >= 6:
                break
        with torch.no_grad():
            extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
            logits = model(**inputs).logits[0, -1]
            pv = extra["pixel_values"]
            feats = image_features(model, extra)
        model.save_pretrained(out, safe_serialization=True)
        proc.image_processor.save_pretrained(out)
        with open(os.path.join(out, "chat_template.jinja"), "w") as f:
            f.write(TEMPLATES[name])
        flat_pv = pv.reshape(-1, *pv.shape[-3:]) if pv.dim() == 5 else pv
        # Idefics3/SmolVLM pad the batch of tiles with all-zero images; keep only real ones.
        if "pixel_attention_mask" in extra:
            real = extra["pixel_attention_mask"].reshape(-1, *extra["pixel_attention_mask"].shape[-2:]).any(-1).any(-1)
            flat_pv = flat_pv[real]
        flat_pv.numpy().astype("<f4").tofile(os.path.join(out, "pixel_values.bin"))
        layout = None
        if "image_sizes" in extra:
            from transformers.image_processing_utils import select_best_resolution
            h, w = select_best_resolution(extra["image_sizes"][0].tolist(), model.config.image_grid_pinpoints)
            side = model.config.vision_config.image_size
            layout = {"kind": "anyres", "rows": h // side, "cols": w // side, "grid_height": h, "grid_width": w}
        elif name in ("smolvlm", "idefics3"):
            info = proc.image_processor(images=[image], return_row_col_info=True)
            layout = {"kind": "split", "rows": int(info["rows"][0][0]), "cols": int(info["cols"][0][0])}
        expected = {
            "layout": layout, "original_size": [image.height, image.width],
            "prompt": prompt, "question": QUESTION, "image": "Samples/shapes.png",
            "input_ids": ids[0].tolist(),
            "pixel_values_shape": list(flat_pv.shape),
            "image_sizes": extra["image_sizes"][0].tolist() if "image_sizes" in extra else None,
            "image_features_shape": list(feats.shape),
            "image_features_sample": sample(feats), "image_features_sum": float(feats.sum()),
            "image_features_abs_sum": float(feats.abs().sum()),
            "last_logits": [round(float(x), 6) for x in logits],
            "greedy_ids": gen, "min_greedy_margin": min(margins), "seed": seed,
            "transformers": __import__("transformers").__version__,
        }
        json.dump(expected, open(os.path.join(out, "expected.json"), "w"))
        size = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
        print(f"{name}: ids={ids.shape[1]} pv={tuple(flat_pv.shape)} feats={tuple(feats.shape)} "
              f"margin={min(margins):.3f} seed={seed} {size/1024:.0f} KB greedy={gen}")


if __name__ == "__main__":
    sys.exit(main())

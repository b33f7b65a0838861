"""Builds Tests/VisionTests/Fixtures/vlms/llava_onevision_system/: the tiny LLaVA-OneVision fixture of
tools/make_tiny_vlms.py with a different chat template, one that adds Qwen2's default system message
("You are a helpful assistant.") when the conversation has none.

Nothing is re-randomised: model.safetensors, config.json, generation_config.json, tokenizer.json,
tokenizer_config.json, preprocessor_config.json and pixel_values.bin are relative symlinks into
../llava_onevision/ (pixel_values.bin is checked to be what the processor computes). The directory gets its own
chat_template.jinja and an expected.json with the same keys as llava_onevision/expected.json, computed by
transformers (float32, eager attention) with LlavaOnevisionProcessor.apply_chat_template on one user turn
[image, "What is in the picture?"] with add_generation_prompt=True, for Samples/shapes.png.

Before writing, the script re-computes llava_onevision/expected.json's prompt, input_ids, logits and greedy tokens
from the stored weights with the original template, so the fixture is known to come from the same pipeline.

The processor is built without a video processor (LlavaOnevisionVideoProcessor needs torchvision, and no video is
used here); images go through LlavaOnevisionImageProcessorPil, as in make_tiny_vlms.py.

Run: /work/venv-ref/bin/python tools/make_template_vlm.py   (needs torch, transformers==5.23.0, pillow)
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_vlms import IMAGE, OUT, QUESTION, TEMPLATES, greedy, image_features, sample  # noqa: E402

BASE = os.path.join(OUT, "llava_onevision")
TARGET = os.path.join(OUT, "llava_onevision_system")
LINKED = ["model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
          "preprocessor_config.json", "pixel_values.bin"]

# LLaVA-OneVision's template (images, then videos, then text; string content also accepted), with Qwen2's
# default system message before the first message when the conversation does not start with a system one.
SYSTEM_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + ' ' }}"
    "{% if message['content'] is string %}{{ '\n' + message['content'] }}"
    "{% else %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}{% endfor %}"
    "{% endif %}"
    "{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def load(template):
    """The stored tiny model, and a processor like make_tiny_vlms.build's (same settings) with `template`."""
    from transformers import (AutoTokenizer, LlavaOnevisionForConditionalGeneration, LlavaOnevisionImageProcessorPil,
                              LlavaOnevisionProcessor)

    class ImageOnlyProcessor(LlavaOnevisionProcessor):
        """LlavaOnevisionProcessor with video_processor=None (its class is a torchvision placeholder here)."""

        def check_argument_for_proper_class(self, attribute_name, arg):
            if attribute_name == "video_processor" and arg is None:
                return
            return super().check_argument_for_proper_class(attribute_name, arg)

    tok = AutoTokenizer.from_pretrained(BASE)
    ip = LlavaOnevisionImageProcessorPil.from_pretrained(BASE)
    proc = ImageOnlyProcessor(video_processor=None, image_processor=ip, tokenizer=tok, num_image_tokens=64,
                                   vision_feature_select_strategy="full", chat_template=template,
                                   vision_aspect_ratio="anyres_max_2")
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(BASE, dtype=torch.float32,
                                                                   attn_implementation="eager")
    model.config.text_config._attn_implementation = "eager"
    model.eval()
    return model, proc, tok


def compute(model, proc, tok, image):
    """What make_tiny_vlms.main records, for the processor's chat template."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = proc(images=[image], text=prompt, return_tensors="pt")
    ids = inputs["input_ids"]
    gen, margins = greedy(model, inputs, tok.pad_token_id)
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
    pv = extra["pixel_values"]
    feats = image_features(model, extra)
    flat_pv = pv.reshape(-1, *pv.shape[-3:]) if pv.dim() == 5 else pv
    from transformers.image_processing_utils import select_best_resolution

    h, w = select_best_resolution(extra["image_sizes"][0].tolist(), model.config.image_grid_pinpoints)
    side = model.config.vision_config.image_size
    return {
        "layout": {"kind": "anyres", "rows": h // side, "cols": w // side, "grid_height": h, "grid_width": w},
        "original_size": [image.height, image.width],
        "prompt": prompt, "question": QUESTION, "image": "Samples/shapes.png",
        "input_ids": ids[0].tolist(),
        "pixel_values_shape": list(flat_pv.shape),
        "image_sizes": extra["image_sizes"][0].tolist(),
        "image_features_shape": list(feats.shape),
        "image_features_sample": sample(feats), "image_features_sum": float(feats.sum()),
        "image_features_abs_sum": float(feats.abs().sum()),
        "last_logits": [round(float(x), 6) for x in logits],
        "greedy_ids": gen, "min_greedy_margin": min(margins),
        "greedy_margins": [round(m, 6) for m in margins],
        "transformers": __import__("transformers").__version__,
    }, flat_pv


def check_base(model, tok, image):
    """The stored weights and this processor reproduce llava_onevision/expected.json."""
    base = json.load(open(os.path.join(BASE, "expected.json")))
    _, proc, _ = load(TEMPLATES["llava_onevision"])
    got, pv = compute(model, proc, tok, image)
    assert got["prompt"] == base["prompt"], (got["prompt"], base["prompt"])
    assert got["input_ids"] == base["input_ids"], "input_ids differ from llava_onevision/expected.json"
    assert got["greedy_ids"] == base["greedy_ids"], (got["greedy_ids"], base["greedy_ids"])
    got.pop("greedy_margins")
    err = max(abs(a - b) for a, b in zip(got["last_logits"], base["last_logits"]))
    assert err < 1e-4, f"last_logits differ by {err}"
    stored = np.fromfile(os.path.join(BASE, "pixel_values.bin"), dtype="<f4")
    assert np.array_equal(stored, pv.numpy().astype("<f4").reshape(-1)), "pixel_values.bin differs"
    print(f"llava_onevision reproduced: logits max err {err:.2e}, greedy ids equal")
    return base


def main():
    image = Image.open(IMAGE).convert("RGB")
    model, proc, tok = load(SYSTEM_TEMPLATE)
    base = check_base(model, tok, image)
    expected, pv = compute(model, proc, tok, image)
    stored = np.fromfile(os.path.join(BASE, "pixel_values.bin"), dtype="<f4")
    assert np.array_equal(stored, pv.numpy().astype("<f4").reshape(-1)), "pixel_values differ from the base fixture"
    expected["seed"] = base["seed"]  # the weights are the base fixture's (that seed's randomisation)
    expected["base_fixture"] = "llava_onevision"
    assert set(expected) - {"base_fixture", "greedy_margins"} == set(base), set(expected) ^ set(base)

    os.makedirs(TARGET, exist_ok=True)
    for name in LINKED:
        link = os.path.join(TARGET, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join("..", "llava_onevision", name), link)
    with open(os.path.join(TARGET, "chat_template.jinja"), "w") as f:
        f.write(SYSTEM_TEMPLATE)
    with open(os.path.join(TARGET, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(f"llava_onevision_system: ids={len(expected['input_ids'])} margin={expected['min_greedy_margin']:.3f} "
          f"greedy={expected['greedy_ids']}\nprompt={expected['prompt']!r}")


if __name__ == "__main__":
    sys.exit(main())

"""LLaVA-OneVision video parity fixture: the tiny random OneVision model of
tools/make_tiny_vlms.py fed 8 video frames through transformers' processor (per-frame
SigLIP tokens, 2x2 bilinear pooling, one image_newline after the last frame). Frames are a
smooth moving pattern drawn with NumPy. Stores the processor's pixel_values_videos rounded to
float16 (the reference runs on exactly those rounded values), the expanded input_ids, the
last-position logits and 16 greedy tokens in
Tests/VisionTests/Fixtures/vlms/llava_onevision/video_expected.json + video_pixels.f16.

Run after make_tiny_vlms.py: .venv-ref/bin/python tools/make_tiny_onevision_video.py
"""
import json, os
import numpy as np
import torch
from transformers import LlavaOnevisionForConditionalGeneration, LlavaOnevisionProcessor, AutoTokenizer, \
    LlavaOnevisionImageProcessorPil, LlavaOnevisionVideoProcessor

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VisionTests", "Fixtures", "vlms", "llava_onevision")
QUESTION = "What happens in the video?"


def main():
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(DIR, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(DIR)
    proc = LlavaOnevisionProcessor(image_processor=LlavaOnevisionImageProcessorPil.from_pretrained(DIR), tokenizer=tok,
                                   video_processor=LlavaOnevisionVideoProcessor(size={"height": 112, "width": 112}),
                                   num_image_tokens=64, vision_feature_select_strategy="full",
                                   chat_template=open(os.path.join(DIR, "chat_template.jinja")).read(), vision_aspect_ratio="anyres_max_2")
    t, y, x = np.mgrid[0:8, 0:96, 0:128].astype(np.float64)
    frames = np.stack([128 + 100 * np.sin((x + 9 * t) / 11), 128 + 100 * np.cos((y - 5 * t) / 13), 60 + 20 * t], -1)
    frames = np.clip(frames, 0, 255).astype(np.uint8)
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": QUESTION}]}]
    prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = proc(videos=[frames], text=prompt, return_tensors="pt")
    pv = inputs["pixel_values_videos"].to(torch.float16).to(torch.float32)
    inputs["pixel_values_videos"] = pv
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
        gen = model.generate(**inputs, max_new_tokens=16, min_new_tokens=16, do_sample=False, eos_token_id=None,
                             pad_token_id=tok.pad_token_id)[0, inputs["input_ids"].shape[1]:].tolist()
    pv[0].numpy().astype("<f2").tofile(os.path.join(DIR, "video_pixels.f16"))
    json.dump({"prompt": prompt, "question": QUESTION, "input_ids": inputs["input_ids"][0].tolist(),
               "pixels_shape": list(pv.shape[1:]), "last_logits": [round(float(v), 6) for v in logits], "greedy_ids": gen},
              open(os.path.join(DIR, "video_expected.json"), "w"))
    print(prompt, pv.shape, inputs["input_ids"].shape, gen)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Builds a SMALL random-initialised Gemma 3 vision-language model (transformers 5.23's
Gemma3ForConditionalGeneration, float32), saves it as a Hugging Face directory, converts it with
llama.cpp's own convert_hf_to_gguf.py into a GGUF pair, and records what transformers computes for one
image, so that the Swift GGUF route for Gemma 3 can be checked end to end against transformers.

    tools/build_llama_cpp.sh                                  # once: llama.cpp source, venv, llama-mtmd-cli
    ~/.cache/vlm/llama.cpp/venv/bin/pip install pillow         # the processor needs PIL
    flock /tmp/vlm-build.lock ~/.cache/vlm/llama.cpp/venv/bin/python tools/make_tiny_gemma3_pair.py [--no-cli]

The model mirrors the big Gemma 3 fixture (tools/gemma3_vlm_models.py, Tests/VisionTests/Fixtures/vlms/gemma3)
at small widths and reuses that fixture's tokenizer.json, tokenizer_config.json and chat_template.jinja
byte for byte (vocab 394; <start_of_image> 6, <end_of_image> 7, <image_soft_token> 8):
  text:   hidden 64, 2 layers (sliding_attention, full_attention), 4 heads / 2 kv heads, head_dim 16,
          intermediate 128, sliding_window 128, query_pre_attn_scalar 16, the fixture's rope_parameters
          (sliding: default, theta 1e4; full: linear factor 8, theta 1e6), final_logit_softcapping 30
          (which Gemma3ForConditionalGeneration never applies), tied embeddings
  vision: SigLIP hidden 32, 2 layers, 4 heads, intermediate 64, patch 14, image 224 (16x16 patches)
  projector: mm_tokens_per_image 16 (4x4 average pooling of the 16x16 patches: pooling 4, llama.cpp's
          default, so the converter writes no clip.vision.projector.scale_factor)
  processor: Gemma3Processor, image_seq_length 16, 224x224 bilinear, mean/std 0.5, no pan-and-scan.

Weights: torch.manual_seed(SEED) for the module construction, then every parameter is redrawn
uniformly from a torch.Generator(SEED) under the big fixture's scale rule and "knobs"
(gemma3_vlm_models.tensor_spec: matrices U(-1,1)*sqrt(3/fan_in), Gemma RMSNorm weights around
gain-1 with post_attention / post_feedforward gains above 1 so that greedy decoding is not stuck on
the last prompt token). KNOB_TRIES are tried in order until greedy decoding is healthy (every margin
>= 0.01, >= 4 distinct tokens of 8) and the image visibly changes the last logits (max |diff| > 0.05
against a flat grey image); the first try is.

Writes
  Tests/VisionTests/Fixtures/vlms/gemma3_tiny/      config.json, generation_config.json, model.safetensors
      (F32, gemma-3-4b-it's hub names: language_model.model.*, vision_tower.vision_model.*,
      multi_modal_projector.*), tokenizer.json, tokenizer_config.json, chat_template.jinja,
      preprocessor_config.json, processor_config.json, expected.json
  Tests/VisionTests/Fixtures/gguf_pairs/gemma3_tiny/ model-f32.gguf, mmproj-f32.gguf, mmproj-f16.gguf
expected.json: for Samples/shapes.png and the user message [image, "What is in the picture?"] through
processor.apply_chat_template(add_generation_prompt=True, tokenize=True, return_dict=True): input_ids,
the last-position logits (float32, eager attention), 8 greedy token ids and their top-1 minus top-2
margins (plus the prompt, the greedy text and the knobs).

Conversion: tools/make_gguf_pairs.py's child mode (`--_convert`), i.e. convert_hf_to_gguf.py run with
that file's logged work-arounds (here only the pre-tokenizer one fires: the tiny BPE's hash is
unknown to get_vocab_base_pre, tokenizer.ggml.pre becomes 'gpt-2'). Logs go to --log-dir.
Without --swa-pattern, model-f32.gguf is exactly what the converter writes, which has no
sliding_window_pattern key: llama.cpp then treats BOTH layers as sliding (its Gemma 3 default is 5
sliding : 1 full), unlike transformers' layer_types; --swa-pattern adds the key (see add_swa_pattern).
Then, unless --no-cli, llama-mtmd-cli (if built) runs on the pair with the same image and prompt,
`-n 8 --temp 0 -t 2`, and its text is compared with transformers' greedy text.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from tiny_pair_common import (SEED, check_no_cache, choose_knobs, convert, encode, f32, greedy, last_logits,
                              llama_paths, messages_for, run_cli)

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
SRC_FIXTURE = REPO / "Tests/VisionTests/Fixtures/vlms/gemma3"
OUT = REPO / "Tests/VisionTests/Fixtures/vlms/gemma3_tiny"
GGUF_OUT = REPO / "Tests/VisionTests/Fixtures/gguf_pairs/gemma3_tiny"
IMAGE = REPO / "Samples/shapes.png"
QUESTION = "What is in the picture?"
SPECIAL_IDS = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<start_of_turn>": 4, "<end_of_turn>": 5,
               "<start_of_image>": 6, "<end_of_image>": 7, "<image_soft_token>": 8}
PAD_ID = SPECIAL_IDS["<pad>"]  # generate's pad token in the greedy runs
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")

# The big fixture's knob names (gemma3_vlm_models._BASE) and values, except the first try's: at width 64
# the big fixture's values (embed 2^-5, post_ffw 64) decode with a margin of 0.0004 here. Picked from a
# sweep over embed {2^-3, 2^-2} x post_attn {4, 8} x post_ffw {8, 16, 32} x qk_norm {1, 2}: embed 2^-2,
# post_attn 8, post_ffw 8, qk_norm 2 gives min margin 0.090 over 8 greedy steps, 8 distinct tokens, and
# the image (against a flat grey one) moves the last logits by up to 2.97. The others are fallbacks.
_BASE = {"embed": 2.0 ** -5, "pos_embed": 2.0 ** -2, "linear": 0, "norm": 2.0 ** -4, "bias": 2.0 ** -6,
         "qk_norm": 2.0, "post_attn": 8.0, "post_ffw": 64.0}
KNOB_TRIES = [dict(_BASE, embed=2.0 ** -2, post_ffw=8.0), dict(_BASE, embed=2.0 ** -2, post_ffw=16.0),
              dict(_BASE, embed=2.0 ** -2, post_attn=4.0, post_ffw=16.0), dict(_BASE, embed=2.0 ** -3, post_ffw=16.0),
              dict(_BASE)]


def log(msg):
    print(f"[make_tiny_gemma3_pair] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Model, processor, weights

def build(tok):
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessorPil, Gemma3Processor
    from transformers.image_utils import PILImageResampling
    # Six layers, the sixth global: llama.cpp's GGUF has no layer_types and runs Gemma 3 with
    # 5 sliding : 1 global layers, so only this pattern converts exactly (a 2-layer
    # sliding/full model is read by llama.cpp, and by vlm from the GGUF, as sliding/sliding).
    text = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=6,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16,
                hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6, max_position_embeddings=131072,
                sliding_window=128, layer_types=["sliding_attention"] * 5 + ["full_attention"],
                rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                 "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}},
                final_logit_softcapping=30.0, attn_logit_softcapping=None, tie_word_embeddings=True,
                pad_token_id=SPECIAL_IDS["<pad>"], bos_token_id=SPECIAL_IDS["<bos>"],
                eos_token_id=[SPECIAL_IDS["<eos>"], SPECIAL_IDS["<end_of_turn>"]])
    vision = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_channels=3, image_size=224, patch_size=14, layer_norm_eps=1e-6,
                  hidden_act="gelu_pytorch_tanh", vision_use_head=False)
    cfg = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=16,
                       boi_token_index=SPECIAL_IDS["<start_of_image>"], eoi_token_index=SPECIAL_IDS["<end_of_image>"],
                       image_token_index=SPECIAL_IDS["<image_soft_token>"], tie_word_embeddings=True)
    for c in (cfg, cfg.text_config, cfg.vision_config):
        c._attn_implementation = "eager"
    torch.manual_seed(SEED)
    model = Gemma3ForConditionalGeneration(cfg).to(torch.float32).eval()
    ip = Gemma3ImageProcessorPil(size={"height": 224, "width": 224}, resample=PILImageResampling.BILINEAR,
                                 image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_pan_and_scan=False)
    template = (SRC_FIXTURE / "chat_template.jinja").read_text()
    proc = Gemma3Processor(image_processor=ip, tokenizer=tok, chat_template=template, image_seq_length=16)
    return model, proc


def is_gemma_norm(name):
    """Gemma3RMSNorm weights (applied as x_hat * (1 + w)): every rank-1 tensor of the text model and the
    projector's mm_soft_emb_norm. SigLIP's LayerNorms are x_hat * w + b."""
    return ".language_model." in name or name.startswith("language_model.") or name.endswith("mm_soft_emb_norm.weight")


def spec(name, shape, knobs):
    """(offset, scale) of one parameter: value = offset + scale * U(-1, 1). gemma3_vlm_models.tensor_spec's
    rule without its BF16 / power-of-two rounding."""
    if len(shape) == 1:
        if is_gemma_norm(name):
            if name.endswith(("q_norm.weight", "k_norm.weight")):
                return knobs["qk_norm"] - 1.0, knobs["norm"]
            if name.endswith("post_attention_layernorm.weight"):
                return knobs["post_attn"] - 1.0, knobs["norm"]
            if name.endswith("post_feedforward_layernorm.weight"):
                return knobs["post_ffw"] - 1.0, knobs["norm"]
            return 0.0, knobs["norm"]
        if name.endswith(".weight"):
            return 1.0, knobs["norm"]
        return 0.0, knobs["bias"]
    if name.endswith("embed_tokens.weight"):
        return 0.0, knobs["embed"]
    if name.endswith("position_embedding.weight"):
        return 0.0, knobs["pos_embed"]
    # mm_input_projection_weight [vision hidden, text hidden] is used as x @ W: fan_in = dim 0
    fan_in = shape[0] if name.endswith("mm_input_projection_weight") else int(np.prod(shape[1:]))
    return 0.0, float(np.sqrt(3.0 / fan_in)) * 2.0 ** knobs["linear"]


# ---------------------------------------------------------------------------------------------
# Inputs and what transformers computes

# ---------------------------------------------------------------------------------------------
# The Hugging Face directory

def hub_name(key):
    """gemma-3-4b-it's name for a key transformers 5.23's save_pretrained writes (it drops `vision_model.`)."""
    if key.startswith("vision_tower.") and not key.startswith("vision_tower.vision_model."):
        return "vision_tower.vision_model." + key[len("vision_tower."):]
    return key


def write_directory(model, proc):
    from safetensors.torch import load_file, save_file
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        files = sorted(os.listdir(tmp))
        assert "model.safetensors" in files, files
        sd = load_file(os.path.join(tmp, "model.safetensors"))
        save_file({hub_name(k): v.contiguous() for k, v in sorted(sd.items())}, str(OUT / "model.safetensors"),
                  metadata={"format": "pt"})
        os.chmod(OUT / "model.safetensors", 0o644)  # safetensors writes 0600
        for f in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(tmp, f), OUT / f)
    with tempfile.TemporaryDirectory() as tmp:  # processor_config.json (image_seq_length) as the hub has it
        proc.save_pretrained(tmp)
        shutil.copy(os.path.join(tmp, "processor_config.json"), OUT / "processor_config.json")
    proc.image_processor.save_pretrained(str(OUT))  # preprocessor_config.json
    for f in TOKENIZER_FILES:  # the big fixture's, byte for byte
        shutil.copy(SRC_FIXTURE / f, OUT / f)
    pc = json.loads((OUT / "processor_config.json").read_text())
    assert pc.get("image_seq_length") == 16, pc  # convert_hf_to_gguf.py derives the pooling from it


def check_loadable(expected, image):
    """The directory loads with Gemma3ForConditionalGeneration.from_pretrained + AutoProcessor and gives
    the recorded ids and logits exactly."""
    from transformers import AutoProcessor, Gemma3ForConditionalGeneration
    model, info = Gemma3ForConditionalGeneration.from_pretrained(str(OUT), attn_implementation="eager",
                                                                 dtype=torch.float32, output_loading_info=True)
    model.eval()
    bad = {k: v for k, v in info.items() if v and k != "error_msgs" or (k == "error_msgs" and v)}
    assert not bad, f"loading info: {bad}"
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr(), "tied lm_head"
    proc = AutoProcessor.from_pretrained(str(OUT))
    assert type(proc).__name__ == "Gemma3Processor", type(proc)
    inputs = encode(proc, image, QUESTION)
    assert inputs["input_ids"][0].tolist() == expected["input_ids"], "AutoProcessor ids differ"
    logits = [f32(x) for x in last_logits(model, inputs).tolist()]
    assert logits == expected["last_logits"], "reloaded logits differ"
    log(f"reload: from_pretrained ({type(model).__name__}) + AutoProcessor ({type(proc).__name__}, "
        f"{type(proc.image_processor).__name__}) give the recorded ids and logits exactly")


# ---------------------------------------------------------------------------------------------
# GGUF

def add_swa_pattern(model_cfg):
    """--swa-pattern: writes gemma3.attention.sliding_window_pattern (one bool per layer, from
    text_config.layer_types) into model-f32.gguf after conversion, with gguf-py's own
    gguf_new_metadata.copy_with_new_metadata. convert_hf_to_gguf.py's Gemma3Model does not write this key,
    and llama.cpp (src/models/gemma3.cpp: load_swa_pattern(ml, 6)) then assumes 5 sliding layers per full
    one: with 2 layers BOTH are sliding (rope base 1e4, scale 1), while transformers' layer 1 is
    full_attention (rope base 1e6, linear factor 8). llama.cpp reads the array when present."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata
    pattern = [t == "sliding_attention" for t in model_cfg["text_config"]["layer_types"]]
    path = GGUF_OUT / "model-f32.gguf"
    tmp = path.with_suffix(".tmp.gguf")
    reader = gguf.GGUFReader(str(path))
    writer = gguf.GGUFWriter(str(tmp), "gemma3")
    key = "gemma3.attention.sliding_window_pattern"
    copy_with_new_metadata(reader, writer, {key: MetadataDetails(gguf.GGUFValueType.ARRAY, pattern,
                                                                 sub_type=gguf.GGUFValueType.BOOL)}, [])
    del reader
    tmp.replace(path)
    log(f"PATCH (metadata, --swa-pattern): {key} = {pattern} added to {path} ({path.stat().st_size} bytes)")


def listings(log_dir):
    sys.path.insert(0, str(TOOLS))
    from make_gguf_pairs import listing
    for name, tokens in (("mmproj-f32.gguf", False), ("mmproj-f16.gguf", False), ("model-f32.gguf", False)):
        text = listing(GGUF_OUT / name, tokens=tokens)
        (log_dir / f"{name[:-5]}-listing.txt").write_text(text)
        if name.startswith("mmproj"):
            print(text)
        else:  # the LLM's metadata only
            print(text.split("## tensors")[0])


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-cli", action="store_true", help="do not run llama-mtmd-cli")
    ap.add_argument("--no-gguf", action="store_true", help="only the Hugging Face directory and expected.json")
    ap.add_argument("--swa-pattern", action="store_true",
                    help="add gemma3.attention.sliding_window_pattern from layer_types to model-f32.gguf (see add_swa_pattern)")
    ap.add_argument("--log-dir", default="/tmp/gemma3_tiny-pair", help="conversion logs, GGUF listings, cli.txt")
    a = ap.parse_args()
    torch.set_num_threads(2)
    import transformers
    from PIL import Image
    from transformers import AutoTokenizer
    log(f"transformers {transformers.__version__}, torch {torch.__version__}")
    log_dir = Path(a.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)

    tok = AutoTokenizer.from_pretrained(str(SRC_FIXTURE))
    assert len(tok) == 394, len(tok)
    got = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_IDS}
    assert got == SPECIAL_IDS, got
    model, proc = build(tok)
    image = Image.open(IMAGE).convert("RGB")
    inputs = encode(proc, image, QUESTION)
    blank_inputs = encode(proc, Image.new("RGB", image.size, (128, 128, 128)), QUESTION)
    ids = inputs["input_ids"][0].tolist()
    assert ids.count(SPECIAL_IDS["<image_soft_token>"]) == 16, ids
    assert ids.count(SPECIAL_IDS["<start_of_image>"]) == 1 and ids.count(SPECIAL_IDS["<end_of_image>"]) == 1, ids
    assert ids[0] == SPECIAL_IDS["<bos>"] and ids[1] != SPECIAL_IDS["<bos>"], ids
    assert tuple(inputs["pixel_values"].shape) == (1, 3, 224, 224), inputs["pixel_values"].shape
    log(f"prompt: {len(ids)} tokens: {tok.decode(ids)!r}")

    knobs, tries = choose_knobs(model, inputs, blank_inputs, KNOB_TRIES, spec, PAD_ID, log)
    gen, margins = greedy(model, inputs, PAD_ID)
    check_no_cache(model, inputs, gen, margins)
    prompt = proc.apply_chat_template(messages_for(image, QUESTION), add_generation_prompt=True, tokenize=False)
    expected = {"input_ids": ids, "last_logits": [f32(x) for x in last_logits(model, inputs).tolist()],
                "greedy_ids": gen, "greedy_margins": [f32(m) for m in margins],
                "prompt": prompt, "greedy_text": tok.decode(gen), "knobs": knobs,
                "transformers": transformers.__version__, "torch": torch.__version__,
                "dtype": "float32", "attn_implementation": "eager", "image": "Samples/shapes.png"}
    write_directory(model, proc)
    (OUT / "expected.json").write_text(json.dumps(expected))
    del model
    check_loadable(expected, image)
    log(f"greedy ids {gen} text {expected['greedy_text']!r}")
    log(f"greedy margins {[round(m, 4) for m in margins]} (min {min(margins):.4f})")
    for f in sorted(OUT.iterdir()):
        log(f"  {f.relative_to(REPO)}: {f.stat().st_size} bytes")
    log(f"  total {sum(f.stat().st_size for f in OUT.iterdir())} bytes")

    if a.no_gguf:
        return
    paths = llama_paths()
    convert(paths, OUT, GGUF_OUT, log_dir, log)
    if a.swa_pattern:
        add_swa_pattern(json.loads((OUT / "config.json").read_text()))
    listings(log_dir)
    if not a.no_cli:
        run_cli(paths, tok, expected, log_dir, GGUF_OUT, IMAGE, QUESTION, [], log)


if __name__ == "__main__":
    main()

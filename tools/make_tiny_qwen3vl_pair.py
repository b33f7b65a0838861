#!/usr/bin/env python3
"""Builds a SMALL random-initialised Qwen3-VL model (transformers 5.23's Qwen3VLForConditionalGeneration,
float32), saves it as a Hugging Face directory, converts it with llama.cpp's own convert_hf_to_gguf.py into a
GGUF pair (the `qwen3vl` LLM and the `qwen3vl_merger` mmproj), and records what transformers computes for
one image, so that the Swift GGUF route for Qwen3-VL is checked end to end against transformers.

    tools/build_llama_cpp.sh        # once: llama.cpp source and venv (the converter needs only the source)
    flock /tmp/vlm-build.lock ~/.cache/vlm/llama.cpp/venv/bin/python tools/make_tiny_qwen3vl_pair.py [--no-cli]

Shapes: the big Qwen3-VL fixture's layout (tools/qwen_vl_models.py, Tests/VisionTests/Fixtures/vlms/qwen3_vl)
at small widths, with that fixture's tokenizer.json, tokenizer_config.json and chat_template.jinja byte for
byte (byte-level BPE, vocab 400; <|image_pad|> 6, <|video_pad|> 7):
  text:   hidden 64, 3 layers (more than the 2 DeepStack ones: llama.cpp asserts when its last layer
          takes a DeepStack add, docs/MMPROJ-NOTES.md), 4 heads / 2 kv heads, head_dim 16, intermediate 128, rms_norm_eps 1e-6,
          rope_parameters {default, theta 5e6, mrope_interleaved, mrope_section [2, 3, 3]}, tied embeddings
  vision: hidden 32, depth 3, 4 heads, intermediate 64, gelu_pytorch_tanh, patch 16, temporal 2, merge 2,
          num_position_embeddings 64 (an 8 x 8 table, interpolated to the image's grid),
          deepstack_visual_indexes [0, 2] (list entry 1 reads block 2: the converter names it
          v.deepstack.2.*, the tower block, not the list index), out_hidden_size 64
  processor: Qwen2VLImageProcessorPil at Qwen3-VL's published bounds (65536..16777216 pixels, mean/std 0.5),
          which the converter does not write and vlm assumes for a pair; Samples/shapes.png (384x256) is not
          resized: grid [1, 16, 24], 384 patches, 96 <|image_pad|> tokens.
Weights: every parameter redrawn from torch.Generator(SEED) (tiny_pair_common.set_weights) under the rule of
`spec` below and the first healthy knobs of KNOB_TRIES.

Writes Tests/VisionTests/Fixtures/vlms/qwen3_vl_tiny/ (config.json, generation_config.json, model.safetensors
in the hub layout model.language_model.* / model.visual.*, the tokenizer files, preprocessor_config.json,
video_preprocessor_config.json, expected.json) and Tests/VisionTests/Fixtures/gguf_pairs/qwen3_vl_tiny/
(model-f32.gguf, mmproj-f32.gguf, mmproj-f16.gguf). expected.json: for shapes.png and [image, "What is in the
picture?"]: input_ids, image_grid_thw, the 3-row position ids of get_rope_index, the last-position logits
(float32, eager attention), 8 greedy ids and their top-1 minus top-2 margins.
check_gguf asserts on the files what conversion/qwen3vl.py (llama.cpp 0c1e57098) writes: qwen3vl.rope.
dimension_sections [2, 3, 3, 0], qwen3vl.n_deepstack_layers 2, no output.weight; projector qwen3vl_merger,
the Conv3d split into v.patch_embd.weight/.weight.1 plus v.patch_embd.bias, qkv fused (v.blk.N.attn_qkv),
v.position_embd.weight F32, v.deepstack.0.* and v.deepstack.2.*; in mmproj-f16 the 2-D weights and patch
kernels F16, the rest F32.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from tiny_pair_common import (SEED, check_no_cache, choose_knobs, convert, encode, f32, greedy, last_logits,
                              llama_paths, messages_for, qwen_rope_positions, qwen_spec, run_cli)

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
SRC_FIXTURE = REPO / "Tests/VisionTests/Fixtures/vlms/qwen3_vl"
OUT = REPO / "Tests/VisionTests/Fixtures/vlms/qwen3_vl_tiny"
GGUF_OUT = REPO / "Tests/VisionTests/Fixtures/gguf_pairs/qwen3_vl_tiny"
IMAGE = REPO / "Samples/shapes.png"
QUESTION = "What is in the picture?"
SPECIAL_IDS = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "<|vision_start|>": 3,
               "<|vision_end|>": 4, "<|vision_pad|>": 5, "<|image_pad|>": 6, "<|video_pad|>": 7}
PAD_ID = SPECIAL_IDS["<|endoftext|>"]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
EXPECT_GRID = [1, 16, 24]
DEEPSTACK = [0, 2]
CLI_TOKENS = (64, 16384)  # the published pixel bounds in merged tokens, for llama-mtmd-cli

_BASE = {"embed": 2.0 ** -2, "pos_embed": 2.0 ** -2, "linear": 1, "qk_proj": 1, "norm": 2.0 ** -4, "bias": 2.0 ** -6}
KNOB_TRIES = [dict(_BASE, linear=2), dict(_BASE), dict(_BASE, embed=2.0 ** -1, linear=2),
              dict(_BASE, embed=2.0 ** -3, linear=2), dict(_BASE, embed=2.0 ** -3, qk_proj=2)]


def log(msg):
    print(f"[make_tiny_qwen3vl_pair] {msg}", flush=True)


def processor(tok, template):
    sys.path.insert(0, str(TOOLS))
    from qwen_vl_models import FAMILIES, FrameVideoProcessor, make_processor
    from transformers import Qwen2VLImageProcessorPil, Qwen3VLProcessor
    spec = FAMILIES["qwen3_vl"]
    ip = Qwen2VLImageProcessorPil(**spec["image_processor"])
    vp = FrameVideoProcessor("qwen3_vl", ip, spec["video"])
    return make_processor(Qwen3VLProcessor, ip, tok, vp, template)


def build(tok):
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    ids = SPECIAL_IDS
    text = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6,
                max_position_embeddings=262144, attention_bias=False,
                rope_parameters={"rope_type": "default", "mrope_interleaved": True, "mrope_section": [2, 3, 3],
                                 "rope_theta": 5000000.0},
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    vision = dict(depth=3, hidden_size=32, intermediate_size=64, num_heads=4, hidden_act="gelu_pytorch_tanh",
                  patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=64,
                  out_hidden_size=64, deepstack_visual_indexes=DEEPSTACK, in_channels=3)
    cfg = Qwen3VLConfig(text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
                        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
                        vision_end_token_id=ids["<|vision_end|>"], tie_word_embeddings=True)
    for c in (cfg, cfg.text_config, cfg.vision_config):
        c._attn_implementation = "eager"
    torch.manual_seed(SEED)
    model = Qwen3VLForConditionalGeneration(cfg).to(torch.float32).eval()
    return model, processor(tok, (SRC_FIXTURE / "chat_template.jinja").read_text())


spec = qwen_spec


rope_positions = qwen_rope_positions


def write_directory(model, proc):
    from safetensors.torch import load_file, save_file
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        sd = load_file(os.path.join(tmp, "model.safetensors"))
        bad = [k for k in sd if not k.startswith(("model.language_model.", "model.visual."))]
        assert not bad and "lm_head.weight" not in sd, f"unexpected saved names {bad[:5]}"
        save_file({k: v.contiguous() for k, v in sorted(sd.items())}, str(OUT / "model.safetensors"),
                  metadata={"format": "pt"})
        os.chmod(OUT / "model.safetensors", 0o644)
        for f in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(tmp, f), OUT / f)
    proc.image_processor.save_pretrained(str(OUT))
    (OUT / "video_preprocessor_config.json").write_text(json.dumps(proc.video_processor.config(), indent=2))
    for f in TOKENIZER_FILES:
        shutil.copy(SRC_FIXTURE / f, OUT / f)


def check_loadable(expected, image):
    """The directory reloads (from_pretrained, AutoTokenizer, AutoImageProcessor) to the same ids and logits."""
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen3VLForConditionalGeneration
    model, info = Qwen3VLForConditionalGeneration.from_pretrained(str(OUT), attn_implementation="eager",
                                                                  dtype=torch.float32, output_loading_info=True)
    model.eval()
    bad = {k: v for k, v in info.items() if v}
    assert not bad, f"loading info: {bad}"
    tok = AutoTokenizer.from_pretrained(str(OUT))
    ip = AutoImageProcessor.from_pretrained(str(OUT))
    proc = processor(tok, (OUT / "chat_template.jinja").read_text())
    proc.image_processor = ip
    inputs = encode(proc, image, QUESTION)
    assert inputs["input_ids"][0].tolist() == expected["input_ids"], "reloaded processor ids differ"
    logits = [f32(x) for x in last_logits(model, inputs).tolist()]
    assert logits == expected["last_logits"], "reloaded logits differ"
    log("reload: from_pretrained + AutoTokenizer + AutoImageProcessor give the recorded ids and logits exactly")


def check_gguf():
    import gguf

    def field(r, key):
        f = r.fields[key]
        return [f.parts[i].tolist()[0] for i in f.data]
    mm = gguf.GGUFReader(str(GGUF_OUT / "mmproj-f32.gguf"))
    f = mm.fields["clip.projector_type"]
    assert bytes(f.parts[f.data[0]]).decode() == "qwen3vl_merger"
    names = {t.name: ([int(x) for x in t.shape], t.tensor_type.name) for t in mm.tensors}
    assert names["v.patch_embd.weight"][0] == [16, 16, 3, 32] and "v.patch_embd.weight.1" in names, names
    assert "v.patch_embd.bias" in names and names["v.position_embd.weight"] == ([32, 64], "F32"), names
    assert all(f"v.blk.{b}.attn_qkv.weight" in names for b in range(3)) and "v.blk.0.attn_q.weight" not in names
    assert sorted({int(n.split(".")[2]) for n in names if n.startswith("v.deepstack.")}) == DEEPSTACK, names
    for t in gguf.GGUFReader(str(GGUF_OUT / "mmproj-f16.gguf")).tensors:
        want = "F16" if len(t.shape) >= 2 and t.name != "v.position_embd.weight" else "F32"
        assert t.tensor_type.name == want, (t.name, t.tensor_type.name)
    lm = gguf.GGUFReader(str(GGUF_OUT / "model-f32.gguf"))
    f = lm.fields["general.architecture"]
    assert bytes(f.parts[f.data[0]]).decode() == "qwen3vl"
    sections = field(lm, "qwen3vl.rope.dimension_sections")
    assert sections == [2, 3, 3, 0], sections
    assert field(lm, "qwen3vl.n_deepstack_layers") == [len(DEEPSTACK)]
    assert "output.weight" not in {t.name for t in lm.tensors}
    log(f"GGUF check: qwen3vl_merger, Conv3d split + bias, qkv fused, v.deepstack.{DEEPSTACK}, sections {sections}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-cli", action="store_true", help="do not run llama-mtmd-cli")
    ap.add_argument("--no-gguf", action="store_true", help="only the Hugging Face directory and expected.json")
    ap.add_argument("--log-dir", default="/tmp/qwen3_vl_tiny-pair")
    a = ap.parse_args()
    torch.set_num_threads(2)
    import transformers
    from PIL import Image
    from transformers import AutoTokenizer
    log(f"transformers {transformers.__version__}, torch {torch.__version__}")
    log_dir = Path(a.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(str(SRC_FIXTURE))
    got = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_IDS}
    assert len(tok) == 400 and got == SPECIAL_IDS, got
    model, proc = build(tok)
    image = Image.open(IMAGE).convert("RGB")
    inputs = encode(proc, image, QUESTION)
    blank = encode(proc, Image.new("RGB", image.size, (128, 128, 128)), QUESTION)
    ids = inputs["input_ids"][0].tolist()
    grid = inputs["image_grid_thw"].tolist()
    assert grid == [EXPECT_GRID], grid
    assert ids.count(SPECIAL_IDS["<|image_pad|>"]) == EXPECT_GRID[1] * EXPECT_GRID[2] // 4, ids
    log(f"prompt: {len(ids)} tokens, image_grid_thw {grid}")
    knobs, _ = choose_knobs(model, inputs, blank, KNOB_TRIES, spec, PAD_ID, log)
    gen, margins = greedy(model, inputs, PAD_ID)
    check_no_cache(model, inputs, gen, margins)
    pos, deltas = rope_positions(model, inputs)
    prompt = proc.apply_chat_template(messages_for(image, QUESTION), add_generation_prompt=True, tokenize=False)
    expected = {"input_ids": ids, "image_grid_thw": grid, "position_ids": pos, "rope_deltas": deltas,
                "last_logits": [f32(x) for x in last_logits(model, inputs).tolist()],
                "greedy_ids": gen, "greedy_margins": [f32(m) for m in margins], "prompt": prompt,
                "greedy_text": tok.decode(gen), "knobs": knobs, "transformers": transformers.__version__,
                "torch": torch.__version__, "dtype": "float32", "attn_implementation": "eager",
                "image": "Samples/shapes.png"}
    write_directory(model, proc)
    (OUT / "expected.json").write_text(json.dumps(expected))
    del model
    check_loadable(expected, image)
    log(f"greedy ids {gen} text {expected['greedy_text']!r}, min margin {min(margins):.4f}")
    for f in sorted(OUT.iterdir()):
        log(f"  {f.relative_to(REPO)}: {f.stat().st_size} bytes")
    if a.no_gguf:
        return
    paths = llama_paths()
    convert(paths, OUT, GGUF_OUT, log_dir, log)
    check_gguf()
    for f in sorted(GGUF_OUT.iterdir()):
        log(f"  {f.relative_to(REPO)}: {f.stat().st_size} bytes")
    if not a.no_cli:
        run_cli(paths, tok, expected, log_dir, GGUF_OUT, IMAGE, QUESTION,
                ["--jinja", "--image-min-tokens", str(CLI_TOKENS[0]), "--image-max-tokens", str(CLI_TOKENS[1])], log)


if __name__ == "__main__":
    main()

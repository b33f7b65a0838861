"""Builds random-initialised Qwen2.5-VL and Qwen3-VL models at the real widths of Qwen2.5-VL-3B and
Qwen3-VL-2B (few layers, tiny vocabulary) and records what Hugging Face transformers computes for
them in float32, so that the Swift families can be checked against transformers without torch in CI.

The weights are not committed. Every tensor is made by a fixed generator that the Swift tests
reimplement, and the fixture lists only its parameters (weights.json):
  seed = FNV-1a 64 of the tensor name's UTF-8 bytes (offset 0xcbf29ce484222325, prime 0x100000001b3);
  for flat (row-major) index i: x = seed + i; splitmix64(x) = z (all mod 2^64);
  u = ((z >> 56) - 128) / 128, in [-1, 0.9921875] (256 levels);
  value = float32(offset + scale * u) with scale a power of two (offset 0 for rank >= 2, so those
  values are exact in bfloat16; rank-1 norm weights have offset 1).
Tensor names are the keys transformers' save_pretrained writes to model.safetensors (for Qwen2.5-VL
that is the hub layout, `model.layers.*` and `visual.*`; for Qwen3-VL `model.language_model.*` and
`model.visual.*`); the tied lm_head is not saved and is not listed.

For each family it writes Tests/VisionTests/Fixtures/vlms/<qwen2_5_vl|qwen3_vl>/:
  config.json, generation_config.json (save_pretrained's), tokenizer.json, tokenizer_config.json,
  preprocessor_config.json, video_preprocessor_config.json, chat_template.jinja: a model directory
  that loads once model.safetensors is generated from weights.json;
  weights.json: the generator and, per tensor, name, shape, dtype (BF16 | F32), offset, scale, sum and
  abs_sum of the float32 values (exact: every value is a multiple of scale/128);
  image_a.png, image_b0.png, image_b1.png, video_0.png ... video_3.png: the exact input pixels;
  expected.json: per case (a: one non-square image, b: two images of different sizes, c: a 4-frame
  video, d: text only) the messages, rendered prompt, input_ids, grids, M-RoPE position ids and
  rope_deltas, pixel value statistics, the vision tower's patch embedding (Qwen3: plus the
  interpolated position embedding), merger output and (Qwen3) DeepStack features, last-position
  logits and 16 greedy tokens with their top-1 minus top-2 margins; Qwen2.5's window index;
  pixel_values_a.bin: case (a)'s pixel_values as little-endian float32, where under 1.5 MB.

Images go through transformers' own processor classes (Qwen2_5_VLProcessor / Qwen3VLProcessor and
the image processor transformers loads; without torchvision that is Qwen2VLImageProcessorPil). The
video processors of transformers need torchvision, so video frames are chosen at a size the
processor does not resize, and FrameVideoProcessor (tools/qwen_vl_models.py) does the rest of Qwen2VLVideoProcessor /
Qwen3VLVideoProcessor (normalise, pad to the temporal patch, patchify; it checks itself against the
image processor); the processor classes still expand the video tokens, the timestamps and
second_per_grid_ts. The scales are tried in order until greedy decoding is far from ties and not
degenerate (as make_tiny_vlms tries seeds); the chosen ones are recorded in weights.json.

Run: /work/venv-ref/bin/python tools/make_qwen_vl_fixtures.py [qwen2_5_vl|qwen3_vl ...]
(needs torch, transformers 5.23, tokenizers, pillow, numpy, safetensors; about 70 s, 1 thread, 3 GB)
"""
import json, os, shutil, sys, tempfile, time
import numpy as np
import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_vlms import greedy, GREEDY  # noqa: E402
from qwen_vl_models import (FAMILIES, QUESTIONS, SPECIALS, TEMPLATES, VIDEO_METADATA, build, cases,  # noqa: E402
                            make_media, make_tokenizer)
from qwen_vl_weights import KNOB_TRIES, generate, load_weights, saved_names, tensor_spec, test_vectors  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "vlms")
SAMPLE = 256               # values in each strided sample
PIXEL_BIN_LIMIT = 1_500_000  # bytes; case (a)'s pixel_values.bin is written only below this
MARGIN = 2e-3              # the Swift tests compare greedy tokens up to the first margin below this

# ---------------------------------------------------------------------------------------------
# Recording

def f32(x):
    return float(str(np.float32(x)))  # shortest text that reads back as the same float32


def stats(t, n=SAMPLE):
    flat = t.detach().reshape(-1).to(torch.float32)
    count = flat.numel()
    stride = max(1, count // n)
    if stride > 1 and stride % 2 == 0:
        stride += 1  # odd, so the sample does not alias on power-of-two row widths
    idx = list(range(0, count, stride))[:n]
    return {"shape": list(t.shape), "sum": float(flat.double().sum()), "abs_sum": float(flat.double().abs().sum()),
            "sample": {"indices": idx, "values": [f32(v) for v in flat[idx].tolist()]}}


def vision_features(model, family, pixel_values, grid, video):
    """The merger output, DeepStack features and the hidden state entering block 0 before any window
    permutation (Qwen2.5: patch_embed's output; Qwen3: patch_embed + interpolated pos_embed)."""
    visual = model.model.visual
    captured = {}
    if family == "qwen2_5_vl":
        handle = visual.patch_embed.register_forward_hook(lambda m, a, o: captured.setdefault("embed", o.detach().clone()))
    else:
        def grab(module, args, kwargs):
            captured.setdefault("embed", (args[0] if args else kwargs["hidden_states"]).detach().clone())
        handle = visual.blocks[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        with torch.no_grad():
            fn = model.model.get_video_features if video else model.model.get_image_features
            out = fn(pixel_values, grid)
    finally:
        handle.remove()
    rec = {"patch_embed" if family == "qwen2_5_vl" else "patch_embed_plus_pos": stats(captured["embed"]),
           "merger": stats(torch.cat(list(out.pooler_output), 0))}
    if family == "qwen3_vl":
        rec["deepstack"] = [stats(torch.cat(list(f), 0)) for f in out.deepstack_features]
    return rec


def rope_rule(config, family, inputs):
    """The M-RoPE position ids as transformers 5.23's get_rope_index computes them, restated: text
    runs on from the current position in all three rows; a run of vision tokens of grid (t, h, w)
    (merged h' = h/2, w' = w/2; Qwen3 splits a video into t grids (1, h, w), one per timestamped
    frame group) gets T = start + int(i_t * interval), H = start + i_h, W = start + i_w, where interval
    = tokens_per_second * second_per_grid_t for a Qwen2.5 video and 1 otherwise; the next position is
    start + max(h', w'). rope_delta = max(all ids) + 1 - length."""
    types = inputs["mm_token_type_ids"][0].tolist()
    merge = config.vision_config.spatial_merge_size
    grids = {1: [g.tolist() for g in inputs.get("image_grid_thw", [])],
             2: [g.tolist() for g in inputs.get("video_grid_thw", [])]}
    intervals = [1.0] * len(grids[2])
    if family == "qwen2_5_vl" and "second_per_grid_ts" in inputs:
        intervals = [float(config.vision_config.tokens_per_second * torch.as_tensor(s, dtype=torch.float32))
                     for s in inputs["second_per_grid_ts"]]
    if family == "qwen3_vl":
        grids[2] = [[1, h, w] for t, h, w in grids[2] for _ in range(t)]
        intervals = [1.0] * len(grids[2])
    rows, cur, i, used = [[], [], []], 0, 0, {1: 0, 2: 0}
    while i < len(types):
        j = i
        while j < len(types) and types[j] == types[i]:
            j += 1
        if types[i] == 0:
            for r in rows:
                r.extend(range(cur, cur + j - i))
            cur += j - i
        else:
            t, h, w = grids[types[i]][used[types[i]]]
            interval = intervals[used[2]] if types[i] == 2 else 1.0
            used[types[i]] += 1
            for it in range(t):
                for ih in range(h // merge):
                    for iw in range(w // merge):
                        rows[0].append(cur + int(it * interval))
                        rows[1].append(cur + ih)
                        rows[2].append(cur + iw)
            cur += max(h, w) // merge
        i = j
    return rows, max(max(r) for r in rows) + 1 - len(types)


def window_info(model, grid):
    from transformers.vision_utils import get_vision_window_index
    v = model.config.vision_config
    index, cu = get_vision_window_index(grid, spatial_merge_size=v.spatial_merge_size, window_size=v.window_size,
                                        patch_size=v.patch_size)
    unit = v.window_size // v.spatial_merge_size // v.patch_size
    tiles = 0
    for t, h, w in grid.tolist():
        hh, ww = h // v.spatial_merge_size, w // v.spatial_merge_size
        tiles += t * ((hh + unit - hh % unit) // unit) * ((ww + unit - ww % unit) // unit)
    return {"merged_window": unit, "num_windows_tiled": tiles, "num_windows": len(cu) - 1,
            "cu_window_seqlens": cu.tolist(), "window_index": index.tolist()}


def prepare(proc, family, content, image_names, images, frames):
    messages = [{"role": "user", "content": content}]
    prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    kwargs = {}
    if image_names:
        kwargs["images"] = [images[n] for n in image_names]
    if frames is not None:
        kwargs["videos"] = [frames]
        kwargs["video_metadata"] = [VIDEO_METADATA]
        kwargs["return_metadata"] = True
    inputs = proc(text=[prompt], return_tensors="pt", **kwargs)
    return messages, prompt, inputs


def model_inputs(inputs):
    return {k: v for k, v in inputs.items() if k not in ("video_metadata",)}


def healthy(gen, margins):
    """Greedy decoding far from ties (every margin at least 5x the tests' threshold) and not degenerate."""
    return min(margins) >= 5 * MARGIN and len(set(gen)) >= 4


def safe_steps(gen, margins):
    """Steps before the first margin under 5x the threshold (0 if degenerate): the fallback's score."""
    if len(set(gen)) < 4:
        return 0
    return next((i for i, m in enumerate(margins) if m < 5 * MARGIN), len(margins))


def run_family(family):
    t0 = time.time()
    out = os.path.join(OUT, family)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tok = make_tokenizer(out)
    model, proc = build(family, tok)
    images, frames = make_media(out, family)
    proc.video_processor.self_check(frames[0])
    prepared = [(name, names, *prepare(proc, family, content, names, images, fr)) for name, content, names, fr
                in cases(frames)]
    with tempfile.TemporaryDirectory() as tmp:
        mapping = saved_names(model, tmp)
        for f in ("config.json", "generation_config.json"):
            if os.path.exists(os.path.join(tmp, f)):
                shutil.copy(os.path.join(tmp, f), os.path.join(out, f))
        knobs, entries, tries, results = choose_knobs(family, model, mapping, prepared, tok, t0)
    expected_cases = {name: record_case(model, proc, tok, family, name, image_names, messages, prompt, inputs, results[name])
                      for name, image_names, messages, prompt, inputs in prepared}
    write_directory(out, family, proc, tok, prepared, expected_cases, knobs, entries, tries)
    del model
    check_loadable(out, family, prepared, expected_cases)
    size = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
    print(f"{family}: {size / 1024:.0f} KB in {time.time() - t0:.0f}s; knobs {knobs}")
    for k, r in expected_cases.items():
        print(f"  {k}: tokens={r['num_tokens']} grids={r.get('image_grid_thw') or r.get('video_grid_thw')} "
              f"min margin={r['min_greedy_margin']:.4f} greedy={r['greedy_ids']}")


def choose_knobs(family, model, mapping, prepared, tok, t0):
    """Loads the weights of each entry of KNOB_TRIES in turn until greedy decoding is healthy on
    every case; returns the chosen knobs, their tensor entries, the tries and the greedy results."""
    tries = []
    for knobs in KNOB_TRIES[family]:
        entries = load_weights(model, mapping, knobs)
        results = {}
        for name, _, _, _, inputs in prepared:
            results[name] = greedy(model, model_inputs(inputs), tok.pad_token_id)
        ok = all(healthy(*r) for r in results.values())
        tries.append({"knobs": knobs, "ok": ok, "min_margins": {k: min(r[1]) for k, r in results.items()},
                      "distinct": {k: len(set(r[0])) for k, r in results.items()},
                      "safe_steps": {k: safe_steps(*r) for k, r in results.items()}})
        print(f"{family}: knobs {knobs} ok={ok} {tries[-1]['min_margins']} {tries[-1]['distinct']} "
              f"({time.time() - t0:.0f}s)", flush=True)
        if ok:
            return knobs, entries, tries, results
    # None healthy: keep the try whose worst case decodes longest before a near-tie.
    best = max(range(len(tries)), key=lambda i: min(tries[i]["safe_steps"].values()))
    knobs = tries[best]["knobs"]
    entries = load_weights(model, mapping, knobs)
    results = {name: greedy(model, model_inputs(inputs), tok.pad_token_id) for name, _, _, _, inputs in prepared}
    return knobs, entries, tries, results


def record_case(model, proc, tok, family, name, image_names, messages, prompt, inputs, result):
    """What transformers computes for one case: ids, positions, pixel and vision statistics,
    last logits and the greedy tokens."""
    mi = model_inputs(inputs)
    ids = inputs["input_ids"]
    grids = {k: inputs[k] for k in ("image_grid_thw", "video_grid_thw") if k in inputs}
    rope_kwargs = dict(mm_token_type_ids=inputs["mm_token_type_ids"], attention_mask=inputs["attention_mask"],
                       image_grid_thw=grids.get("image_grid_thw"), video_grid_thw=grids.get("video_grid_thw"))
    if "second_per_grid_ts" in inputs:
        rope_kwargs["second_per_grid_ts"] = inputs["second_per_grid_ts"]
    if grids:
        pos, deltas = model.model.get_rope_index(ids, **rope_kwargs)
        pos, deltas = pos[:, 0].tolist(), int(deltas.reshape(-1)[0])
    else:  # text only: what generate uses, 1-D positions in all three rows
        pos, deltas = [list(range(ids.shape[1]))] * 3, 0
    assert (pos, deltas) == rope_rule(model.config, family, inputs), f"{family} {name}: position rule"
    with torch.no_grad():
        logits = model(**mi).logits[0, -1]
    gen, margins = result
    rec = {"messages": messages, "prompt": prompt, "expanded_prompt": tok.decode(ids[0]), "question": QUESTIONS[name],
           "images": [n + ".png" for n in image_names],
           "input_ids": ids[0].tolist(), "num_tokens": ids.shape[1],
           "mm_token_type_ids": inputs["mm_token_type_ids"][0].tolist(),
           "position_ids": pos, "rope_deltas": deltas}
    if "pixel_values" in inputs:
        record_vision(rec, model, family, inputs, "pixel_values", "image_grid_thw", False)
    if "pixel_values_videos" in inputs:
        meta = inputs["video_metadata"][0]
        rec["video"] = {"frames": [f"video_{k}.png" for k in range(4)], "input_metadata": VIDEO_METADATA,
                        "frames_indices": [int(i) for i in meta.frames_indices], "fps": meta.fps,
                        "sampled_fps": meta.sampled_fps}
        if family == "qwen3_vl":
            rec["video"]["timestamps"] = proc._calculate_timestamps(list(meta.frames_indices), meta.fps,
                                                                    proc.video_processor.temporal_patch_size)
        record_vision(rec, model, family, inputs, "pixel_values_videos", "video_grid_thw", True)
    if "second_per_grid_ts" in inputs:
        rec["second_per_grid_ts"] = [float(x) for x in inputs["second_per_grid_ts"]]
    rec.update({"last_logits": [f32(x) for x in logits.tolist()], "greedy_ids": gen,
                "greedy_margins": [f32(m) for m in margins], "min_greedy_margin": f32(min(margins)),
                "greedy_text": tok.decode(gen)})
    return rec


def record_vision(rec, model, family, inputs, pixels_key, grid_key, video):
    """The grid, pixel statistics and vision-tower features of a case's images or video."""
    rec[grid_key] = inputs[grid_key].tolist()
    rec[pixels_key] = stats(inputs[pixels_key])
    rec["vision"] = vision_features(model, family, inputs[pixels_key], inputs[grid_key], video)
    if family == "qwen2_5_vl":
        rec["window"] = window_info(model, inputs[grid_key])


def write_directory(out, family, proc, tok, prepared, expected_cases, knobs, entries, tries):
    """The rest of a loadable model directory: processor configs, the chat template, weights.json
    and expected.json (and case (a)'s pixel values where small)."""
    pv = prepared[0][4]["pixel_values"]
    pixel_bin = None
    if pv.numel() * 4 < PIXEL_BIN_LIMIT:
        pixel_bin = "pixel_values_a.bin"
        pv.numpy().astype("<f4").tofile(os.path.join(out, pixel_bin))
    proc.image_processor.save_pretrained(out)
    json.dump(proc.video_processor.config(), open(os.path.join(out, "video_preprocessor_config.json"), "w"), indent=2)
    with open(os.path.join(out, "chat_template.jinja"), "w") as f:
        f.write(TEMPLATES[family])
    json.dump({"generator": "fnv1a64-splitmix64-int8",
               "formula": "value = float32(offset + scale * (((splitmix64(fnv1a64(name) + i) >> 56) - 128) / 128))",
               "test_vectors": test_vectors(entries[0]["name"]),
               "knobs": knobs, "scale_rule": " ".join(tensor_spec.__doc__.split()), "tries": tries,
               "tensors": entries},
              open(os.path.join(out, "weights.json"), "w"), indent=1)
    special = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    expected = {
        "family": family, "transformers": transformers.__version__, "torch": torch.__version__,
        "dtype": "float32", "attn_implementation": "eager",
        "processor_class": type(proc).__name__, "image_processor_class": type(proc.image_processor).__name__,
        "video_processor_class": "FrameVideoProcessor (tools/qwen_vl_models.py; stands for "
                                 + FAMILIES[family]["video"]["video_processor_type"] + ", which needs torchvision)",
        "torchvision": None, "special_tokens": special, "vocab_size": len(tok),
        "pixel_values_bin": pixel_bin, "greedy_steps": GREEDY, "margin_threshold": MARGIN,
        "cases": expected_cases,
    }
    json.dump(expected, open(os.path.join(out, "expected.json"), "w"))


def check_loadable(out, family, prepared, expected_cases):
    """The fixture loads the way the Swift side will load it: model.safetensors written from
    weights.json alone (in a temporary folder) next to the fixture's config.json, read back with
    from_pretrained, gives the recorded logits exactly; the tokenizer, image processor and config
    load with transformers' Auto classes."""
    from transformers import AutoConfig, AutoTokenizer, AutoImageProcessor, AutoModelForImageTextToText
    from safetensors.numpy import save_file
    cfg = AutoConfig.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    ip = AutoImageProcessor.from_pretrained(out)
    assert cfg.model_type == family and cfg.text_config.vocab_size == len(tok), (cfg.model_type, len(tok))
    assert type(ip).__name__ == "Qwen2VLImageProcessorPil", type(ip).__name__
    manifest = json.load(open(os.path.join(out, "weights.json")))
    with tempfile.TemporaryDirectory() as tmp:
        tensors = {}
        for t in manifest["tensors"]:
            values, total, abs_total = generate(t["name"], tuple(t["shape"]), t["offset"], t["scale"])
            assert (total, abs_total) == (t["sum"], t["abs_sum"]), t["name"]
            tensors[t["name"]] = values
        save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        del tensors
        for f in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(out, f), tmp)
        model = AutoModelForImageTextToText.from_pretrained(tmp, attn_implementation="eager", dtype=torch.float32)
        model.eval()
        assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr(), "tied lm_head"
        for name, _, _, _, inputs in prepared:
            if name in ("a", "d"):
                with torch.no_grad():
                    logits = model(**model_inputs(inputs)).logits[0, -1]
                assert [f32(x) for x in logits.tolist()] == expected_cases[name]["last_logits"], f"reload {name}"


def main():
    os.makedirs(OUT, exist_ok=True)
    for family in sys.argv[1:] or list(FAMILIES):
        run_family(family)


if __name__ == "__main__":
    sys.exit(main())

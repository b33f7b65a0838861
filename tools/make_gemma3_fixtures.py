"""Builds a random-initialised Gemma 3 vision-language model (transformers'
Gemma3ForConditionalGeneration) at gemma-3-4b-it's widths with 2 text and 2 vision layers
(tools/gemma3_vlm_models.py) and records what transformers computes for it in float32, so that the
Swift Gemma 3 family can be checked against transformers without torch in CI.

As for the Qwen-VL fixtures (tools/make_qwen_vl_fixtures.py, whose helpers this reuses) the weights
are not committed: weights.json lists each tensor's generator parameters (tools/qwen_vl_weights.py:
FNV-1a + splitmix64 from the name) under Gemma 3's own scale rule (gemma3_vlm_models.tensor_spec).
Tensor names are gemma-3-4b-it's hub layout (language_model.model.*, vision_tower.vision_model.*,
multi_modal_projector.*). transformers 5.23's save_pretrained writes the same except that it drops
`vision_model.` from the SigLIP names; from_pretrained reads both (checked here).

Writes Tests/VisionTests/Fixtures/vlms/gemma3/: config.json, generation_config.json (save_pretrained's),
tokenizer.json, tokenizer_config.json, preprocessor_config.json, processor_config.json,
chat_template.jinja (a model directory that loads once tools/materialize_weights.py has written
model.safetensors), weights.json, image_a.png, image_b0.png, image_b1.png, and expected.json: per
case (a: one landscape image, b: two images, c: text only) the messages, prompt, expanded prompt,
input_ids, token_type_ids and image groups, pixel value statistics, the vision tower's last hidden
state (after post_layernorm), the projector's output, the last-position logits (image cases also
with a purely causal mask, which must differ, and all cases with the embedding scale rounded to
bfloat16 as a bf16 checkpoint holds it), and 16 greedy tokens with their top-1 minus top-2 margins.
Checked on the way: the attention masks transformers builds equal gemma3_vlm_models.MASK_RULE; the
cached greedy decoding equals a full forward pass without cache; the processor's chat-template
tokenisation equals the prompt + processor call recorded here; the directory reloads (Auto classes,
materialize_weights.py) to the same logits.

Run: /work/venv-ref/bin/python tools/make_gemma3_fixtures.py   (torch, transformers 5.23; about 2 min with 2 threads, 6 GB)
"""
import json, os, shutil, subprocess, sys, tempfile, time
import numpy as np
import torch
import transformers
from transformers.modeling_outputs import BaseModelOutputWithPooling

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_vlms import greedy, GREEDY  # noqa: E402
from make_qwen_vl_fixtures import MARGIN, f32, healthy, safe_steps  # noqa: E402
from gemma3_vlm_models import (KNOB_TRIES, MASK_RULE, QUESTIONS, SPECIALS, TEMPLATE, build, cases,  # noqa: E402
                               group_ids, make_media, make_tokenizer, mask_rule, tensor_spec)
from qwen_vl_weights import load_weights, saved_names, test_vectors  # noqa: E402

torch.set_num_threads(2)
TOOLS = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(TOOLS, "..", "Tests", "VisionTests", "Fixtures", "vlms", "gemma3")
STRIDE = 997  # pixel_values sample: every 997th value of the flat array


def hub_name(key):
    """gemma-3-4b-it's name for a key transformers 5.23's save_pretrained writes."""
    return "vision_tower.vision_model." + key[len("vision_tower."):] if key.startswith("vision_tower.") else key


def summary(t):
    flat = t.detach().reshape(-1).double()
    return {"shape": list(t.shape), "sum": float(flat.sum()), "abs_sum": float(flat.abs().sum())}


def floats(t):
    return [f32(x) for x in t.reshape(-1).tolist()]


# ---------------------------------------------------------------------------------------------
# Inputs

def prepare(proc, content, image_names, images):
    """The prompt (the chat template's text) and the processor's tensors for it. The template writes
    <bos> and the tokenizer would add another, so the processor is called with add_special_tokens
    False, which is what Gemma3Processor.apply_chat_template(tokenize=True) does (checked)."""
    messages = [{"role": "user", "content": content}]
    prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    kwargs = {"images": [images[n] for n in image_names]} if image_names else {}
    inputs = proc(text=[prompt], return_tensors="pt", add_special_tokens=False, **kwargs)
    it = iter(image_names)
    with_images = [{"role": "user", "content": [dict(c, image=images[next(it)]) if c["type"] == "image" else c
                                                for c in content]}]
    direct = proc.apply_chat_template(with_images, add_generation_prompt=True, tokenize=True, return_dict=True,
                                      return_tensors="pt")
    assert set(direct) == set(inputs) and all(torch.equal(direct[k], inputs[k]) for k in inputs), "template path"
    doubled = proc(text=[prompt], return_tensors="pt", **kwargs)["input_ids"][0, :2].tolist()
    assert doubled == [proc.tokenizer.bos_token_id] * 2, doubled  # a plain call would double <bos>
    return messages, prompt, inputs


def image_groups(ids, token_type_ids, special):
    """[{boi, start, end, eoi}] per image: the soft tokens are ids[start:end]."""
    out = []
    for g in sorted(set(group_ids(token_type_ids)) - {-1}):
        pos = [i for i, x in enumerate(group_ids(token_type_ids)) if x == g]
        start, end = pos[0], pos[-1] + 1
        assert ids[start - 1] == special["<start_of_image>"] and ids[end] == special["<end_of_image>"]
        assert set(ids[start:end]) == {special["<image_soft_token>"]}
        out.append({"boi": start - 1, "start": start, "end": end, "eoi": end})
    return out


# ---------------------------------------------------------------------------------------------
# Choosing the weights

def choose_knobs(model, mapping, prepared, tok):
    """Loads the weights of each KNOB_TRIES entry in turn until greedy decoding is healthy on every
    case (make_qwen_vl_fixtures.healthy: every margin >= 5x the tests' threshold, >= 4 distinct
    tokens); else keeps the try whose worst case decodes longest before a near-tie."""
    tries = []
    for knobs in KNOB_TRIES:
        entries = load_weights(model, mapping, knobs, spec=tensor_spec)
        results = {name: greedy(model, dict(inputs), tok.pad_token_id) for name, _, _, _, inputs in prepared}
        ok = all(healthy(*r) for r in results.values())
        tries.append({"knobs": knobs, "ok": ok, "min_margins": {k: min(r[1]) for k, r in results.items()},
                      "distinct": {k: len(set(r[0])) for k, r in results.items()},
                      "safe_steps": {k: safe_steps(*r) for k, r in results.items()}})
        print(f"knobs {knobs} ok={ok} {tries[-1]['min_margins']} {tries[-1]['distinct']}", flush=True)
        if ok:
            return knobs, entries, tries, results
    best = max(range(len(tries)), key=lambda i: min(tries[i]["safe_steps"].values()))
    knobs = tries[best]["knobs"]
    entries = load_weights(model, mapping, knobs, spec=tensor_spec)
    results = {name: greedy(model, dict(inputs), tok.pad_token_id) for name, _, _, _, inputs in prepared}
    return knobs, entries, tries, results


# ---------------------------------------------------------------------------------------------
# Recording

def forward_capturing(model, **kwargs):
    """One forward pass; returns the logits, the attention mask each decoder layer received, and
    (with pixel_values) the vision tower's last hidden state and the projector's output."""
    got = {"masks": []}

    def keep(key, value):  # a hook's non-None return value would replace the module's output
        got[key] = value.detach().clone()

    hooks = [model.model.vision_tower.register_forward_hook(lambda m, a, o: keep("vision", o.last_hidden_state)),
             model.model.multi_modal_projector.register_forward_hook(lambda m, a, o: keep("projector", o))]
    for layer in model.model.language_model.layers:
        hooks.append(layer.register_forward_pre_hook(
            lambda m, a, kw: got["masks"].append(kw["attention_mask"].detach().clone()), with_kwargs=True))
    try:
        with torch.no_grad():
            got["logits"] = model(**kwargs).logits[0]
    finally:
        for h in hooks:
            h.remove()
    return got


def check_masks(model, masks, token_type_ids):
    """transformers' additive masks (0 = visible) equal MASK_RULE on every layer."""
    text = model.config.text_config
    for layer_type, mask in zip(text.layer_types, masks):
        want = mask_rule(token_type_ids, text.sliding_window, layer_type == "sliding_attention")
        assert np.array_equal(mask[0, 0].numpy() == 0, want), f"{layer_type} mask differs from MASK_RULE"


def check_no_cache(model, inputs, encoded, gen, margins):
    """The greedy tokens and margins of generate (KV cache, sliding-window cache layers) equal those
    of one full forward pass over the prompt and the tokens, without cache."""
    n = inputs["input_ids"].shape[1]
    if encoded is not None and model.config.image_token_id in gen:
        print("  (a greedy token is <image_soft_token>: the uncached check cannot splice the features; skipped)")
        return
    ids = torch.cat([inputs["input_ids"], torch.tensor([gen])], 1)
    tt = torch.cat([inputs["token_type_ids"], torch.zeros(1, len(gen), dtype=torch.long)], 1)
    kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=tt, use_cache=False)
    if encoded is not None:
        kwargs["mm_encoder_outputs"] = {"image": encoded}
    with torch.no_grad():
        logits = model(**kwargs).logits[0, n - 1:n - 1 + len(gen)]
    top = logits.topk(2, dim=-1)
    assert top.indices[:, 0].tolist() == gen, "cached and uncached greedy tokens differ"
    assert np.allclose((top.values[:, 0] - top.values[:, 1]).tolist(), margins, atol=1e-3), "margins differ"


def logits_variants(model, inputs, encoded, rec):
    """Last logits (a) of a purely causal mask: no token_type_ids, so transformers builds plain causal and
    sliding-window masks while the image features are still spliced in; (b) with the embedding scale
    rounded to bfloat16 (sqrt(2560) = 50.596 -> 50.5), as a bf16 checkpoint runs."""
    kwargs = {k: v for k, v in inputs.items() if k not in ("pixel_values", "token_type_ids")}
    if encoded is not None:
        got = forward_capturing(model, **kwargs, mm_encoder_outputs={"image": encoded})
        check_masks(model, got["masks"], [0] * kwargs["input_ids"].shape[1])
        causal = got["logits"][-1]
        rec["last_logits_causal_only"] = floats(causal)
        diff = float((causal - torch.tensor(rec["last_logits"])).abs().max())
        rec["causal_only_max_abs_diff"] = f32(diff)
        assert diff > 0.05, f"the bidirectional image mask barely matters ({diff})"
    emb = model.model.language_model.embed_tokens
    full = emb.embed_scale.clone()
    emb.embed_scale.copy_(full.to(torch.bfloat16).to(torch.float32))
    try:
        extra = {"token_type_ids": inputs["token_type_ids"]}
        if encoded is not None:
            extra["mm_encoder_outputs"] = {"image": encoded}
        rec["last_logits_embed_scale_bf16"] = floats(forward_capturing(model, **kwargs, **extra)["logits"][-1])
    finally:
        emb.embed_scale.copy_(full)


def record_vision(rec, got, inputs):
    pv = inputs["pixel_values"]
    flat = pv.reshape(-1)
    rec["pixel_values"] = dict(summary(pv), first=floats(flat[:16]),
                               sample={"start": 0, "stride": STRIDE, "values": floats(flat[::STRIDE])},
                               per_image=[summary(p) for p in pv])
    vh, proj = got["vision"], got["projector"]
    rec["vision_last_hidden_state"] = dict(summary(vh), per_image=[
        dict(summary(v), row_0_first8=floats(v[0, :8]), row_4095_first8=floats(v[4095, :8])) for v in vh])
    rec["image_features"] = dict(summary(proj), per_image=[
        dict(summary(p), row_0_first8=floats(p[0, :8]), row_255_first8=floats(p[255, :8])) for p in proj],
        image0_row0=floats(proj[0, 0]), image0_row255=floats(proj[0, 255]))


def record_case(model, tok, name, image_names, messages, prompt, inputs, result):
    """What transformers computes for one case."""
    special = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    ids, tt = inputs["input_ids"][0].tolist(), inputs["token_type_ids"][0].tolist()
    got = forward_capturing(model, **inputs)
    check_masks(model, got["masks"], tt)
    gen, margins = result
    rec = {"messages": messages, "prompt": prompt, "expanded_prompt": tok.decode(ids), "question": QUESTIONS[name],
           "images": [n + ".png" for n in image_names], "input_ids": ids, "num_tokens": len(ids),
           "token_type_ids": tt, "mm_token_type_ids": tt, "image_groups": image_groups(ids, tt, special)}
    encoded = None
    if "pixel_values" in inputs:
        record_vision(rec, got, inputs)
        encoded = BaseModelOutputWithPooling(last_hidden_state=got["vision"], pooler_output=got["projector"])
    logits = got["logits"][-1]
    rec["last_logits"] = floats(logits)
    cap = model.config.text_config.final_logit_softcapping
    capped = cap * torch.tanh(logits / cap)  # what Gemma3ForCausalLM would return
    rec["softcap_would_change_by"] = f32(float((capped - logits).abs().max()))
    logits_variants(model, inputs, encoded, rec)
    check_no_cache(model, inputs, encoded, gen, margins)
    rec.update({"greedy_ids": gen, "greedy_margins": [f32(m) for m in margins], "min_greedy_margin": f32(min(margins)),
                "greedy_text": tok.decode(gen)})
    return rec


# ---------------------------------------------------------------------------------------------
# The directory

def write_directory(proc, tok, model, knobs, entries, tries, expected_cases):
    proc.image_processor.save_pretrained(OUT)
    with tempfile.TemporaryDirectory() as tmp:  # processor_config.json (image_seq_length), as the hub has it
        proc.save_pretrained(tmp)
        if os.path.exists(os.path.join(tmp, "processor_config.json")):
            shutil.copy(os.path.join(tmp, "processor_config.json"), OUT)
    with open(os.path.join(OUT, "chat_template.jinja"), "w") as f:
        f.write(TEMPLATE)
    json.dump({"generator": "fnv1a64-splitmix64-int8",
               "formula": "value = float32(offset + scale * (((splitmix64(fnv1a64(name) + i) >> 56) - 128) / 128))",
               "test_vectors": test_vectors(entries[0]["name"]), "knobs": knobs,
               "scale_rule": " ".join(tensor_spec.__doc__.split()), "tries": tries, "tensors": entries},
              open(os.path.join(OUT, "weights.json"), "w"), indent=1)
    emb = model.model.language_model.embed_tokens.embed_scale
    expected = {
        "family": "gemma3", "transformers": transformers.__version__, "torch": torch.__version__,
        "dtype": "float32", "attn_implementation": "eager", "processor_class": type(proc).__name__,
        "image_processor_class": type(proc.image_processor).__name__, "torchvision": None,
        "special_tokens": {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}, "vocab_size": len(tok),
        "add_bos_token": True, "bos_added_by": "chat template (the processor is called with add_special_tokens False)",
        "image_seq_length": proc.image_seq_length, "image_sequence": proc.full_image_sequence.replace(
            "<image_soft_token>" * proc.image_seq_length, "<image_soft_token>*256"),
        "embed_scale": f32(float(emb)), "embed_scale_bf16": f32(float(emb.to(torch.bfloat16))),
        "final_logit_softcapping_applied": False, "mask_rule": MASK_RULE,
        "sliding_window": model.config.text_config.sliding_window, "layer_types": model.config.text_config.layer_types,
        "knobs": knobs, "pixel_values_bin": None, "pixel_sample_stride": STRIDE,
        "greedy_steps": GREEDY, "margin_threshold": MARGIN, "cases": expected_cases,
    }
    json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"))


def check_loadable(prepared, expected_cases, images):
    """The directory loads as the Swift side loads it: tools/materialize_weights.py writes
    model.safetensors (BF16 / F32, hub names) from weights.json into a copy, AutoModelForImageTextToText
    reads it and gives the recorded logits exactly; AutoProcessor gives the recorded ids."""
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor
    cfg = AutoConfig.from_pretrained(OUT)
    proc = AutoProcessor.from_pretrained(OUT)
    assert cfg.model_type == "gemma3" and type(proc).__name__ == "Gemma3Processor"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(TOOLS, "materialize_weights.py"), OUT, tmp], check=True)
        model = AutoModelForImageTextToText.from_pretrained(tmp, attn_implementation="eager", dtype=torch.float32)
        model.eval()
        assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr(), "tied lm_head"
        for name, names, _, prompt, inputs in prepared:
            again = proc(text=[prompt], images=[images[n] for n in names] or None, return_tensors="pt",
                         add_special_tokens=False)
            assert again["input_ids"][0].tolist() == expected_cases[name]["input_ids"], f"AutoProcessor {name}"
            if name in ("a", "c"):
                with torch.no_grad():
                    logits = model(**inputs).logits[0, -1]
                assert floats(logits) == expected_cases[name]["last_logits"], f"reload {name}"
    print("reload: materialize_weights.py + from_pretrained give the recorded logits")


def main():
    t0 = time.time()
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tok = make_tokenizer(OUT)
    model, proc = build(tok)
    images = make_media(OUT)
    prepared = [(name, names, *prepare(proc, content, names, images)) for name, content, names in cases()]
    with tempfile.TemporaryDirectory() as tmp:
        mapping = {hub_name(k): v for k, v in saved_names(model, tmp).items()}
        for f in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(tmp, f), os.path.join(OUT, f))
    knobs, entries, tries, results = choose_knobs(model, mapping, prepared, tok)
    expected_cases = {}
    for name, names, messages, prompt, inputs in prepared:
        expected_cases[name] = record_case(model, tok, name, names, messages, prompt, inputs, results[name])
        print(f"  {name}: recorded ({time.time() - t0:.0f}s)", flush=True)
    write_directory(proc, tok, model, knobs, entries, tries, expected_cases)
    del model
    check_loadable(prepared, expected_cases, images)
    size = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print(f"gemma3: {size / 1024:.0f} KB in {time.time() - t0:.0f}s; knobs {knobs}")
    for k, r in expected_cases.items():
        print(f"  {k}: tokens={r['num_tokens']} min margin={r['min_greedy_margin']:.4f} "
              f"causal-only diff={r.get('causal_only_max_abs_diff')} greedy={r['greedy_text']!r}")


if __name__ == "__main__":
    sys.exit(main())

"""What tools/make_tiny_gemma3_pair.py, make_tiny_qwen25vl_pair.py and make_tiny_qwen3vl_pair.py share: the llama.cpp
build's paths (tools/build_llama_cpp.sh writes paths.env), the three conversions of a tiny
Hugging Face directory into a GGUF pair through make_gguf_pairs.py's child mode (its logged
work-arounds), and the transformers side: prompt encoding, last-position logits, float32
rounding for expected.json, the knob search over uniform random weights and the greedy run it
scores (with its check against an uncached forward pass).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

TOOLS = Path(__file__).resolve().parent
SEED = 0
GREEDY = 8
MARGIN = 2e-3  # the Swift tests' near-tie threshold (tools/make_qwen_vl_fixtures.py MARGIN)
HOME = Path(os.environ.get("VLM_LLAMA_CPP_HOME", Path.home() / ".cache/vlm/llama.cpp"))


def f32(x):
    return float(str(np.float32(x)))  # shortest text that reads back as the same float32


def messages_for(image, question):
    return [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]


def encode(proc, image, question):
    return proc.apply_chat_template(messages_for(image, question), add_generation_prompt=True, tokenize=True,
                                    return_dict=True, return_tensors="pt")


def last_logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits[0, -1]


def set_weights(model, knobs, spec):
    """Every parameter redrawn uniformly from torch.Generator(SEED): offset + scale * U(-1, 1),
    (offset, scale) = spec(name, shape, knobs)."""
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied lm_head is not listed (remove_duplicate)
            offset, scale = spec(name, tuple(p.shape), knobs)
            u = torch.rand(p.shape, generator=g, dtype=torch.float64) * 2.0 - 1.0
            p.copy_((offset + scale * u).to(torch.float32))


def greedy(model, inputs, pad_id):
    """GREEDY greedy tokens and each step's top-2 logit margin."""
    with torch.no_grad():
        res = model.generate(**inputs, max_new_tokens=GREEDY, min_new_tokens=GREEDY, do_sample=False,
                             eos_token_id=None, pad_token_id=pad_id, output_scores=True,
                             return_dict_in_generate=True)
    margins = [float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in res.scores]
    return res.sequences[0, inputs["input_ids"].shape[1]:].tolist(), margins


def check_no_cache(model, inputs, gen, margins):
    """generate's greedy tokens and margins (KV cache; Qwen's rope_deltas) equal one full forward pass
    without cache (Qwen's positions then come from get_rope_index over prompt + generated tokens)."""
    n = inputs["input_ids"].shape[1]
    extra = torch.tensor([gen])
    kw = dict(inputs)
    kw["input_ids"] = torch.cat([inputs["input_ids"], extra], 1)
    kw["attention_mask"] = torch.ones_like(kw["input_ids"])
    for k in ("token_type_ids", "mm_token_type_ids"):
        if k in inputs:
            kw[k] = torch.cat([inputs[k], torch.zeros_like(extra)], 1)
    with torch.no_grad():
        logits = model(**kw, use_cache=False).logits[0, n - 1:n - 1 + len(gen)]
    top = logits.topk(2, dim=-1)
    assert top.indices[:, 0].tolist() == gen, "cached and uncached greedy tokens differ"
    assert np.allclose((top.values[:, 0] - top.values[:, 1]).tolist(), margins, atol=1e-4), "margins differ"


def choose_knobs(model, inputs, blank_inputs, knob_tries, spec, pad_id, log):
    """The first knobs whose greedy run is healthy (margins >= 5 MARGIN, >= 4 distinct tokens, the image
    moving the last logits by > 0.05), else the best try; the model is left with those weights."""
    tries = []
    for knobs in knob_tries:
        set_weights(model, knobs, spec)
        gen, margins = greedy(model, inputs, pad_id)
        image_effect = float((last_logits(model, inputs) - last_logits(model, blank_inputs)).abs().max())
        ok = min(margins) >= 5 * MARGIN and len(set(gen)) >= 4 and image_effect > 0.05
        tries.append({"knobs": knobs, "ok": ok, "min_margin": min(margins), "distinct": len(set(gen)),
                      "image_effect": image_effect, "gen": gen})
        log(f"knobs {knobs}: ok={ok} min margin {min(margins):.4f}, {len(set(gen))} distinct, "
            f"image changes last logits by {image_effect:.3f}, greedy {gen}")
        if ok:
            return knobs, tries
    def score(t):
        return (t["distinct"] >= 4, t["image_effect"] > 0.05, t["min_margin"])
    best = max(tries, key=score)
    log(f"no try is healthy; keeping {best['knobs']}")
    set_weights(model, best["knobs"], spec)
    return best["knobs"], tries


def llama_paths():
    env = HOME / "paths.env"
    if not env.is_file():
        raise SystemExit(f"{env} missing: run tools/build_llama_cpp.sh first")
    return dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)


def convert(paths, hf_dir, gguf_out, log_dir, log):
    """convert_hf_to_gguf.py through make_gguf_pairs.py's child mode (its logged work-arounds)."""
    gguf_out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LLAMA_CPP_SRC=paths["LLAMA_CPP_SRC"])
    patches = {}
    for out_name, extra in (("model-f32.gguf", ["--outtype", "f32"]),
                            ("mmproj-f32.gguf", ["--mmproj", "--outtype", "f32"]),
                            ("mmproj-f16.gguf", ["--mmproj", "--outtype", "f16"])):
        out = gguf_out / out_name
        if out.exists():
            out.unlink()
        cmd = [sys.executable, str(TOOLS / "make_gguf_pairs.py"), "--_convert", "--", str(hf_dir), *extra,
               "--outfile", str(out)]
        log("$ " + " ".join(cmd))
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        logfile = log_dir / f"convert-{out_name[:-5]}.log"
        logfile.write_text("$ " + " ".join(cmd) + "\n" + p.stdout + f"\n[exit {p.returncode}]\n")
        if p.returncode != 0 or not out.is_file():
            print(p.stdout[-4000:])
            raise SystemExit(f"conversion to {out} failed (log {logfile})")
        patches[out_name] = [l.split("PATCH ", 1)[1] for l in p.stdout.splitlines() if "[make_gguf_pairs] PATCH" in l]
        for pt in patches[out_name]:
            log(f"  PATCH {pt}")
        log(f"  -> {out} ({out.stat().st_size} bytes)")
    return patches


def run_cli(paths, tok, expected, log_dir, gguf_dir, image, question, extra_args, log):
    """llama-mtmd-cli on the f32 pair (greedy, 2 threads), its output logged to log_dir/cli.txt and
    compared with transformers' greedy text; None when llama-mtmd-cli is not built."""
    cli = paths.get("LLAMA_MTMD_CLI")
    if not cli or not os.access(cli, os.X_OK):
        found = sorted(HOME.glob("build*/bin/llama-mtmd-cli"))
        cli = str(found[0]) if found else None
    if not cli:
        log("llama-mtmd-cli not built: skipped")
        return None
    cmd = [cli, "-m", str(gguf_dir / "model-f32.gguf"), "--mmproj", str(gguf_dir / "mmproj-f32.gguf"),
           "--image", str(image), "-p", question, "-n", str(GREEDY), "--temp", "0", "-t", "2", *extra_args]
    log("$ " + " ".join(f"'{c}'" if " " in c else c for c in cmd))
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=600)
    so, se = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    (log_dir / "cli.txt").write_text("$ " + " ".join(cmd) + f"\n[exit {p.returncode}, {time.time() - t0:.1f} s]\n"
                                     + "----- stdout -----\n" + so + "\n----- stderr -----\n" + se)
    want = tok.decode(expected["greedy_ids"])
    got = so.strip("\n")
    log(f"llama-mtmd-cli exit {p.returncode}; stdout {got!r}")
    log(f"transformers greedy text {want!r}")
    match = got.strip() == want.strip()
    log(f"texts {'MATCH' if match else 'DIFFER'} (log {log_dir / 'cli.txt'})")
    return {"rc": p.returncode, "stdout": got, "transformers_text": want, "match": match}


def qwen_spec(name, shape, knobs):
    """(offset, scale) of one parameter of a tiny Qwen-VL: value = offset + scale * U(-1, 1).
    qwen_vl_weights.tensor_spec's rule without its power-of-two / BF16 rounding: norm weights
    1 + U * norm, biases U * bias, the token embedding (= the tied lm_head) U * embed, Qwen3-VL's
    position table U * pos_embed, matrices and the Conv3d U * sqrt(3 / fan_in) * 2**linear, the
    text q_proj / k_proj times 2**qk_proj more."""
    if len(shape) == 1:
        if name.endswith(".weight"):  # RMSNorm / LayerNorm weights (text, q/k norms, vision, mergers)
            return 1.0, knobs["norm"]
        return 0.0, knobs["bias"]
    if "embed_tokens" in name:
        return 0.0, knobs["embed"]
    if "pos_embed" in name:
        return 0.0, knobs["pos_embed"]
    fan_in = int(np.prod(shape[1:]))
    extra = knobs["qk_proj"] if name.endswith(("q_proj.weight", "k_proj.weight")) else 0
    return 0.0, float(np.sqrt(3.0 / fan_in)) * 2.0 ** (knobs["linear"] + extra)


def qwen_rope_positions(model, inputs):
    """The 3-row M-RoPE position ids and rope_deltas of transformers' get_rope_index."""
    pos, deltas = model.model.get_rope_index(inputs["input_ids"], mm_token_type_ids=inputs["mm_token_type_ids"],
                                             attention_mask=inputs["attention_mask"],
                                             image_grid_thw=inputs["image_grid_thw"])
    return pos[:, 0].tolist(), int(deltas.reshape(-1)[0])

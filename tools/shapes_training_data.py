"""The default model's training data: ShapesBench shards, their cached DINOv2 features, and
packed rows (one image per row with its questions) for tools/train_default_vlm.py.

A row is the image's shared visual prefix followed by several question/answer segments:

    <|im_start|>user <81 visual tokens>\n | Q1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|> | Q2 ... | ...

Each segment attends to the prefix and to itself only (a block-diagonal mask over the causal
one) and its position ids restart right after the prefix, so every segment sees exactly the
prompt `vlm ask` builds for that one question, while the prefix is computed once for all of
them. Loss weights are per answer (a task weight spread over the answer's tokens), so a long
caption does not outweigh a one-word colour.

Token dropout drops labels with the tokens: a row may keep only a random subset of its visual
tokens (as a reducer would); an object none of whose patches survives takes the questions that
name it with it, and counts and captions go whenever any object is lost, so no answer is ever
about something the row cannot see.
"""
import collections, json, math, os, random, subprocess, sys
import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDE = 126
PATCH = 14
GRID = SIDE // PATCH
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
IMAGE_TOKEN = "<jupyter_output>"
# With the patch extras: per patch, after DINOv2's 384 features, the mean of its normalized
# pixels (3) and its centre (x, y in [-1, 1]); config.json's "vision_feature_extras":
# ["patch_mean_colour", "patch_position"] makes vlm compute the same.
FEATURES = 384
EXTRA_DIMS = 5
# Other phrasings of the generator's questions, so that the model answers what a user types
# (`vlm describe` asks "Describe this image.") and not only the generator's exact words.
PARAPHRASES = {
    "Describe the image.": ["Describe this image.", "What is in the image?", "Describe the picture.",
                            "What do you see?", "Caption this image."],
    "How many shapes are there?": ["How many objects are in the image?", "Count the shapes.",
                                   "How many shapes are in this picture?"],
}
TASK_WEIGHTS = {"caption": 3, "count": 2, "colour": 1, "shape": 1, "position": 2, "relation": 1}

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

class Shard:
    """One generated slice of a ShapesBench split: scenes, questions, and per image the DINOv2
    tokens (post-layernorm, class token dropped) with the patch extras, cached as float16."""

    def __init__(self, split, first, count, scratch, dino_dir, device="cpu", log=print):
        self.dir = os.path.join(scratch, f"{split}-{first}-{count}")
        if not os.path.exists(os.path.join(self.dir, "questions.jsonl")):
            subprocess.run([sys.executable, os.path.join(ROOT, "tools", "shapesbench.py"), "--split", split,
                            "--first", str(first), "--images", str(count), "--out", self.dir], check=True)
        self.scenes = {s["file"]: s for s in map(json.loads, open(os.path.join(self.dir, "scenes.jsonl")))}
        self.questions = {}
        for q in map(json.loads, open(os.path.join(self.dir, "questions.jsonl"))):
            self.questions.setdefault(q["file"], []).append(q)
        self.files = sorted(self.questions)
        cache = os.path.join(self.dir, f"features{SIDE}.pt")
        if os.path.exists(cache):
            self.features = torch.load(cache)
        else:
            self.features = self._encode(dino_dir, device, log)
            torch.save(self.features, cache)

    def _encode(self, dino_dir, device, log):
        from transformers import Dinov2Model
        dino = Dinov2Model.from_pretrained(dino_dir).eval().to(device)
        out = {}
        with torch.no_grad():
            for i in range(0, len(self.files), 32):
                names = self.files[i:i + 32]
                x = torch.stack([pixels(os.path.join(self.dir, f)) for f in names])
                tokens = dino(x.to(device)).last_hidden_state[:, 1:].cpu()
                for f, xi, t in zip(names, x, tokens):
                    out[f] = torch.cat([t, patch_extras(xi)], 1).half()
                if i % 640 == 0:
                    log(f"  DINOv2: {i + len(names)}/{len(self.files)} images of {self.dir}")
        return out

def patches_over(obj, scene):
    """The patch indices (raster order on the GRID x GRID squashed image) whose box overlaps the object."""
    sx, sy = GRID / scene["width"], GRID / scene["height"]
    out = []
    for r in range(GRID):
        for c in range(GRID):
            # Nearest point of the patch box to the centre, in image pixels.
            nx = min(max(obj["px"], c / sx), (c + 1) / sx)
            ny = min(max(obj["py"], r / sy), (r + 1) / sy)
            if math.hypot(nx - obj["px"], ny - obj["py"]) < obj["radius"] * 0.8:
                out.append(r * GRID + c)
    return out

def objects_named(q, objects):
    """The scene objects a question or its answer is about (all of them for captions and counts)."""
    if q["task"] in ("caption", "count"):
        return list(range(len(objects)))
    text = q["question"] + " " + q["answer"]
    hits = []
    for i, o in enumerate(objects):
        if (f"{o['colour']} {o['shape']}" in text or (q["task"] == "colour" and f"the {o['shape']}?" in text)
                or (q["task"] == "shape" and f"the {o['colour']} object" in text)):
            hits.append(i)
    return hits

# One packed row. loss_w[t] weighs the prediction made at position t of token t+1; spans lists
# each answer as (task, first prediction position, number of predictions).
Row = collections.namedtuple("Row", "ids positions segments loss_w features spans")

class RowBuilder:
    def __init__(self, tok, max_questions):
        self.tok = tok
        self.max_questions = max_questions
        self.image_id = tok.convert_tokens_to_ids(IMAGE_TOKEN)
        self.prefix = tok.encode("<|im_start|>user " + IMAGE_TOKEN + "\n", add_special_tokens=False)
        assert self.prefix.count(self.image_id) == 1 and self.prefix[-2] == self.image_id, self.prefix
        self.end = tok.encode("<|im_end|>", add_special_tokens=False)
        # The split into prefix and segments must tokenize as the whole prompt does.
        q, a = "Where is the red circle?", "top left"
        whole = tok.encode("<|im_start|>user " + IMAGE_TOKEN + "\n" + q + "<|im_end|>\n<|im_start|>assistant\n" + a + "<|im_end|>",
                           add_special_tokens=False)
        assert whole == self.prefix + self._question(q) + self._answer(a), "prefix/segment tokenization differs"

    def _question(self, text):
        return self.tok.encode(text + "<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)

    def _answer(self, text):
        return self.tok.encode(text, add_special_tokens=False) + self.end

    def build(self, shard, file, keep_fraction=None, paraphrase=True):
        """A packed Row of `file` and some of its questions. keep_fraction: token dropout with
        its labels dropped."""
        feats = shard.features[file].float()
        scene = shard.scenes[file]
        questions = shard.questions[file]
        if keep_fraction is not None:
            keep = sorted(random.sample(range(feats.shape[0]), max(1, round(feats.shape[0] * keep_fraction))))
            kept = set(keep)
            lost = {i for i, o in enumerate(scene["objects"]) if not kept.intersection(patches_over(o, scene))}
            questions = [q for q in questions if not lost.intersection(objects_named(q, scene["objects"]))]
            feats = feats[keep]
        weights = [TASK_WEIGHTS.get(q["task"], 1) for q in questions]
        order = sorted(range(len(questions)), key=lambda i: random.random() ** (1.0 / weights[i]), reverse=True)
        chosen = [questions[i] for i in order[:self.max_questions]]
        n = feats.shape[0]
        pos_img = self.prefix.index(self.image_id)
        ids = self.prefix[:pos_img] + [self.image_id] * n + self.prefix[pos_img + 1:]
        prefix_len = len(ids)
        positions = list(range(prefix_len))
        segments = [0] * prefix_len
        loss_w = [0.0] * prefix_len
        spans = []
        for k, q in enumerate(chosen, start=1):
            text = q["question"]
            if paraphrase and text in PARAPHRASES and random.random() < 0.5:
                text = random.choice(PARAPHRASES[text])
            qi, ai = self._question(text), self._answer(q["answer"])
            w = TASK_WEIGHTS.get(q["task"], 1) / len(ai)
            spans.append((q["task"], len(ids) + len(qi) - 1, len(ai)))
            loss_w += [0.0] * (len(qi) - 1) + [w] * len(ai) + [0.0]
            ids += qi + ai
            positions += list(range(prefix_len, prefix_len + len(qi) + len(ai)))
            segments += [k] * (len(qi) + len(ai))
        return Row(ids, positions, segments, loss_w, feats, spans)

def collate(rows, multiple=32):
    """Pads rows to one length (a multiple of 32: a handful of shapes, so oneDNN's kernels are
    not rebuilt for every length) and builds the boolean attention mask [B, 1, L, L]."""
    length = (max(len(r[0]) for r in rows) + multiple - 1) // multiple * multiple
    b = len(rows)
    ids = torch.zeros(b, length, dtype=torch.long)
    pos = torch.zeros(b, length, dtype=torch.long)
    seg = torch.full((b, length), -1, dtype=torch.long)
    w = torch.zeros(b, length)
    for i, (x, p, s, lw, _, _) in enumerate(rows):
        n = len(x)
        ids[i, :n] = torch.tensor(x); pos[i, :n] = torch.tensor(p); seg[i, :n] = torch.tensor(s); w[i, :n] = torch.tensor(lw)
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    same = (seg[:, None, :] == 0) | (seg[:, None, :] == seg[:, :, None])
    mask = causal & same & (seg[:, :, None] >= 0) & (seg[:, None, :] >= 0)
    mask |= torch.eye(length, dtype=torch.bool)   # padding attends to itself (no empty softmax rows)
    return ids, pos, mask[:, None], w

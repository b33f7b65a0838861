"""How well can the frozen LLM answer ShapesBench's questions when it is handed the scene
itself, as text? A reference point for the default model (issue 7, check 1): what
SmolLM2-135M-Instruct makes of a perfect, plain-text account of the scene. It is not a strict
ceiling for a trained projector, whose visual tokens are soft prompts tuned on the answers
and can steer the LLM in ways plain text does not (the committed projector beats the text on
counting), but it shows how much of the task the frozen 135M reader manages by itself.

For each held-out scene the ground truth (scenes.jsonl) is written out as text ("There are 2
shapes: a large green square at the centre, a small orange cross at the top right."), put
where the image would go (ChatML, text first, then the question, as vlm renders a media
prompt), and the question answered greedily (at most 32 tokens) by SmolLM2-135M-Instruct
dequantized from the Q4_1 GGUF that vlm runs. Replies are scored by the rules of
Sources/Vision/Evaluation/ShapesBench.swift (re-implemented below for the image tasks).

Run:  OMP_NUM_THREADS=2 .venv-ref/bin/python tools/text_scene_reference.py --scenes 24   (about 5 minutes)
"""
import argparse, collections, json, os, random
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("VLM_MODELS") or os.path.expanduser("~/.cache/vlm/models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "black"]
SHAPES = ["circle", "square", "triangle", "star", "cross"]
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
FOLD = {"center": "centre", "middle": "centre", "central": "centre", "color": "colour", "upper": "top",
        "lower": "bottom", "crosses": "cross", "violet": "purple"}


def words(s):
    out = []
    for w in "".join(c if c.isalnum() else " " for c in s.lower()).split():
        w = FOLD.get(w, w)
        if len(w) > 3 and w.endswith("s") and w[:-1] in SHAPES:
            w = w[:-1]
        out.append(w)
    return out


def number(ws):
    for w in ws:
        if w.isdigit():
            return int(w)
        if w in NUMBERS:
            return NUMBERS.index(w)
    return None


def region(ws):
    v = next((w for w in ws if w in ("top", "bottom")), None)
    h = next((w for w in ws if w in ("left", "right")), None)
    return v, h, "centre" in ws


def correct(q, reply):
    got, want = words(reply), words(q["answer"])

    def names(vocab):
        expected = [w for w in want if w in vocab]
        return bool(expected) and {w for w in got if w in vocab} == set(expected)

    t = q["task"]
    if t == "count":
        return number(got) == number(want)
    if t == "colour":
        return names(COLOURS)
    if t == "shape":
        return names(SHAPES)
    if t == "position":
        a, b = region(got), region(want)
        return a[0] == b[0] and a[1] == b[1] and (a[0] is not None or a[1] is not None or a[2])
    if t == "caption" and q.get("objects", 1) > 1:
        pairs = lambda ws: {f"{x} {y}" for x, y in zip(ws, ws[1:]) if x in COLOURS and y in SHAPES}
        return pairs(want) == pairs(got)
    return names(COLOURS) and names(SHAPES)


def metric(q):
    t, n = q["task"], q.get("objects", 1)
    if t == "caption":
        return "caption (1 object)" if n == 1 else "caption (2-6 objects)"
    if t == "count":
        return "count (1-4)" if n <= 4 else "count (5-6)"
    return t


def describe(scene):
    objs = scene["objects"]
    parts = [f"a {o['size']} {o['colour']} {o['shape']} at the {o['region']}" for o in objs]
    head = "There is 1 shape: " if len(objs) == 1 else f"There are {len(objs)} shapes: "
    return head + ", ".join(parts) + "."


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenes", type=int, default=24, help="held-out image scenes, a seeded sample of the split")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    bench = os.path.join(ROOT, "Samples/shapesbench")
    scenes = {s["file"]: s for s in map(json.loads, open(os.path.join(bench, "scenes.jsonl")))}
    qs = [q for q in map(json.loads, open(os.path.join(bench, "questions.jsonl"))) if q["file"].startswith("images/")]
    files = list(dict.fromkeys(q["file"] for q in qs))
    # A seeded sample: every sixth scene has the same object count, so an even stride would not do.
    keep = set(random.Random(0).sample(files, min(a.scenes, len(files))))
    qs = [q for q in qs if q["file"] in keep]

    model = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    table = collections.OrderedDict()
    for i, q in enumerate(qs):
        messages = [{"role": "user", "content": describe(scenes[q["file"]]) + "\n" + q["question"]}]
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        if not torch.is_tensor(ids):
            ids = ids["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=32, do_sample=False)
        reply = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        c, n = table.get(metric(q), (0, 0))
        table[metric(q)] = (c + int(correct(q, reply)), n + 1)
        if i < 8 or (q["task"] == "count" and not correct(q, reply)):
            print(f"{q['question']!r} -> {reply!r} (answer {q['answer']!r})", flush=True)
    print(f"\n{len(qs)} questions on {len(keep)} scenes, the scene given as text")
    print("| task | accuracy |\n|---|---:|")
    for m, (c, n) in table.items():
        print(f"| {m} | {100 * c / n:.1f}% ({c}/{n}) |")


if __name__ == "__main__":
    main()

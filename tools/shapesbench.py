"""ShapesBench: a deterministic generator of synthetic scenes with ground truth, for training
the default model's projector and for `vlm eval --bench shapes`.

Every scene is a pure function of (split seed, index), so the held-out split is fixed and
training never sees it: the train split draws from seed 1, the test split from seed 2 (and
the test scenes are also checked to differ from every training scene's layout key).

Images: 1 to 6 objects (circle, square, triangle, star, cross), 8 named colours with jitter,
3 sizes, positions on a 3x3 grid of regions, plain near-white or textured backgrounds,
filled or outlined, anti-aliased (4x supersampled) or aliased edges, many sizes and aspect
ratios, saved as PNG or JPEG. Two renderers: PIL's polygon rasteriser and a NumPy
signed-distance renderer (soft edges); the test split also holds a `foreign` style (NumPy,
gradient fills and drop shadows) that training never draws, to check that the model learned
shapes and colours rather than one renderer's pixels.

Videos (written through FFmpeg): objects that move, appear, disappear or change colour, with
questions on direction of motion, order of appearance and counts over time.

Output layout (DIR/):
  images/NNNNN.png|jpg      the scenes
  videos/NNNNN.mp4          the video scenes (when --videos > 0)
  scenes.jsonl              one line per scene: objects, style, file
  questions.jsonl           one line per question: file, task, question, answer

Run:  python tools/shapesbench.py --split test --images 400 --videos 24 --out Samples/shapesbench
      python tools/shapesbench.py --split train --images 6000 --first 12000 --out scratch/shard-2
"""
import argparse, io, json, math, os, subprocess, sys
import numpy as np
from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle", "star", "cross"]
COLOURS = {
    "red": (220, 30, 30), "orange": (245, 140, 20), "yellow": (240, 210, 20), "green": (30, 160, 50),
    "blue": (30, 70, 220), "purple": (130, 40, 170), "pink": (245, 120, 190), "black": (20, 20, 20),
}
COLOUR_NAMES = list(COLOURS)
SIZES = {"small": 0.16, "medium": 0.24, "large": 0.34}   # diameter as a fraction of min(w, h)
SIZE_NAMES = list(SIZES)
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight"]
SPLIT_SEEDS = {"train": 1, "test": 2, "val": 3}   # val: the training recipe's own validation scenes, apart from the held-out test split

# --- regions -------------------------------------------------------------------------------

def region_name(cx, cy):
    """Centre (fractions of width/height) -> one of 9 region names on a 3x3 grid."""
    col = 0 if cx < 1 / 3 else (2 if cx > 2 / 3 else 1)
    row = 0 if cy < 1 / 3 else (2 if cy > 2 / 3 else 1)
    vertical = ["top", "", "bottom"][row]
    horizontal = ["left", "", "right"][col]
    if not vertical and not horizontal:
        return "centre"
    return (vertical + " " + horizontal).strip()

# --- shape geometry (unit shapes centred at 0, radius 1) ----------------------------------------

def shape_polygon(shape, rotation=0.0):
    if shape == "square":
        pts = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        pts = [(x * 0.82, y * 0.82) for x, y in pts]
    elif shape == "triangle":
        pts = [(math.cos(a), math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        pts = [(x, y + 0.18) for x, y in pts]
    elif shape == "star":
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            r = 1.0 if k % 2 == 0 else 0.42
            pts.append((r * math.cos(a), r * math.sin(a) + 0.08))
    elif shape == "cross":
        t = 0.32
        pts = [(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t), (-1, t), (-1, -t), (-t, -t)]
        pts = [(x * 0.9, y * 0.9) for x, y in pts]
    else:
        raise ValueError(shape)
    if rotation:
        c, s = math.cos(rotation), math.sin(rotation)
        pts = [(x * c - y * s, x * s + y * c) for x, y in pts]
    return pts

# --- backgrounds -------------------------------------------------------------------------------

def background(rng, h, w):
    kind = rng.choice(["plain", "plain", "noise", "stripes", "gradient", "checker"])
    base = rng.integers(228, 256, 3).astype(np.float32)
    img = np.broadcast_to(base, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "noise":
        img += rng.normal(0, rng.uniform(3, 9), (h, w, 1))
    elif kind == "stripes":
        period = rng.uniform(6, 24)
        ang = rng.uniform(0, math.pi)
        img -= (np.sin((xx * math.cos(ang) + yy * math.sin(ang)) * 2 * math.pi / period) > 0)[..., None] * rng.uniform(8, 22)
    elif kind == "gradient":
        tint = rng.uniform(-25, 0, 3).astype(np.float32)
        img += (xx / max(w - 1, 1))[..., None] * tint
    elif kind == "checker":
        cell = int(rng.integers(8, 28))
        img -= (((xx // cell) + (yy // cell)) % 2)[..., None] * rng.uniform(6, 16)
    return np.clip(img, 0, 255), str(kind)

# --- scene sampling -----------------------------------------------------------------------------

def jitter_colour(rng, name):
    c = np.array(COLOURS[name], np.float32) + rng.integers(-18, 19, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))

def sample_scene(rng, n_objects=None, foreign=False):
    """Objects with shape, colour, size, centre (fractions) and region; non-overlapping."""
    n = int(n_objects or rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6]))
    aspect = float(np.exp(rng.uniform(math.log(0.6), math.log(1.7))))
    short = int(rng.integers(160, 330))
    w, h = (int(short * aspect), short) if aspect >= 1 else (short, int(short / aspect))
    objects = []
    used_pairs = set()
    for _ in range(400):
        if len(objects) == n:
            break
        shape = str(rng.choice(SHAPES)); colour = str(rng.choice(COLOUR_NAMES))
        # Small crowds get distinct (colour, shape) pairs so that every object can be named.
        if (colour, shape) in used_pairs:
            continue
        size = str(rng.choice(SIZE_NAMES) if n <= 3 else rng.choice(["small", "medium"]))
        radius = SIZES[size] * min(w, h) / 2 * rng.uniform(0.9, 1.1)
        if n == 1:
            # A single object sits well inside one region so that its position has one name.
            col, row = rng.integers(0, 3, 2)
            cx = (col + 0.5 + rng.uniform(-0.18, 0.18)) / 3
            cy = (row + 0.5 + rng.uniform(-0.18, 0.18)) / 3
        else:
            cx, cy = rng.uniform(0.1, 0.9, 2)
        px, py = cx * w, cy * h
        if px - radius < 2 or py - radius < 2 or px + radius > w - 2 or py + radius > h - 2:
            continue
        if any(math.hypot(px - o["px"], py - o["py"]) < radius + o["radius"] + 6 for o in objects):
            continue
        objects.append({"shape": shape, "colour": colour, "size": size, "radius": float(radius),
                        "px": float(px), "py": float(py), "cx": float(cx), "cy": float(cy),
                        "region": region_name(cx, cy), "rgb": jitter_colour(rng, colour),
                        "rotation": float(rng.uniform(-0.25, 0.25)) if shape != "circle" else 0.0})
        used_pairs.add((colour, shape))
    style = {
        "renderer": "foreign" if foreign else str(rng.choice(["pil", "pil", "sdf"])),
        "antialias": bool(rng.random() < 0.7),
        "outline": bool(rng.random() < 0.2),
        "format": str(rng.choice(["png", "jpg"])),
        "jpeg_quality": int(rng.integers(70, 96)),
    }
    return {"width": w, "height": h, "objects": objects, "style": style}

# --- renderers -------------------------------------------------------------------------------------

def render_pil(scene, bg, rng):
    s = 4 if scene["style"]["antialias"] else 1
    w, h = scene["width"], scene["height"]
    img = Image.fromarray(bg.astype(np.uint8)).resize((w * s, h * s), Image.NEAREST)
    d = ImageDraw.Draw(img)
    lw = max(2, int(min(w, h) * 0.02)) * s
    for o in scene["objects"]:
        r = o["radius"] * s; x = o["px"] * s; y = o["py"] * s
        outline = scene["style"]["outline"]
        if o["shape"] == "circle":
            box = [x - r, y - r, x + r, y + r]
            d.ellipse(box, fill=None if outline else o["rgb"], outline=o["rgb"], width=lw if outline else 1)
        else:
            pts = [(x + px * r, y + py * r) for px, py in shape_polygon(o["shape"], o["rotation"])]
            if outline:
                d.line(pts + [pts[0]], fill=o["rgb"], width=lw, joint="curve")
            else:
                d.polygon(pts, fill=o["rgb"])
    if s > 1:
        img = img.resize((w, h), Image.LANCZOS)
    return np.asarray(img)

def polygon_sdf(px, py, pts):
    """Signed distance (negative inside) from pixel centres to a polygon."""
    n = len(pts)
    d = np.full(px.shape, np.inf, np.float32)
    inside = np.zeros(px.shape, bool)
    for i in range(n):
        ax, ay = pts[i]; bx, by = pts[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        wx, wy = px - ax, py - ay
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0, 1)
        dx, dy = wx - ex * t, wy - ey * t
        d = np.minimum(d, dx * dx + dy * dy)
        cond = ((ay <= py) & (py < by)) | ((by <= py) & (py < ay))
        xint = ax + (py - ay) * ex / (ey if ey != 0 else 1e-9)
        inside ^= cond & (px < xint)
    return np.where(inside, -1, 1) * np.sqrt(d)

def render_sdf(scene, bg, rng, foreign=False):
    w, h = scene["width"], scene["height"]
    img = bg.copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    soft = 0.7 if scene["style"]["antialias"] else 0.05
    lw = max(2.0, min(w, h) * 0.02)
    for o in scene["objects"]:
        r = o["radius"]
        x0, x1 = int(max(0, o["px"] - r - 8)), int(min(w, o["px"] + r + 8))
        y0, y1 = int(max(0, o["py"] - r - 8)), int(min(h, o["py"] + r + 8))
        sx, sy = xx[y0:y1, x0:x1], yy[y0:y1, x0:x1]
        if o["shape"] == "circle":
            sd = np.hypot(sx - o["px"], sy - o["py"]) - r
        else:
            pts = [(o["px"] + px * r, o["py"] + py * r) for px, py in shape_polygon(o["shape"], o["rotation"])]
            sd = polygon_sdf(sx, sy, pts)
        if scene["style"]["outline"]:
            sd = np.abs(sd + lw / 2) - lw / 2
        cov = np.clip(0.5 - sd / (2 * soft), 0, 1)[..., None]
        rgb = np.array(o["rgb"], np.float32)
        if foreign:
            # Drop shadow and a vertical gradient fill: a look no training scene has.
            shadow = np.clip(0.5 - (np.roll(np.roll(sd, 3, 0), 3, 1)) / 2, 0, 1)[..., None] * 0.35
            img[y0:y1, x0:x1] *= 1 - shadow
            grad = ((sy - (o["py"] - r)) / (2 * r))[..., None]
            rgb = np.clip(rgb * (1.15 - 0.3 * grad) , 0, 255)
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - cov) + rgb * cov
    return np.clip(img, 0, 255).astype(np.uint8)

def render(scene, rng):
    bg, kind = background(rng, scene["height"], scene["width"])
    scene["style"]["background"] = kind
    r = scene["style"]["renderer"]
    if r == "pil":
        return render_pil(scene, bg, rng)
    return render_sdf(scene, bg, rng, foreign=(r == "foreign"))

def encode(pixels, style):
    buf = io.BytesIO()
    im = Image.fromarray(pixels)
    if style["format"] == "jpg":
        im.save(buf, "JPEG", quality=style["jpeg_quality"])
    else:
        im.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()

# --- questions ---------------------------------------------------------------------------------------

def article(o, with_size=False):
    words = ([o["size"]] if with_size else []) + [o["colour"], o["shape"]]
    return "a " + " ".join(words)

def join_list(items):
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

def caption(objects):
    objs = sorted(objects, key=lambda o: o["px"])
    if len(objs) == 1:
        o = objs[0]
        return f"{article(o, with_size=True).capitalize()} at the {o['region']}."
    return f"{NUMBER_WORDS[len(objs)].capitalize()} shapes: " + join_list([article(o) for o in objs]) + "."

def questions(scene):
    """(task, question, answer) triples with unique answers."""
    objs = scene["objects"]
    out = [("caption", "Describe the image.", caption(objs))]
    out.append(("count", "How many shapes are there?", str(len(objs))))
    by_shape = {}; by_colour = {}
    for o in objs:
        by_shape.setdefault(o["shape"], []).append(o); by_colour.setdefault(o["colour"], []).append(o)
    for o in objs:
        if len(by_shape[o["shape"]]) == 1:
            out.append(("colour", f"What colour is the {o['shape']}?", o["colour"]))
        if len(by_colour[o["colour"]]) == 1:
            out.append(("shape", f"What shape is the {o['colour']} object?", o["shape"]))
        out.append(("position", f"Where is the {o['colour']} {o['shape']}?", o["region"]))
    # Relations: the only object clearly left/right of, or above/below, a reference object.
    for ref in objs:
        for word, test in (("left of", lambda a, b: a["px"] < b["px"] - b["radius"]),
                           ("right of", lambda a, b: a["px"] > b["px"] + b["radius"]),
                           ("above", lambda a, b: a["py"] < b["py"] - b["radius"]),
                           ("below", lambda a, b: a["py"] > b["py"] + b["radius"])):
            hits = [o for o in objs if o is not ref and test(o, ref)]
            if len(hits) == 1:
                out.append(("relation", f"What is {word} the {ref['colour']} {ref['shape']}?",
                            f"{hits[0]['colour']} {hits[0]['shape']}"))
    return out

# --- videos ---------------------------------------------------------------------------------------------

DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}

def sample_video(rng):
    kind = str(rng.choice(["move", "appear", "disappear", "recolour"]))
    w, h, frames = 192, 144, 32
    n = int(rng.integers(1, 4)) if kind != "appear" else int(rng.integers(2, 4))
    objs = []
    pairs = set()
    while len(objs) < n:
        shape = str(rng.choice(SHAPES)); colour = str(rng.choice(COLOUR_NAMES))
        if (colour, shape) in pairs:
            continue
        pairs.add((colour, shape))
        objs.append({"shape": shape, "colour": colour, "radius": float(rng.uniform(12, 20)), "rotation": 0.0})
    # Lay objects out in distinct horizontal bands so that paths never cross.
    for i, o in enumerate(objs):
        o["py0"] = (i + 0.5) / n * h
        o["px0"] = float(rng.uniform(0.25, 0.75) * w)
        o["start"], o["end"] = 0, frames
        o["rgb_after"] = None
    qa = []
    if kind == "move":
        mover = objs[0]
        direction = str(rng.choice(list(DIRECTIONS)))
        dx, dy = DIRECTIONS[direction]
        if dy != 0:  # vertical movers get the whole height: one object
            objs[:] = [mover]; mover["py0"] = h / 2
        mover["px0"] = w / 2 - dx * w * 0.3; mover["py0"] = mover["py0"] - dy * h * 0.3
        mover["vx"], mover["vy"] = dx * w * 0.6 / frames, dy * h * 0.6 / frames
        qa.append(("direction", f"Which way does the {mover['colour']} {mover['shape']} move?", direction))
    elif kind == "appear":
        starts = sorted(rng.choice(np.arange(0, frames - 6, 6), len(objs), replace=False))
        for o, s in zip(objs, starts):
            o["start"] = int(s)
        first = objs[0]
        qa.append(("order", "Which shape appears first?", f"{first['colour']} {first['shape']}"))
        qa.append(("count_time", "How many shapes are there at the end?", str(len(objs))))
    elif kind == "disappear":
        gone = objs[0]
        gone["end"] = int(rng.integers(frames // 3, 2 * frames // 3))
        qa.append(("disappear", "Which shape disappears?", f"{gone['colour']} {gone['shape']}"))
        qa.append(("count_time", "How many shapes are there at the end?", str(len(objs) - 1)))
    else:
        o = objs[0]
        new = str(rng.choice([c for c in COLOUR_NAMES if c != o["colour"]]))
        o["rgb_after"] = COLOURS[new]; o["change"] = frames // 2; o["new_colour"] = new
        qa.append(("recolour", f"What colour does the {o['colour']} {o['shape']} turn?", new))
    return {"kind": kind, "width": w, "height": h, "frames": frames, "fps": 8, "objects": objs}, qa

def render_video(video, path):
    w, h = video["width"], video["height"]
    raw = bytearray()
    for t in range(video["frames"]):
        img = Image.new("RGB", (w * 2, h * 2), (245, 245, 245))
        d = ImageDraw.Draw(img)
        for o in video["objects"]:
            if not (o["start"] <= t < o["end"]):
                continue
            x = (o["px0"] + o.get("vx", 0) * t) * 2; y = (o["py0"] + o.get("vy", 0) * t) * 2
            r = o["radius"] * 2
            rgb = COLOURS[o["colour"]] if o["rgb_after"] is None or t < o["change"] else o["rgb_after"]
            if o["shape"] == "circle":
                d.ellipse([x - r, y - r, x + r, y + r], fill=rgb)
            else:
                d.polygon([(x + px * r, y + py * r) for px, py in shape_polygon(o["shape"])], fill=rgb)
        raw += img.resize((w, h), Image.LANCZOS).tobytes()
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", str(video["fps"]), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20",
           "-bitexact", "-fflags", "+bitexact", path]
    subprocess.run(cmd, input=bytes(raw), check=True)

# --- main -------------------------------------------------------------------------------------------------

def layout_key(scene):
    return tuple((o["shape"], o["colour"], round(o["cx"], 2), round(o["cy"], 2)) for o in scene["objects"])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=list(SPLIT_SEEDS), required=True)
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--first", type=int, default=0,
                    help="index of the first scene (train split: each training chunk draws a fresh, disjoint shard)")
    ap.add_argument("--foreign", type=int, default=None, help="test split: scenes in the unseen style (default images/8)")
    ap.add_argument("--videos", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    seed = SPLIT_SEEDS[a.split]
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    foreign = 0 if a.split != "test" else (a.foreign if a.foreign is not None else a.images // 8)
    scenes_f = open(os.path.join(a.out, "scenes.jsonl"), "w")
    qs_f = open(os.path.join(a.out, "questions.jsonl"), "w")
    for i in range(a.first, a.first + a.images):
        rng = np.random.default_rng([seed, i])
        is_foreign = i >= a.first + a.images - foreign
        # The test split fixes the object count mix so each task has enough cases.
        n = None if a.split == "train" else [1, 1, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6][i % 12]
        scene = sample_scene(rng, n, foreign=is_foreign)
        pixels = render(scene, rng)
        name = f"images/{i:05d}.{scene['style']['format']}"
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(encode(pixels, scene["style"]))
        scene["file"] = name
        for o in scene["objects"]:
            o.pop("rgb")
        scenes_f.write(json.dumps(scene) + "\n")
        for task, q, ans in questions(scene):
            qs_f.write(json.dumps({"file": name, "task": task, "question": q, "answer": ans,
                                   "objects": len(scene["objects"]), "style": scene["style"]["renderer"]}) + "\n")
    if a.videos:
        os.makedirs(os.path.join(a.out, "videos"), exist_ok=True)
    for i in range(a.videos):
        rng = np.random.default_rng([seed, 1_000_000 + i])
        video, qa = sample_video(rng)
        name = f"videos/{i:05d}.mp4"
        render_video(video, os.path.join(a.out, name))
        video["file"] = name
        scenes_f.write(json.dumps(video) + "\n")
        for task, q, ans in qa:
            qs_f.write(json.dumps({"file": name, "task": task, "question": q, "answer": ans, "video": True}) + "\n")
    scenes_f.close(); qs_f.close()
    print(f"{a.out}: {a.images} images, {a.videos} videos", file=sys.stderr)

if __name__ == "__main__":
    main()

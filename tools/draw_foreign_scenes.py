#!/usr/bin/env python3
"""Scenes drawn by another program than ShapesBench's renderers, for issue 20's check that
`vlm describe` describes more than its own training pictures: FFmpeg's `geq` filter evaluates a
per-pixel expression for each channel (no anti-aliasing, no jitter, no outline style of
ShapesBench), on backgrounds, sizes, aspect ratios and JPEG qualities of its own. Each scene's
truth goes to Samples/foreign/scenes.jsonl as the caption ShapesBench would write.

Each scene's ShapesBench questions (caption, count, colour, shape, position) go to
questions.jsonl, for `vlm eval --data Samples/foreign`.

Run:  python3 tools/draw_foreign_scenes.py [--out Samples/foreign]   (needs the ffmpeg CLI, and
      numpy and pillow for tools/shapesbench.py's region names)
"""
import argparse, json, os, subprocess

COLOURS = {"red": (215, 40, 35), "green": (40, 150, 60), "blue": (35, 80, 210), "yellow": (235, 200, 30),
           "purple": (125, 50, 160), "orange": (240, 135, 30), "black": (25, 25, 25), "pink": (240, 125, 185)}

# (file, width, height, background (r, g, b) or "noise", [(shape, colour, cx, cy, radius)],
#  JPEG quality or None, caption)
SCENES = [
    ("01-green-circle.png", 320, 240, (205, 205, 205), [("circle", "green", 160, 120, 45)], None,
     "A green circle at the centre."),
    ("02-yellow-square.jpg", 256, 256, (240, 232, 205), [("square", "yellow", 55, 55, 35)], 85,
     "A yellow square at the top left."),
    ("03-blue-red.jpg", 480, 320, (255, 255, 255), [("circle", "blue", 120, 160, 60), ("square", "red", 360, 160, 55)], 90,
     "Two shapes: a blue circle and a red square."),
    ("04-purple-triangle.png", 300, 200, (222, 236, 250), [("triangle", "purple", 240, 150, 35)], None,
     "A purple triangle at the bottom right."),
    ("05-orange-black.jpg", 400, 300, (250, 250, 250), [("circle", "orange", 100, 60, 40), ("square", "black", 300, 230, 45)], 60,
     "Two shapes: an orange circle and a black square."),
    ("06-pink-square.png", 200, 300, (215, 215, 215), [("square", "pink", 100, 150, 40)], None,
     "A pink square at the centre."),
    ("07-three.png", 360, 240, (255, 255, 255),
     [("circle", "red", 60, 120, 35), ("square", "green", 180, 120, 35), ("triangle", "blue", 300, 120, 40)], None,
     "Three shapes: a red circle, a green square and a blue triangle."),
    ("08-noise-red-circle.jpg", 256, 192, "noise", [("circle", "red", 200, 140, 32)], 80,
     "A red circle at the bottom right."),
]

def inside(shape, cx, cy, r):
    """An ffmpeg expression, non-zero inside the shape."""
    if shape == "circle":
        return f"lt(hypot(X-{cx},Y-{cy}),{r})"
    if shape == "square":
        s = r * 0.82
        return f"lt(abs(X-{cx}),{s})*lt(abs(Y-{cy}),{s})"
    # triangle, apex up: between the top and the base, within the widening sides
    return f"gt(Y,{cy - r})*lt(Y,{cy + 0.6 * r})*lt(abs(X-{cx}),(Y-{cy - r})*0.59)"

def channel(scene_objects, background, c):
    expr = "(225+random(1)*25)" if background == "noise" else str(background[c])
    for shape, colour, cx, cy, r in reversed(scene_objects):
        expr = f"if({inside(shape, cx, cy, r)},{COLOURS[colour][c]},{expr})"
    return expr

def questions(name, w, h, objects, caption):
    """ShapesBench's own questions about one scene (tools/shapesbench.py's questions(), minus
    relations, with this scene's caption), so that `vlm eval --data Samples/foreign` scores these
    scenes as it scores its own."""
    import shapesbench
    scene = {"objects": [{"shape": s, "colour": c, "px": cx, "py": cy, "radius": r, "size": "",
                          "region": shapesbench.region_name(cx / w, cy / h)} for s, c, cx, cy, r in objects]}
    out = [(t, q, caption if t == "caption" else a) for t, q, a in shapesbench.questions(scene) if t != "relation"]
    return [{"file": name, "task": t, "question": q, "answer": a, "objects": len(objects), "style": "foreign"} for t, q, a in out]

def write_questions(out_dir):
    with open(os.path.join(out_dir, "questions.jsonl"), "w") as f:
        for name, w, h, _, objects, _, caption in SCENES:
            for q in questions(name, w, h, objects, caption):
                f.write(json.dumps(q) + "\n")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Samples", "foreign"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "scenes.jsonl"), "w") as truth:
        for name, w, h, bg, objects, quality, caption in SCENES:
            r, g, b = (channel(objects, bg, c) for c in range(3))
            out = os.path.join(a.out, name)
            cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"color=c=white:s={w}x{h}:d=1,format=rgb24",
                   "-vf", f"geq=r='{r}':g='{g}':b='{b}'", "-frames:v", "1", "-bitexact"]
            cmd += (["-q:v", str(max(2, round(31 - quality * 29 / 100)))] if quality else []) + [out]
            subprocess.run(cmd, check=True)
            truth.write(json.dumps({"file": name, "caption": caption,
                                    "objects": [{"shape": s, "colour": c} for s, c, *_ in objects]}) + "\n")
            print(out)
    write_questions(a.out)

if __name__ == "__main__":
    main()

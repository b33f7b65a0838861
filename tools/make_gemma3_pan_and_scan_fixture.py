"""Records what transformers 5.23 computes for Gemma 3 pan-and-scan (`do_pan_and_scan=True`) on the
committed Gemma 3 parity model (Tests/VisionTests/Fixtures/vlms/gemma3, made by
tools/make_gemma3_fixtures.py), so that vlm's PanAndScanProcessor and the family's prompt framing
are checked against it without torch in CI.

The model directory is loaded as a user loads it (tools/materialize_weights.py, then AutoProcessor
and AutoModelForImageTextToText), and one wide image (image_pas.png, 1000x340: three crops, the last
one two pixels narrower because transformers' crop is a NumPy slice that stops at the edge) goes
through the processor with pan-and-scan on. Writes, beside the fixture's other files,
expected_pan_and_scan.json: the prompt and its ids (the whole image and each crop framed by
Gemma3Processor.replace_image_token's sentence), the image groups that attend both ways, a stride
sample and per-image sums of pixel_values, rows of the projector's output per encoder image, the
last-position logits and 16 greedy tokens with their margins; and `crop_table`: the crop sizes
Gemma3ImageProcessorPil.pan_and_scan returns for images of other shapes (portrait, too square,
crops too small, more than max_num_crops), with the processor's defaults (256, 4, 1.2).

Run: ~/.cache/vlm/llama.cpp/venv/bin/python tools/make_gemma3_pan_and_scan_fixture.py   (about 1 min, 4 GB)
"""
import json, os, subprocess, sys, tempfile
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gemma3_fixtures import OUT, STRIDE, floats, forward_capturing, image_groups, summary  # noqa: E402
from make_tiny_vlms import greedy  # noqa: E402
from gemma3_vlm_models import SAMPLES, SPECIALS  # noqa: E402

torch.set_num_threads(2)
TOOLS = os.path.dirname(os.path.abspath(__file__))
QUESTION = "What is in the wide picture?"
# (width, height) of images whose crops the table records: landscape with a narrower last crop,
# portrait, square (no crops), below the 1.2 ratio (none), crops under 256 px (none), 6:1 capped
# at 4 crops, exactly 2:1, and a 3-crop portrait whose last crop is shorter.
TABLE_SIZES = [(1000, 340), (340, 1000), (896, 896), (1100, 1000), (500, 300), (3000, 500), (600, 300),
               (300, 1001), (256, 256), (1200, 250)]


def wide_image():
    """Samples/shapes.png at 510x340, then mirrored beside itself and cut to 1000x340."""
    src = Image.open(os.path.join(SAMPLES, "shapes.png")).convert("RGB").resize((510, 340), Image.BICUBIC)
    wide = Image.new("RGB", (1020, 340))
    wide.paste(src, (0, 0))
    wide.paste(src.transpose(Image.FLIP_LEFT_RIGHT), (510, 0))
    path = os.path.join(OUT, "image_pas.png")
    wide.crop((0, 0, 1000, 340)).save(path)
    return Image.open(path).convert("RGB")


def crop_table(ip):
    rows = []
    for w, h in TABLE_SIZES:
        crops = ip.pan_and_scan(np.zeros((3, h, w), dtype=np.uint8), pan_and_scan_min_crop_size=256,
                                pan_and_scan_max_num_crops=4, pan_and_scan_min_ratio_to_activate=1.2)
        rows.append({"width": w, "height": h, "crops": [[int(c.shape[2]), int(c.shape[1])] for c in crops]})
    return rows


def main():
    from transformers import AutoModelForImageTextToText, AutoProcessor
    proc = AutoProcessor.from_pretrained(OUT)
    tok = proc.tokenizer
    image = wide_image()
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = proc(text=[prompt], images=[image], return_tensors="pt", add_special_tokens=False, do_pan_and_scan=True)
    # Gemma3Processor drops num_crops from its output (unused_input_names): ask the image processor.
    # (Alone, the image processor has no pan-and-scan defaults: they are Gemma3Processor's.)
    num_crops = int(proc.image_processor([image], do_pan_and_scan=True, pan_and_scan_min_crop_size=256,
                                         pan_and_scan_max_num_crops=4,
                                         pan_and_scan_min_ratio_to_activate=1.2)["num_crops"][0])
    pv = inputs["pixel_values"]
    assert pv.shape[0] == 4, f"expected the whole image and 3 crops, got {pv.shape}"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(TOOLS, "materialize_weights.py"), OUT, tmp], check=True)
        model = AutoModelForImageTextToText.from_pretrained(tmp, attn_implementation="eager", dtype=torch.float32).eval()
    got = forward_capturing(model, **inputs)
    gen, margins = greedy(model, dict(inputs), tok.pad_token_id)
    special = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    ids, tt = inputs["input_ids"][0].tolist(), inputs["token_type_ids"][0].tolist()
    proj = got["projector"]
    flat = pv.reshape(-1)
    rec = {
        "transformers": __import__("transformers").__version__, "image": "image_pas.png", "size": list(image.size),
        "num_crops": num_crops, "pan_and_scan": {"min_crop_size": 256, "max_num_crops": 4, "min_ratio_to_activate": 1.2},
        "messages": messages, "prompt": prompt, "expanded_prompt": tok.decode(ids), "input_ids": ids,
        "token_type_ids": tt, "image_groups": image_groups(ids, tt, special),
        "pixel_values": dict(summary(pv), sample={"start": 0, "stride": STRIDE, "values": floats(flat[::STRIDE])},
                             per_image=[summary(p) for p in pv]),
        "image_features": dict(summary(proj), per_image=[
            {"row_0_first64": floats(p[0, :64]), "row_255_first64": floats(p[255, :64])} for p in proj]),
        "last_logits": floats(got["logits"][-1]),
        "greedy_ids": gen, "greedy_margins": [float(np.float32(m)) for m in margins], "greedy_text": tok.decode(gen),
        "crop_table": crop_table(proc.image_processor),
    }
    json.dump(rec, open(os.path.join(OUT, "expected_pan_and_scan.json"), "w"))
    print(f"pan-and-scan: {len(ids)} tokens, {pv.shape[0]} encoder images, min margin {min(margins):.4f}, "
          f"greedy {rec['greedy_text']!r}")
    for row in rec["crop_table"]:
        print(f"  {row['width']}x{row['height']}: {row['crops']}")


if __name__ == "__main__":
    sys.exit(main())

"""Reference outputs of Hugging Face's image processors (transformers 5.23, PIL backend) on
every image in Samples/, for the Swift processors' parity test.

Processors, with the published configurations of the models they serve: CLIP ViT-L/14-336
(LLaVA-1.5), SigLIP 384, DINOv2 (BitImageProcessor with ImageNet statistics), LLaVA-NeXT AnyRes
at 336 px, LLaVA-OneVision anyres_max_9 at 384 px and SmolVLM-256M (2048-px longest edge,
512-px tiles, Lanczos). For each image x processor it records the tile count and grid, the
pixel tensor's shape, per-tile per-channel means, and a strided sample of ~1000 values.
Writes Tests/VisionTests/Fixtures/processors.json.

Run: .venv-ref/bin/python tools/make_processor_fixtures.py
"""
import glob, json, os
import numpy as np
from PIL import Image
from transformers import (BitImageProcessorPil, CLIPImageProcessorPil, LlavaNextImageProcessorPil,
                          LlavaOnevisionImageProcessorPil, SiglipImageProcessorPil, SmolVLMImageProcessorPil)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

PROCESSORS = {
    "clip336": CLIPImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}),
    "siglip384": SiglipImageProcessorPil(size={"height": 384, "width": 384}),
    "dinov2": BitImageProcessorPil(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
                                   image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
    "llava_next336": LlavaNextImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336},
                                                image_grid_pinpoints=[[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]),
    "onevision384": LlavaOnevisionImageProcessorPil(size={"height": 384, "width": 384}, image_mean=[0.5, 0.5, 0.5],
                                                    image_std=[0.5, 0.5, 0.5]),
    "smolvlm512": SmolVLMImageProcessorPil(size={"longest_edge": 2048}, max_image_size={"longest_edge": 512}),
}


def config_of(proc):
    d = proc.to_dict()
    d["image_processor_type"] = type(proc).__name__.replace("Pil", "")
    return json.loads(json.dumps(d, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def main():
    images = sorted(p for p in glob.glob(os.path.join(ROOT, "Samples", "*")) if p.endswith((".png", ".jpg")))
    out = {"configs": {k: config_of(p) for k, p in PROCESSORS.items()}, "cases": []}
    for path in images:
        image = Image.open(path).convert("RGB")
        for key, proc in PROCESSORS.items():
            kwargs = {"return_row_col_info": True} if key.startswith("smolvlm") else {}
            r = proc(images=[image], return_tensors="np", **kwargs)
            pv = r["pixel_values"]
            pv = pv.reshape(-1, *pv.shape[-3:])
            if "pixel_attention_mask" in r:
                real = r["pixel_attention_mask"].reshape(-1, *pv.shape[-2:]).any(-1).any(-1)
                pv = pv[real]
            layout = {"kind": "single"}
            if key.startswith("smolvlm"):
                layout = {"kind": "split", "rows": int(r["rows"][0][0]), "cols": int(r["cols"][0][0])}
            elif "image_sizes" in r:
                from transformers.image_processing_utils import select_best_resolution
                h, w = select_best_resolution(list(r["image_sizes"][0]), proc.image_grid_pinpoints)
                side = pv.shape[-1]
                layout = {"kind": "anyres", "rows": h // side, "cols": w // side}
            flat = pv.astype(np.float32).flatten()
            step = max(1, flat.size // 1000)
            out["cases"].append({"image": os.path.basename(path), "processor": key, "shape": list(pv.shape), "layout": layout,
                                 "means": [[round(float(pv[t, c].mean()), 5) for c in range(3)] for t in range(pv.shape[0])],
                                 "step": step, "sample": [round(float(x), 5) for x in flat[::step]]})
            print(os.path.basename(path), key, pv.shape, layout)
    with open(os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "processors.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()

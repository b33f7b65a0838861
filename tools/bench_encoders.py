"""Encoder speed, side by side in one run: `vlm bench-encoder` against transformers on CPU with
the same thread count, for SigLIP-B/16 at 512 px (SmolVLM-256M's encoder) and CLIP ViT-L/14
at 336 px (LLaVA-1.5's), both with random float32 weights of the real shapes.

Run: .venv-ref/bin/python tools/bench_encoders.py [--threads 2] [--repeats 3] [--vlm .build/release/vlm]
Prints one line per shape with both times and the ratio (torch time / vlm time).
"""
import argparse, json, subprocess, time, statistics
import torch
from transformers import CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel

SHAPES = {
    "siglip-b16-512": lambda: SiglipVisionModel(SiglipVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                                                   num_attention_heads=12, image_size=512, patch_size=16,
                                                                   attn_implementation="sdpa")),
    "clip-l14-336": lambda: CLIPVisionModel(CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                                             num_attention_heads=16, image_size=336, patch_size=14,
                                                             attn_implementation="sdpa")),
}


def torch_time(shape, repeats):
    model = SHAPES[shape]().eval()
    size = model.config.image_size
    x = torch.randn(1, 3, size, size)
    times = []
    with torch.inference_mode():
        model(pixel_values=x)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter(); model(pixel_values=x); times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--vlm", default=".build/release/vlm")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, best of {a.repeats}")
    for shape in SHAPES:
        out = subprocess.run([a.vlm, "bench-encoder", "--shape", shape, "--repeats", str(a.repeats), "--threads", str(a.threads),
                              "--json"], capture_output=True, text=True, check=True).stdout
        ours = json.loads(out)
        best, median = torch_time(shape, a.repeats)
        print(f"{shape}: vlm {ours['best_s']:.3f} s (median {ours['median_s']:.3f}), transformers {best:.3f} s "
              f"(median {median:.3f}); transformers/vlm = {best / ours['best_s']:.2f}x")


if __name__ == "__main__":
    main()

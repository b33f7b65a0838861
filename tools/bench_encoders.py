"""Encoder speed, side by side in one run: `vlm bench-encoder` against transformers on CPU with
the same thread count, for SigLIP-B/16 at 512 px (SmolVLM-256M's encoder), CLIP ViT-L/14
at 336 px (LLaVA-1.5's), and the Qwen2.5-VL-3B and Qwen3-VL-2B vision towers on a 1280x720
frame (sides smart-resized as their processors do: 1288x728 and 1280x704; patch embedding to
the merged tokens, DeepStack mergers included, on both sides), all with random float32 weights
of the real shapes.

Run: .venv-ref/bin/python tools/bench_encoders.py [--threads 2] [--repeats 3] [--vlm .build/release/vlm] [--shapes a,b]
Prints one line per shape with both times and the ratio (torch time / vlm time).
"""
import argparse, json, subprocess, time, statistics
import torch
from transformers import CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel

SHAPES = {
    "siglip-b16-512": lambda: SiglipVisionModel(SiglipVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                                                   num_attention_heads=12, image_size=512, patch_size=16,
                                                                   attn_implementation="sdpa")),
    "siglip-so400m-384": lambda: SiglipVisionModel(SiglipVisionConfig(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                                                                      num_attention_heads=16, image_size=384, patch_size=14,
                                                                      attn_implementation="sdpa")),
    "clip-l14-336": lambda: CLIPVisionModel(CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                                             num_attention_heads=16, image_size=336, patch_size=14,
                                                             attn_implementation="sdpa")),
}


def qwen_tower(kind):
    """A Qwen-VL tower of the real shape and its packed input for a 1280x720 frame."""
    if kind == "qwen2.5":
        from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLVisionConfig
        from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel
        config = Qwen2_5_VLVisionConfig(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, hidden_act="silu",
                                        patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                                        fullatt_block_indexes=[7, 15, 23, 31], out_hidden_size=2048)
        config._attn_implementation = "sdpa"
        model, (h, w), p = Qwen2_5_VisionTransformerPretrainedModel(config), (728, 1288), 14
    else:
        from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLVisionConfig
        from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLVisionModel
        config = Qwen3VLVisionConfig(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16, hidden_act="gelu_pytorch_tanh",
                                     patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304,
                                     out_hidden_size=2048, deepstack_visual_indexes=[5, 11, 17])
        config._attn_implementation = "sdpa"
        model, (h, w), p = Qwen3VLVisionModel(config), (704, 1280), 16
    grid = torch.tensor([[1, h // p, w // p]])
    x = torch.randn((h // p) * (w // p), 3 * 2 * p * p)
    return model.eval(), lambda: model(hidden_states=x, grid_thw=grid)


QWEN = {"qwen2.5-vl-3b-720p": "qwen2.5", "qwen3-vl-2b-720p": "qwen3"}


def torch_time(shape, repeats):
    if shape in QWEN:
        model, run = qwen_tower(QWEN[shape])
        times = []
        with torch.inference_mode():
            run()  # warm-up
            for _ in range(repeats):
                t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)
        return min(times), statistics.median(times)
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
    ap.add_argument("--shapes", default=",".join(list(SHAPES) + list(QWEN)))
    ap.add_argument("--bf16", action="store_true", help="also run vlm with --vision-bf16 (AVX-512-BF16 CPUs)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, best of {a.repeats}")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU {cpu}")
    for shape in a.shapes.split(","):
        modes = [[]] + ([["--vision-bf16"]] if a.bf16 else [])
        ours = [json.loads(subprocess.run([a.vlm, "bench-encoder", "--shape", shape, "--repeats", str(a.repeats), "--threads",
                                           str(a.threads), "--json"] + m, capture_output=True, text=True, check=True).stdout)
                for m in modes]
        best, median = torch_time(shape, a.repeats)
        for m, o in zip(modes, ours):
            label = "vlm bf16" if m else "vlm f32"
            print(f"{shape}: {label} {o['best_s']:.3f} s (median {o['median_s']:.3f}), transformers f32 {best:.3f} s "
                  f"(median {median:.3f}); vlm/transformers time = {o['best_s'] / best:.2f}x")


if __name__ == "__main__":
    main()

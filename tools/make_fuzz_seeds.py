"""Writes the committed seed corpus of the fuzz targets (fuzz/corpus/<Target>/): small valid
inputs libFuzzer mutates from, taken from the project's fixtures and samples or made here
(a GGUF and a safetensors file of a few tiny tensors). Deterministic; needs numpy and gguf
(the project's .venv has both).

    .venv/bin/python tools/make_fuzz_seeds.py
"""
import json, os, shutil, struct
import numpy as np
import gguf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fuzz", "corpus")
VLMS = os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "vlms")


def target(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def copy(name, *paths):
    d = target(name)
    for p in paths:
        src = os.path.join(ROOT, p)
        shutil.copy(os.path.realpath(src), os.path.join(d, p.replace("/", "_")))


def gguf_seed(d):
    w = gguf.GGUFWriter(os.path.join(d, "tiny.gguf"), "llama")
    w.add_block_count(1)
    w.add_context_length(32)
    w.add_embedding_length(8)
    w.add_head_count(2)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    w.add_tensor("token_embd.weight", np.arange(24, dtype=np.float32).reshape(3, 8) / 10)
    w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def safetensors_seed(d):
    tensors = {"a.weight": ("F32", [2, 3], np.arange(6, dtype="<f4").tobytes()),
               "b.bias": ("BF16", [4], (np.arange(4, dtype="<f4").view("<u4") >> 16).astype("<u2").tobytes()),
               "c.half": ("F16", [2, 2], np.ones(4, dtype="<f2").tobytes())}
    header, blob = {"__metadata__": {"format": "pt"}}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(d, "tiny.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + blob)


def chat_request_seeds(d):
    """Request bodies as OpenAI clients send them: text, an image as a data: URL with vlm's
    reducer fields, a video and a multi-turn conversation with the other option fields."""
    import base64
    png = base64.b64encode(open(os.path.join(ROOT, "Samples", "tiny.png"), "rb").read()).decode()
    seeds = {
        "text.json": {"model": "vlm", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
                      "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "seed": 3, "stop": ["\n"]},
        "image.json": {"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png}}, {"type": "text", "text": "What is this?"}]}],
            "reducer": "divprune", "keep_ratio": 0.25, "stream": True, "reducer_opt": {"layer": 2}},
        "video.json": {"messages": [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": "clip.mp4"}},
                                                                 {"type": "text", "text": "what happens?"}]},
                                    {"role": "assistant", "content": "A ball."}, {"role": "user", "content": "And then?"}],
                       "frames": 4, "kv_cache": "q8", "reducer": "dycoke", "reducer_opt": ["k=1"]},
    }
    for name, body in seeds.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(json.dumps(body))


def main():
    gguf_seed(target("FuzzGGUF"))
    safetensors_seed(target("FuzzSafetensors"))
    copy("FuzzTokenizerJSON", "Tests/VisionTests/Fixtures/vlms/qwen3_vl/tokenizer.json",
         "Tests/VisionTests/Fixtures/vlms/llava_onevision/tokenizer.json")
    copy("FuzzChatTemplate", *[f"Tests/VisionTests/Fixtures/vlms/{m}/chat_template.jinja"
                               for m in ("qwen3_vl", "qwen2_5_vl", "llava_onevision", "smolvlm")])
    copy("FuzzImage", "Samples/tiny.png", "Samples/rgba.png", "Samples/pattern.png", "Samples/gray.jpg",
         "Samples/pattern.jpg", "Samples/progressive.jpg", "Tests/VisionTests/Fixtures/formats/cmyk.jpg",
         "Tests/VisionTests/Fixtures/exif/orientation7.jpg")
    copy("FuzzModelConfig", *[f"Tests/VisionTests/Fixtures/vlms/{m}/config.json"
                              for m in ("qwen3_vl", "qwen2_5_vl", "llava_onevision", "smolvlm", "llava")])
    copy("FuzzVideo", "Tests/VideoTests/Fixtures/colors.mp4", "Tests/VideoTests/Fixtures/colors.webm",
         "Tests/VideoTests/Fixtures/corrupt-tail.mp4", "Samples/rotated.mp4",
         "Tests/VideoTests/Fixtures/fuzz-unknown-codec.webm")   # a finding, kept as a seed
    chat_request_seeds(target("FuzzChatRequest"))
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"{OUT}: {total / 1024:.0f} KB")


if __name__ == "__main__":
    main()

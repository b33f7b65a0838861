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
         "Tests/VideoTests/Fixtures/corrupt-tail.mp4", "Samples/rotated.mp4")
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"{OUT}: {total / 1024:.0f} KB")


if __name__ == "__main__":
    main()

"""What tools/make_tiny_gemma3_pair.py and tools/make_tiny_qwen25vl_pair.py share: the llama.cpp
build's paths (tools/build_llama_cpp.sh writes paths.env), the three conversions of a tiny
Hugging Face directory into a GGUF pair through make_gguf_pairs.py's child mode (its logged
work-arounds), and the transformers side's prompt encoding, last-position logits and float32
rounding for expected.json.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

TOOLS = Path(__file__).resolve().parent
HOME = Path(os.environ.get("VLM_LLAMA_CPP_HOME", Path.home() / ".cache/vlm/llama.cpp"))


def f32(x):
    return float(str(np.float32(x)))  # shortest text that reads back as the same float32


def messages_for(image, question):
    return [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]


def encode(proc, image, question):
    return proc.apply_chat_template(messages_for(image, question), add_generation_prompt=True, tokenize=True,
                                    return_dict=True, return_tensors="pt")


def last_logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits[0, -1]


def llama_paths():
    env = HOME / "paths.env"
    if not env.is_file():
        raise SystemExit(f"{env} missing: run tools/build_llama_cpp.sh first")
    return dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)


def convert(paths, hf_dir, gguf_out, log_dir, log):
    """convert_hf_to_gguf.py through make_gguf_pairs.py's child mode (its logged work-arounds)."""
    gguf_out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LLAMA_CPP_SRC=paths["LLAMA_CPP_SRC"])
    patches = {}
    for out_name, extra in (("model-f32.gguf", ["--outtype", "f32"]),
                            ("mmproj-f32.gguf", ["--mmproj", "--outtype", "f32"]),
                            ("mmproj-f16.gguf", ["--mmproj", "--outtype", "f16"])):
        out = gguf_out / out_name
        if out.exists():
            out.unlink()
        cmd = [sys.executable, str(TOOLS / "make_gguf_pairs.py"), "--_convert", "--", str(hf_dir), *extra,
               "--outfile", str(out)]
        log("$ " + " ".join(cmd))
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        logfile = log_dir / f"convert-{out_name[:-5]}.log"
        logfile.write_text("$ " + " ".join(cmd) + "\n" + p.stdout + f"\n[exit {p.returncode}]\n")
        if p.returncode != 0 or not out.is_file():
            print(p.stdout[-4000:])
            raise SystemExit(f"conversion to {out} failed (log {logfile})")
        patches[out_name] = [l.split("PATCH ", 1)[1] for l in p.stdout.splitlines() if "[make_gguf_pairs] PATCH" in l]
        for pt in patches[out_name]:
            log(f"  PATCH {pt}")
        log(f"  -> {out} ({out.stat().st_size} bytes)")
    return patches

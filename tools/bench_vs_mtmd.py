#!/usr/bin/env python3
"""vlm against llama.cpp's llama-mtmd-cli on the same GGUF pair, same image, same threads
(issue 19, check 3).

    tools/build_llama_cpp.sh          # once: llama.cpp binaries + the venv used below
    ~/.cache/vlm/llama.cpp/venv/bin/python tools/bench_vs_mtmd.py [--pair smolvlm-256m|llava15-qwen2-0.5b]
        [--out /tmp/bench-pairs] [--steps build,convert,image,bench] [--repeats 3] [--threads 2]
        [--n-predict 32] [--vlm .build-test/release/vlm] [--force] [--append-doc]

Pairs (random-initialised with transformers, float32, torch.manual_seed(0), real shapes; the
tokenizer is SmolLM2's 49152-token BPE, read by transformers from
~/.cache/vlm/models/SmolLM2-135M-Instruct.Q4_1.gguf, given SmolLM's Digits + ByteLevel
pre-tokenizer so that llama.cpp's converter recognises it as "smollm"):
  smolvlm-256m        SmolVLM-256M-Instruct-shaped SmolVLMForConditionalGeneration. Vision SigLIP
                      768 x 12 layers x 12 heads, intermediate 3072, patch 16, image 512;
                      scale_factor 4 (64 tokens a tile); text Llama 576 x 30 layers, 9 heads / 3 KV
                      heads, intermediate 1536, rope theta 1e5, tied embeddings, vocab 49280 (SmolLM2's
                      49152 + SmolVLM's added tokens: <global-img>, 36 <row_r_col_c>,
                      <fake_token_around_image>, <image>, reserved fillers, <end_of_utterance> last).
                      Processor: the real SmolVLM-256M-Instruct settings (size longest_edge 2048,
                      max_image_size longest_edge 512, image splitting, image_seq_len 64).
                      Converted by convert_hf_to_gguf.py: LLM q8_0, mmproj f16.
  llava15-qwen2-0.5b  LLaVA-1.5-shaped LlavaForConditionalGeneration: CLIP ViT-L/14-336 (1024 x 24
                      layers x 16 heads, intermediate 4096, quick_gelu, feature layer -2, 576 tokens),
                      2-layer GELU MLP projector; text Qwen2-0.5B-shaped (896 x 24 layers, 14 heads /
                      2 KV heads, intermediate 4864, rope theta 1e6, tied embeddings) but with the
                      SmolLM2 tokenizer + <image> (vocab 49153, not Qwen2's 151936). Processor: CLIP
                      shortest_edge 336 + centre crop 336, OpenAI CLIP mean/std. LLM q8_0 by
                      convert_hf_to_gguf.py; mmproj f16 by llama.cpp's legacy llava route
                      (convert_hf_to_gguf.py --mmproj refuses LLaVA; see tools/make_gguf_pairs.py).
Steps (each skipped when its output is already there, unless --force):
  build    the HF model in OUT/<pair>/hf.
  convert  OUT/<pair>/model-q8_0.gguf and OUT/<pair>/mmproj-f16.gguf (logs beside them).
  image    Samples/shapes.png resized to 512x512 (PIL LANCZOS) -> OUT/shapes-512.png.
  bench    --repeats rounds, alternating: llama-mtmd-cli, vlm (no reducer), vlm (divprune 0.25).
           Every run holds /tmp/vlm-build.lock (flock(2) on the same file flock(1) uses), so no
           other heavy job that takes the lock runs beside it; the CPU time other processes used
           during each run is recorded. Peak RSS: the child's ru_maxrss from wait4. Best of the
           rounds per engine (lowest TTFT; the other columns are each the best of their own).
The build and convert steps and every timed run take the lock themselves: do not run this script
under `flock /tmp/vlm-build.lock` (a second open of the lock file would wait on the first).
Results: OUT/<pair>/results.json (every run), OUT/<pair>/runs/*.txt (each run's full output) and a
markdown report on stdout; --append-doc appends that report to docs/PERFORMANCE.md under
"## vlm vs llama-mtmd-cli on GGUF pairs (issue 19, check 3)" (once; later pairs: by hand).

TTFT. vlm: timings_ms decode_media + encode + reduce + prefill from its --json record (prefill
ends with the first token's logits; no decode step is added). llama-mtmd-cli (run with --perf
-lv 4 so that it prints its timings): the wall time from the arrival of its last start-up log line
(the "experimental CLI" warning, logged right before it loads the image) to the arrival of the
newline it prints on stdout when the whole prompt has been evaluated (image load and slicing,
every tile encoded, every chunk decoded: the same span as vlm's). See parse_mtmd.
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "tools"
LOCK = "/tmp/vlm-build.lock"
PAIRS = ("smolvlm-256m", "llava15-qwen2-0.5b")
PROMPT = "Describe this image."
SMOLLM2_GGUF = Path(os.environ.get("VLM_MODELS", Path.home() / ".cache/vlm/models")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
VOCAB = 49280
DOC_HEADING = "## vlm vs llama-mtmd-cli on GGUF pairs (issue 19, check 3)"
# HuggingFaceTB/SmolVLM-256M-Instruct
CHAT_TEMPLATE = ("<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}"
                 "{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
                 "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
                 "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")


def log(msg: str) -> None:
    print(f"[bench_vs_mtmd] {msg}", file=sys.stderr, flush=True)


class locked:
    """Holds /tmp/vlm-build.lock (the lock `flock /tmp/vlm-build.lock CMD` takes)."""

    def __enter__(self):
        self.f = open(LOCK, "a")
        t0 = time.time()
        fcntl.flock(self.f, fcntl.LOCK_EX)
        waited = time.time() - t0
        if waited > 1:
            log(f"waited {waited:.0f} s for {LOCK}")
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


# ----------------------------------------------------------------------------------------------
# build
# ----------------------------------------------------------------------------------------------

def smolvlm_tokenizer():
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(SMOLLM2_GGUF.parent), gguf_file=SMOLLM2_GGUF.name)
    assert len(tok) == 49152, len(tok)
    # SmolLM/SmolLM2's tokenizer.json pre-tokenizer (the GGUF only names it: tokenizer.ggml.pre = smollm)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    extra = ["<global-img>"] + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    extra += ["<fake_token_around_image>", "<image>"]
    n_fill = VOCAB - 49152 - len(extra) - 1
    extra += [f"<reserved_{i}>" for i in range(n_fill)] + ["<end_of_utterance>"]
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in extra], special_tokens=True)
    assert len(tok) == VOCAB, len(tok)
    tok.bos_token = "<|im_start|>"
    tok.eos_token = "<end_of_utterance>"
    tok.pad_token = "<|im_end|>"
    tok.chat_template = CHAT_TEMPLATE
    return tok


def step_build(out: Path, pair: str, force: bool) -> dict:
    if pair == "llava15-qwen2-0.5b":
        return build_llava(out / pair / "hf", force)
    hf = out / pair / "hf"
    info_file = hf / "bench-build.json"
    if info_file.is_file() and not force:
        log(f"build: {hf} exists")
        return json.loads(info_file.read_text())
    import torch
    from transformers import (LlamaConfig, SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessorPil,
                              SmolVLMVisionConfig)
    hf.mkdir(parents=True, exist_ok=True)
    tok = smolvlm_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|im_start|>", "<|im_end|>", "<image>", "<end_of_utterance>",
                                                     "<global-img>", "<fake_token_around_image>")}
    vision = SmolVLMVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                                 image_size=512, patch_size=16, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    text = LlamaConfig(vocab_size=VOCAB, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                       num_attention_heads=9, num_key_value_heads=3, head_dim=64, max_position_embeddings=8192,
                       rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True, hidden_act="silu",
                       bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<end_of_utterance>"],
                       pad_token_id=ids["<|im_end|>"])
    cfg = SmolVLMConfig(vision_config=vision, text_config=text, image_token_id=ids["<image>"], scale_factor=4,
                        tie_word_embeddings=True)
    torch.manual_seed(0)
    with torch.device("cpu"):
        model = SmolVLMForConditionalGeneration(cfg).float().eval()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"build: {n_params / 1e6:.1f} M parameters, saving to {hf}")
    model.save_pretrained(str(hf), safe_serialization=True)
    tok.save_pretrained(str(hf))
    (hf / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    ip = SmolVLMImageProcessorPil(size={"longest_edge": 2048}, max_image_size={"longest_edge": 512},
                                  do_image_splitting=True, resample=1, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    ip.save_pretrained(str(hf))
    info = {"parameters": n_params, "vocab_size": VOCAB, "tokenizer": "SmolLM2-135M-Instruct (from its GGUF) + SmolVLM added tokens",
            "token_ids": ids, "seed": 0, "dtype": "float32", "image_seq_len": 64,
            "processor": {"size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512}, "do_image_splitting": True}}
    try:
        from transformers import SmolVLMProcessor, SmolVLMVideoProcessor
        proc = SmolVLMProcessor(image_processor=ip, tokenizer=tok, video_processor=SmolVLMVideoProcessor(),
                                image_seq_len=64, chat_template=CHAT_TEMPLATE)
        proc.save_pretrained(str(hf))
        info["processor_saved"] = True
    except Exception as e:  # the video processor may need torchvision; the image processor is saved either way
        info["processor_saved"] = f"no: {type(e).__name__}: {e}"
    info_file.write_text(json.dumps(info, indent=1))
    return info


LLAVA_TEMPLATE = (  # llava-hf/llava-1.5-7b-hf
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
    "{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")


def build_llava(hf: Path, force: bool) -> dict:
    info_file = hf / "bench-build.json"
    if info_file.is_file() and not force:
        log(f"build: {hf} exists")
        return json.loads(info_file.read_text())
    import torch
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import (AutoTokenizer, CLIPImageProcessorPil, CLIPVisionConfig, LlavaConfig,
                              LlavaForConditionalGeneration, Qwen2Config)
    hf.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(str(SMOLLM2_GGUF.parent), gguf_file=SMOLLM2_GGUF.name)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    tok.add_tokens([AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    tok.chat_template = LLAVA_TEMPLATE
    vocab = len(tok)
    image_id = tok.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                              image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    text = Qwen2Config(vocab_size=vocab, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                       num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
                       rope_theta=1000000.0, tie_word_embeddings=True, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id, bos_token_id=None)
    cfg = LlavaConfig(vision_config=vision, text_config=text, image_token_index=image_id, vision_feature_layer=-2,
                      vision_feature_select_strategy="default", projector_hidden_act="gelu", image_seq_length=576,
                      tie_word_embeddings=True)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg).float().eval()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"build: {n_params / 1e6:.1f} M parameters, saving to {hf}")
    model.save_pretrained(str(hf), safe_serialization=True)
    tok.save_pretrained(str(hf))
    (hf / "chat_template.jinja").write_text(LLAVA_TEMPLATE)
    ip = CLIPImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}, do_center_crop=True,
                               resample=3, image_mean=[0.48145466, 0.4578275, 0.40821073],
                               image_std=[0.26862954, 0.26130258, 0.27577711])
    ip.save_pretrained(str(hf))
    info = {"parameters": n_params, "vocab_size": vocab, "tokenizer": "SmolLM2-135M-Instruct (from its GGUF) + <image>",
            "image_token_id": image_id, "seed": 0, "dtype": "float32", "image_seq_length": 576,
            "processor": {"size": {"shortest_edge": 336}, "crop_size": 336}}
    info_file.write_text(json.dumps(info, indent=1))
    return info


def hf_visual_tokens(out: Path, pair: str, image: Path) -> dict:
    """What the HF processor gives this image: tiles and <image> tokens (image_seq_len 64 per tile)."""
    from PIL import Image
    if pair == "llava15-qwen2-0.5b":
        from transformers import CLIPImageProcessorPil
        pv = CLIPImageProcessorPil.from_pretrained(str(out / pair / "hf"))(images=[Image.open(image).convert("RGB")])["pixel_values"]
        side = int(pv[0].shape[-1])
        return {"pixel_values": [int(x) for x in pv[0].shape], "tiles": 1, "image_tokens": (side // 14) ** 2}
    from transformers import SmolVLMImageProcessorPil
    ip = SmolVLMImageProcessorPil.from_pretrained(str(out / pair / "hf"))
    r = ip(images=[Image.open(image).convert("RGB")], return_row_col_info=True)
    rows, cols = int(r["rows"][0][0]), int(r["cols"][0][0])
    tiles = rows * cols + (1 if rows * cols > 0 else 0)
    return {"rows": rows, "cols": cols, "tiles": tiles if rows * cols else 1,
            "image_tokens": 64 * (tiles if rows * cols else 1)}


# ----------------------------------------------------------------------------------------------
# convert
# ----------------------------------------------------------------------------------------------

def step_convert(out: Path, pair: str, force: bool) -> dict:
    sys.path.insert(0, str(TOOLS))
    import make_gguf_pairs as mgp
    paths = mgp.llama_paths()
    hf, d = out / pair / "hf", out / pair
    llava = pair == "llava15-qwen2-0.5b"
    res = {}
    for key, fname, mmproj, outtype in (("llm", "model-q8_0.gguf", False, "q8_0"), ("mmproj", "mmproj-f16.gguf", True, "f16")):
        f = d / fname
        if f.is_file() and not force:
            log(f"convert: {f} exists")
            res[key] = {"ok": True, "file": str(f), "skipped": True}
            continue
        log(f"convert: {fname}")
        with locked():
            if mmproj and llava:
                # writes d/mmproj-f32.gguf and d/mmproj-f16.gguf (logs: d/convert-mmproj-*-legacy.log)
                r = mgp.legacy_llava_mmproj(paths, "llava", hf, d / "legacy-work", d)["f16"]
            else:
                r = mgp.convert(paths, hf, f, d / f"convert-{key}.log", mmproj, outtype,
                                None if mmproj else ("Qwen2ForCausalLM" if llava else "LlamaForCausalLM"))
        r["file"] = str(f)
        res[key] = r
        if not r["ok"]:
            raise SystemExit(f"conversion of {fname} failed: {r['error']} (log {r['log']})")
    for key in res:
        log_file = d / f"convert-{key}.log"
        if log_file.is_file():
            pre = [l for l in log_file.read_text().splitlines() if "tokenizer.ggml.pre" in l or "PATCH pre-tokenizer" in l]
            res[key]["pre_tokenizer_lines"] = pre[:3]
    res["llama_cpp_commit"] = paths.get("LLAMA_CPP_COMMIT")
    res["llama_cpp_python"] = paths.get("LLAMA_CPP_PYTHON_VERSION")
    return res


def step_image(out: Path) -> Path:
    from PIL import Image
    img = out / "shapes-512.png"
    if not img.is_file():
        Image.open(REPO / "Samples/shapes.png").convert("RGB").resize((512, 512), Image.LANCZOS).save(img)
    return img


# ----------------------------------------------------------------------------------------------
# bench
# ----------------------------------------------------------------------------------------------

def cpu_jiffies() -> tuple[float, float]:
    """(busy, steal) seconds of all CPUs from /proc/stat."""
    f = open("/proc/stat").readline().split()[1:]
    v = [int(x) for x in f]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq) / hz, steal / hz


class Stream:
    """A pipe read in a thread, with each chunk's arrival time (perf_counter)."""

    def __init__(self, pipe):
        self.pipe, self.data, self.marks = pipe, bytearray(), []  # marks: (t, end offset)
        self.th = threading.Thread(target=self.pump, daemon=True)
        self.th.start()

    def pump(self):
        fd = self.pipe.fileno()
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            self.data += b
            self.marks.append((time.perf_counter(), len(self.data)))

    def arrival(self, needle: bytes, start: int = 0):
        """perf_counter time at which the first `needle` at or after byte `start` had fully arrived."""
        i = self.data.find(needle, start)
        if i < 0:
            return None
        end = i + len(needle)
        return next(t for t, off in self.marks if off >= end)

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def run_child(cmd: list[str], timeout: int = 1800) -> dict:
    """Runs cmd holding the lock; peak RSS from wait4, pipes timestamped, other CPU use measured."""
    with locked():
        busy0, steal0 = cpu_jiffies()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = Stream(p.stdout), Stream(p.stderr)
        deadline = time.time() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                p.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        out.th.join()
        err.th.join()
        busy1, steal1 = cpu_jiffies()
        p.returncode = os.waitstatus_to_exitcode(status)
    child_cpu = ru.ru_utime + ru.ru_stime
    return {"rc": p.returncode, "out": out, "err": err, "t0": t0, "wall_s": wall, "peak_rss_bytes": ru.ru_maxrss * 1024,
            "child_cpu_s": child_cpu, "other_cpu_s": max(0.0, (busy1 - busy0) - child_cpu), "steal_s": steal1 - steal0}


TS = re.compile(r"^(\d+)\.(\d\d)\.(\d\d\d)\.(\d\d\d) ", re.M)


def log_seconds(line: str):
    """llama.cpp's log timestamp 'M.SS.mmm.uuu' (minutes.seconds.ms.us since start) in seconds."""
    m = TS.match(line)
    if not m:
        return None
    mi, s, ms, us = map(int, m.groups())
    return mi * 60 + s + ms / 1e3 + us / 1e6


WARN2 = b"For normal use cases, please use the standard llama-cli"


def parse_mtmd(child: dict) -> dict:
    """Timings of one llama-mtmd-cli run (with --perf -lv 4).

    ttft_ms: wall time from the arrival of its last start-up line (the "experimental CLI" warning,
    logged right before it loads the image) to the arrival of the newline it prints on stdout when
    eval_message returns (every chunk encoded and decoded, the first token's logits ready). Both
    pipes are written by the same log thread, so the two arrival times share its latency.
    encode_ms: sum of "mtmd batch encoding done in N ms" (vision tower + projector, every tile).
    preprocess_ms: log clock from that warning to the first "encoding mtmd batch" (image load,
    resize/slicing, tokenisation, the first text chunk). prefill_ms = ttft - encode - preprocess
    (all LLM prefill after the first tile: 64-token image batches, the text between tiles).
    llama_perf's "prompt eval time" is not used: in this build it spans the vision encodes too."""
    err, out = child["err"].text(), child["out"]
    lines = err.splitlines()
    enc = [int(x) for x in re.findall(r"mtmd batch encoding done in (\d+) ms", err)]
    dec = [int(x) for x in re.findall(r"image decoded \(batch \d+/\d+\) in (\d+) ms", err)]
    r = {"encode_batches": len(enc), "encode_ms": float(sum(enc)), "image_embd_decode_ms": float(sum(dec)),
         "visual_tokens": sum(int(x) for x in re.findall(r"decoding image batch \d+/\d+, n_tokens_batch = (\d+)", err))}
    m = re.search(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", err)
    if m:
        r["perf_prompt_eval_ms"], r["prompt_tokens"] = float(m.group(1)), int(m.group(2))
    m = re.search(r"\s eval time =\s*([\d.]+) ms /\s*(\d+) runs", err)
    if m:
        r["perf_eval_ms"], r["decode_runs"] = float(m.group(1)), int(m.group(2))
        r["decode_tok_s"] = r["decode_runs"] / (r["perf_eval_ms"] / 1e3) if r["decode_runs"] else None
    m = re.search(r"load time =\s*([\d.]+) ms", err)
    if m:
        r["perf_load_ms"] = float(m.group(1))
    t_warn = child["err"].arrival(WARN2)
    t_nl = out.arrival(b"\n")
    if t_warn is not None and t_nl is not None:
        r["ttft_ms"] = (t_nl - t_warn) * 1e3
        after = child["out"].data.find(b"\n") + 1
        t_tok = next((t for t, off in out.marks if off > after), None)
        if t_tok is not None:
            r["ttft_first_piece_ms"] = (t_tok - t_warn) * 1e3
    warn_ts = next((log_seconds(l) for l in lines if WARN2.decode() in l), None)
    enc_ts = next((log_seconds(l) for l in lines if "encoding mtmd batch" in l), None)
    if warn_ts is not None and enc_ts is not None:
        r["preprocess_ms"] = (enc_ts - warn_ts) * 1e3
    if "ttft_ms" in r and "preprocess_ms" in r:
        r["prefill_ms"] = r["ttft_ms"] - r["encode_ms"] - r["preprocess_ms"]
        if r.get("prompt_tokens"):
            r["prefill_tok_s"] = r["prompt_tokens"] / (r["prefill_ms"] / 1e3)
    r["text"] = out.text().strip()[-300:]
    return r


def bench(a, out: Path, pair: str, llm: Path, mmproj: Path, image: Path) -> dict:
    sys.path.insert(0, str(TOOLS))
    import make_gguf_pairs as mgp
    cli = mgp.llama_paths()["LLAMA_MTMD_CLI"]
    engines = {
        "llama-mtmd-cli": [cli, "-m", str(llm), "--mmproj", str(mmproj), "--image", str(image), "-p", PROMPT,
                           "-n", str(a.n_predict), "--temp", "0", "-t", str(a.threads),
                           # --perf: llama_perf timings at exit; -lv 4: libllama/libmtmd INFO lines (the
                           # per-batch "image decoded" lines and the perf block are logged at that level)
                           "--perf", "-lv", "4"]
                          # llama.cpp's built-in templates do not include LLaVA-1.5's "USER: <image>\n..."
                          # one (it aborts: "this custom template is not supported, try using --jinja")
                          + (["--jinja"] if pair == "llava15-qwen2-0.5b" else []),
        "vlm": [a.vlm, "describe", str(image), "--model", str(llm), "--mmproj", str(mmproj), "--prompt", PROMPT,
                "--max-tokens", str(a.n_predict), "--threads", str(a.threads), "--json"] + a.vlm_args.split(),
        "vlm divprune 0.25": [a.vlm, "describe", str(image), "--model", str(llm), "--mmproj", str(mmproj), "--prompt", PROMPT,
                              "--max-tokens", str(a.n_predict), "--threads", str(a.threads), "--json",
                              "--reducer", "divprune", "--keep-ratio", "0.25"] + a.vlm_args.split(),
    }
    runs: dict[str, list] = {k: [] for k in engines}
    logs = out / pair / "runs"
    logs.mkdir(exist_ok=True)
    for i in range(a.repeats):
        for name, cmd in engines.items():
            log(f"round {i + 1}/{a.repeats}: {name}")
            c = run_child(cmd)
            rc, so, se, rss, wall = c["rc"], c["out"].text(), c["err"].text(), c["peak_rss_bytes"], c["wall_s"]
            tag = name.replace(" ", "_")
            (logs / f"{tag}-{i + 1}.txt").write_text("$ " + " ".join(cmd) + f"\n[exit {rc}, wall {wall:.2f} s, "
                                                     f"ru_maxrss {rss} B]\n--- stdout ---\n{so}\n--- stderr ---\n{se}\n")
            rec = {"rc": rc, "wall_s": wall, "peak_rss_bytes": rss, "child_cpu_s": c["child_cpu_s"],
                   "other_cpu_s": c["other_cpu_s"], "steal_s": c["steal_s"]}
            if rc != 0:
                rec["error"] = "\n".join(se.strip().splitlines()[-5:])
                log(f"  FAILED rc={rc}: {rec['error']}")
            elif name == "llama-mtmd-cli":
                rec.update(parse_mtmd(c))
            else:
                j = json.loads(so.strip().splitlines()[-1])
                t = j["timings_ms"]
                rec.update({"visual_tokens": j["tokens"]["visual_after"], "visual_before": j["tokens"]["visual_before"],
                            "prompt_tokens": j["tokens"]["prompt"], "generated": j["tokens"]["generated"],
                            "encode_ms": t["encode"], "decode_media_ms": t["decode_media"], "reduce_ms": t["reduce"],
                            "prefill_ms": t["prefill"], "generate_ms": t["generate"], "total_ms": t["total"],
                            "load_ms": t.get("load"), "prefill_tok_s": j["throughput"]["prefill_tok_s"],
                            "decode_tok_s": j["throughput"]["decode_tok_s"],
                            "json_peak_rss_bytes": j["memory"]["peak_rss_bytes"],
                            "ttft_ms": t["decode_media"] + t["encode"] + t["reduce"] + t["prefill"],
                            "text": j.get("text", "")[-300:]})
                rec["kernel"] = {k: v for k, v in j.items() if "kernel" in k.lower() or "backend" in k.lower()} or None
                kl = [l for l in se.splitlines() if re.search(r"kernel|avx|amx|neon|accelerate", l, re.I)]
                if kl:
                    rec["kernel_log"] = kl[:5]
            runs[name].append(rec)
            if "ttft_ms" in rec:
                log(f"  ttft {rec['ttft_ms']:.0f} ms, encode {rec.get('encode_ms', 0):.0f} ms, prefill {rec.get('prefill_ms', 0):.0f} ms, "
                    f"visual {rec.get('visual_tokens')}, rss {rss / 2**20:.0f} MB, wall {wall:.1f} s, "
                    f"other processes' CPU {c['other_cpu_s']:.1f} s, steal {c['steal_s']:.1f} s")
    best = {}
    for name, rs in runs.items():
        ok = [r for r in rs if r["rc"] == 0 and "ttft_ms" in r]
        if not ok:
            best[name] = None
            continue
        b = dict(min(ok, key=lambda r: r["ttft_ms"]))
        for k, better in (("encode_ms", min), ("prefill_ms", min), ("prefill_tok_s", max), ("decode_tok_s", max),
                          ("peak_rss_bytes", min)):
            vals = [r[k] for r in ok if r.get(k) is not None]
            if vals:
                b[f"best_{k}"] = better(vals)
        b["n_ok"] = len(ok)
        best[name] = b
    return {"runs": runs, "best": best, "commands": {k: " ".join(v) for k, v in engines.items()}}


def cpu_info() -> dict:
    txt = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in txt.splitlines() if l.startswith("Model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in txt.splitlines() if l.startswith("Flags")), [])
    cpus = next((l.split(":", 1)[1].strip() for l in txt.splitlines() if l.startswith("CPU(s)")), "?")
    keep = [f for f in flags if f in ("avx", "avx2", "fma", "f16c") or f.startswith("avx512") or f.startswith("amx")]
    return {"model": model, "cpus": cpus, "simd_flags": keep, "amx": any(f.startswith("amx") for f in flags),
            "avx512": any(f.startswith("avx512") for f in flags), "avx2": "avx2" in flags, "kernel": platform.release()}


def fmt(x, nd=0):
    return "n/a" if x is None else f"{x:.{nd}f}"


def table(res: dict) -> str:
    b = res["best"]
    lines = ["| engine | visual tokens | encode ms | prefill ms | prefill tok/s | decode tok/s | TTFT ms | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in b.items():
        if r is None:
            lines.append(f"| {name} | failed | | | | | | |")
            continue
        vis = str(r.get("visual_tokens"))
        if name.startswith("vlm") and r.get("visual_before") != r.get("visual_tokens"):
            vis = f"{r['visual_tokens']} (of {r['visual_before']})"
        lines.append(f"| {name} | {vis} | {fmt(r.get('best_encode_ms'))} | {fmt(r.get('best_prefill_ms'))} | "
                     f"{fmt(r.get('best_prefill_tok_s'))} | {fmt(r.get('best_decode_tok_s'), 1)} | {fmt(r['ttft_ms'])} | "
                     f"{fmt(r.get('best_peak_rss_bytes', 0) / 2**20)} |")
    return "\n".join(lines)


def ratios(res: dict) -> list[str]:
    b = res["best"]
    ref = b.get("llama-mtmd-cli")
    out = []
    for name, target in (("vlm", 0.6), ("vlm divprune 0.25", 0.3)):
        r = b.get(name)
        if not ref or not r:
            out.append(f"- {name}: no ratio (a run failed)")
            continue
        q = r["ttft_ms"] / ref["ttft_ms"]
        verdict = "MET" if q <= target else "NOT met"
        out.append(f"- {name} / llama-mtmd-cli TTFT = {r['ttft_ms']:.0f} / {ref['ttft_ms']:.0f} ms = **{q:.3f}x** "
                   f"(target <= {target}x): {verdict}, margin {target - q:+.3f}x "
                   f"({'%.0f' % (target * ref['ttft_ms'] - r['ttft_ms'])} ms {'under' if q <= target else 'over'} the "
                   f"{target * ref['ttft_ms']:.0f} ms bound)")
    return out


def report(res: dict, cmdline: str) -> str:
    cpu, b = res["cpu"], res["best"]
    ref = b.get("llama-mtmd-cli") or {}
    parts = [f"Date: {res['date']}. CPU: {cpu['model']} ({cpu['cpus']} CPUs, {res['threads']} threads used; "
             f"AVX2 {'yes' if cpu['avx2'] else 'no'}, AVX-512 {'yes' if cpu['avx512'] else 'no'}, "
             f"AMX {'yes' if cpu['amx'] else 'no'}; SIMD flags: {' '.join(cpu['simd_flags'])}). Linux {cpu['kernel']}. "
             f"llama.cpp {res['convert'].get('llama_cpp_commit')} (llama-cpp-python {res['convert'].get('llama_cpp_python')} vendor tree).",
             "",
             f"Command: `{cmdline}`", "",
             "Engines, each run holding /tmp/vlm-build.lock, alternating, best of "
             f"{res['repeats']} (TTFT row = the run with the lowest TTFT; other columns each their best):", ""]
    for k, v in res["commands"].items():
        parts.append(f"- {k}: `{v}`")
    parts += ["", table(res), "", *ratios(res), ""]
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pair", default="smolvlm-256m", choices=PAIRS)
    ap.add_argument("--out", default="/tmp/bench-pairs")
    ap.add_argument("--steps", default="build,convert,image,bench")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-predict", type=int, default=32)
    ap.add_argument("--vlm", default=str(REPO / ".build-test/release/vlm"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--vlm-args", default="", help="extra arguments for both vlm runs, e.g. --vision-bf16")
    ap.add_argument("--append-doc", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = a.steps.split(",")
    (out / a.pair).mkdir(parents=True, exist_ok=True)
    res_file = out / a.pair / "results.json"
    res = json.loads(res_file.read_text()) if res_file.is_file() else {}
    if "build" in steps:
        with locked():
            res["build"] = step_build(out, a.pair, a.force)
    if "convert" in steps:
        res["convert"] = step_convert(out, a.pair, a.force)
    image = step_image(out)
    res["image"] = str(image)
    res["pair"] = a.pair
    res["hf_processor"] = hf_visual_tokens(out, a.pair, image)
    log(f"HF processor on {image.name}: {res['hf_processor']}")
    if "bench" in steps:
        d = out / a.pair
        res.update(bench(a, out, a.pair, d / "model-q8_0.gguf", d / "mmproj-f16.gguf", image))
        res["cpu"] = cpu_info()
        import hashlib
        vb = Path(a.vlm)
        res["vlm_binary"] = {"path": str(vb), "sha256": hashlib.sha256(vb.read_bytes()).hexdigest(),
                             "mtime": dt.datetime.fromtimestamp(vb.stat().st_mtime, dt.timezone.utc).isoformat()}
        res["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        res["threads"], res["repeats"], res["n_predict"] = a.threads, a.repeats, a.n_predict
        res["cmdline"] = "~/.cache/vlm/llama.cpp/venv/bin/python tools/bench_vs_mtmd.py " + " ".join(sys.argv[1:])
    res_file.write_text(json.dumps(res, indent=1))
    if "best" in res:
        print(report(res, res["cmdline"]))
        if a.append_doc:
            doc = REPO / "docs/PERFORMANCE.md"
            text = doc.read_text()
            if DOC_HEADING in text:
                raise SystemExit(f"{doc} already has '{DOC_HEADING}': edit it by hand")
            doc.write_text(text.rstrip("\n") + "\n\n" + DOC_HEADING + "\n\n" + report(res, res["cmdline"]))
    print(f"results: {res_file}")


if __name__ == "__main__":
    main()

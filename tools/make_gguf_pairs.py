#!/usr/bin/env python3
"""Converts the tiny Hugging Face VLM test fixtures (Tests/VisionTests/Fixtures/vlms/<family>) into
llama.cpp GGUF pairs with llama.cpp's own converter, and lists what came out.

    tools/build_llama_cpp.sh                      # once: builds llama.cpp, makes the venv
    ~/.cache/vlm/llama.cpp/venv/bin/python tools/make_gguf_pairs.py [OUT_DIR] [--family F ...]
        [--scratch DIR] [--run-cli] [--cli-only]

OUT_DIR (default /tmp/gguf-pairs) gets, per family:
    model-f32.gguf       convert_hf_to_gguf.py DIR --outtype f32
    mmproj-f32.gguf      convert_hf_to_gguf.py DIR --mmproj --outtype f32
    mmproj-f16.gguf      convert_hf_to_gguf.py DIR --mmproj --outtype f16
    mmproj-listing.txt   clip.* metadata and every tensor (name, ne, dtype) of each mmproj file
    model-listing.txt    the LLM's metadata (token arrays summarised) and tensors
    convert-*.log        each conversion's full log (with TRACE lines: HF name -> GGUF name, shapes)
    tensor-map-*.tsv     those TRACE lines as a table, with each tensor's dtype in the f32/f16 files
    tokenizer-check.txt  llama-tokenize on model-f32.gguf vs the fixture's tokenizer.json, a few strings
    cli.txt              (--run-cli) llama-mtmd-cli on the pair: command, exit code, output
    cli-verbose.txt      (--run-cli) the same run with -v (formatted prompt, slices, token counts)
and OUT_DIR/summary.json. Works from the llama.cpp source that tools/build_llama_cpp.sh
extracted (read from ~/.cache/vlm/llama.cpp/paths.env); never edits it.

Work-arounds, all from the outside and each logged as "[make_gguf_pairs] PATCH ..." where it fires
(the converter runs in a child: this file with --_convert, which patches `conversion` at import and
then runs convert_hf_to_gguf.py with runpy):
  * pre-tokenizer: the fixtures' tiny BPE vocabularies hash to nothing that get_vocab_base_pre()
    knows, which raises NotImplementedError. Only then, tokenizer.ggml.pre is chosen from the
    fixture's tokenizer.json: a bare ByteLevel(use_regex=true) pre-tokenizer is GPT-2's regex,
    llama.cpp's "gpt-2"; anything else gets "default" (logged as a guess).
  * text architecture: convert_hf_to_gguf.py has no text class for LlavaNext/LlavaOnevision/
    Idefics3/SmolVLM ...ForConditionalGeneration (real checkpoints name one in
    text_config.architectures; the fixtures do not). Only when get_model_class() refuses, the
    class registered for the text_config.model_type's own architecture is used
    (llama -> LlamaForCausalLM, qwen2 -> Qwen2ForCausalLM).
  * mmproj name map: the map is expanded for {bid} < vision block count, and qwen2vl's projector
    reuses {bid} ("visual.merger.mlp.{bid}" = mlp.0, mlp.2), so a depth-2 tower cannot map mlp.2.
    Only on that ValueError, the name is looked up in a 64-block map (mm.2.*).
  * mmproj of the llava families: convert_hf_to_gguf.py --mmproj refuses them (LlavaVisionModel
    handles pixtral only; LlavaNext/LlavaOnevision have no mmproj class). After recording that error
    the mmproj is made by llama.cpp's documented legacy route instead (docs/multimodal/llava.md:
    llava_surgery_v2.py + tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py), whose inputs
    (a CLIP/SigLIP vision dir, its config.json and a llava.projector file) this script writes
    itself; that script runs with the transformers 4.x overlay tools/build_llama_cpp.sh installs.
    Such files are marked "route: legacy" in the listing and in summary.json.
  * llama-mtmd-cli (--run-cli): the fixtures' chat templates are custom, so a failed plain run is
    retried once with --jinja; both are recorded.
See docs/MMPROJ-NOTES.md for what came out and why.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests/VisionTests/Fixtures/vlms"
FAMILIES = ["llava", "llava_next", "llava_onevision", "idefics3", "smolvlm", "gemma3", "qwen2_5_vl", "qwen3_vl"]
LLAVA_FAMILIES = {"llava", "llava_next", "llava_onevision"}
TEXT_ARCH_FOR_MODEL_TYPE = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}
HOME = Path(os.environ.get("VLM_LLAMA_CPP_HOME", Path.home() / ".cache/vlm/llama.cpp"))


def log(msg: str) -> None:
    print(f"[make_gguf_pairs] {msg}", file=sys.stderr, flush=True)


def llama_paths() -> dict[str, str]:
    env = HOME / "paths.env"
    if not env.is_file():
        raise SystemExit(f"{env} missing: run tools/build_llama_cpp.sh first")
    out = {}
    for line in env.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


# ----------------------------------------------------------------------------------------------
# child mode: patch `conversion`, then run convert_hf_to_gguf.py
# ----------------------------------------------------------------------------------------------

def choose_pre_tokenizer(dir_model: Path) -> tuple[str, str]:
    tj = json.loads((dir_model / "tokenizer.json").read_text())
    pre = tj.get("pre_tokenizer")
    if isinstance(pre, dict) and pre.get("type") == "ByteLevel" and pre.get("use_regex", True):
        return "gpt-2", f"tokenizer.json pre_tokenizer is {json.dumps(pre)}: GPT-2's regex = llama.cpp 'gpt-2'"
    return "default", f"tokenizer.json pre_tokenizer {json.dumps(pre)[:200]} not recognised: 'default' is a GUESS"


def converter_source() -> Path:
    """The llama.cpp source of LLAMA_CPP_SRC, put on sys.path with its gguf-py (child modes)."""
    src = Path(os.environ["LLAMA_CPP_SRC"])
    sys.path.insert(0, str(src))
    sys.path.insert(1, str(src / "gguf-py"))
    return src


def patch_pre_tokenizer(base, log=log) -> None:
    """Where llama.cpp does not know a tiny tokenizer's hash (get_vocab_base_pre raises), the
    pre-tokenizer choose_pre_tokenizer reads from tokenizer.json, logged as a PATCH."""
    orig_pre = base.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer):
        try:
            return orig_pre(self, tokenizer)
        except NotImplementedError as e:
            pre, why = choose_pre_tokenizer(Path(self.dir_model))
            log(f"PATCH pre-tokenizer: get_vocab_base_pre raised NotImplementedError({e}); using {pre!r} ({why})")
            return pre

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre


def child_convert(argv: list[str]) -> None:
    src = converter_source()
    import conversion
    from conversion import base

    patch_pre_tokenizer(base)

    orig_gmc = conversion.get_model_class
    text_fallback = os.environ.get("VLM_TEXT_ARCH_FALLBACK")

    def get_model_class(name, mmproj=False):
        try:
            cls = orig_gmc(name, mmproj)
        except NotImplementedError as e:
            if mmproj or not text_fallback:
                raise
            log(f"PATCH text arch: get_model_class({name!r}) raised NotImplementedError({e}); "
                f"using the class registered for {text_fallback!r}")
            cls = orig_gmc(text_fallback, mmproj)
        return traced(cls)

    # Tracing only (changes nothing): every HF tensor name the class's filter_tensors sees, what it
    # became, and what modify_tensors made of it (name, shape), as TSV lines in the conversion log.
    def traced(cls):
        orig_filter = cls.filter_tensors  # bound classmethod
        orig_modify = cls.modify_tensors

        def filter_tensors(_cls, item):
            out = orig_filter(item)
            print(f"TRACE-FILTER\t{item[0]}\t{out[0] if out else '(dropped)'}", file=sys.stderr)
            return out

        def modify_tensors(self, data_torch, name, bid):
            for new_name, data in orig_modify(self, data_torch, name, bid):
                print(f"TRACE-MODIFY\t{name}\t{list(data_torch.shape)}\t{new_name}\t{list(data.shape)}", file=sys.stderr)
                yield new_name, data

        cls.filter_tensors = classmethod(filter_tensors)
        cls.modify_tensors = modify_tensors
        return cls

    conversion.get_model_class = get_model_class

    # mmproj name maps are expanded for bid < the vision block count only, and some projector
    # tensors reuse {bid} for their own index (qwen2vl's "visual.merger.mlp.{bid}" holds mlp.0 and
    # mlp.2): a vision tower of depth 2 cannot map mlp.2. Only on that refusal, look the name up in
    # a map expanded to 64 blocks (the name is then what a deeper model gets).
    import gguf
    orig_map = base.ModelBase.map_tensor_name

    def map_tensor_name(self, name, try_suffixes=(".weight", ".bias")):
        try:
            return orig_map(self, name, try_suffixes)
        except ValueError as e:
            if self.model_arch != gguf.MODEL_ARCH.MMPROJ:
                raise
            n = int(getattr(self, "block_count", 0) or 0)
            new = gguf.get_tensor_name_map(self.model_arch, max(n, 64)).get_name(key=name, try_suffixes=try_suffixes)
            if new is None:
                raise
            log(f"PATCH name map: map_tensor_name raised ValueError({e}) with the map built for {n} blocks; "
                f"a 64-block map gives {new!r}")
            return new

    base.ModelBase.map_tensor_name = map_tensor_name

    import runpy
    conv = str(src / "convert_hf_to_gguf.py")
    sys.argv = [conv] + argv
    runpy.run_path(conv, run_name="__main__")


# ----------------------------------------------------------------------------------------------
# parent mode
# ----------------------------------------------------------------------------------------------

def run_logged(cmd: list[str], logfile: Path, env: dict | None = None, timeout: int = 3600) -> tuple[int, str]:
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout)
    logfile.write_text("$ " + " ".join(cmd) + "\n" + p.stdout + f"\n[exit {p.returncode}, {time.time() - t0:.1f} s]\n")
    return p.returncode, p.stdout


def last_error(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    for l in reversed(lines):
        if any(w in l for w in ("Error", "error", "Exception", "not supported", "raise")):
            return l.strip()
    return lines[-1].strip() if lines else "(no output)"


def materialise(family: str, scratch: Path) -> Path:
    src = FIXTURES / family
    dst = scratch / family / "hf"
    stamp = dst / ".vlm-materialised"
    want = json.dumps(sorted((f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in src.iterdir() if f.is_file()))
    if stamp.is_file() and stamp.read_text() == want:
        return dst
    if dst.exists():
        shutil.rmtree(dst)
    if (src / "weights.json").is_file():
        log(f"{family}: generating weights (tools/materialize_weights.py)")
        subprocess.run([sys.executable, str(REPO / "tools/materialize_weights.py"), str(src), str(dst)], check=True)
    else:
        shutil.copytree(src, dst)
    stamp.write_text(want)
    return dst


def convert(paths: dict, hf: Path, out: Path, logfile: Path, mmproj: bool, outtype: str, text_fallback: str | None):
    env = dict(os.environ, LLAMA_CPP_SRC=paths["LLAMA_CPP_SRC"])
    if text_fallback:
        env["VLM_TEXT_ARCH_FALLBACK"] = text_fallback
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_convert", "--", str(hf), "--outtype", outtype, "--outfile", str(out),
           "--model-name", hf.parent.name]
    if mmproj:
        cmd.insert(cmd.index("--outtype"), "--mmproj")
    if out.exists():
        out.unlink()
    rc, text = run_logged(cmd, logfile, env)
    patches = [l.split("PATCH ", 1)[1] for l in text.splitlines() if "[make_gguf_pairs] PATCH" in l]
    ok = rc == 0 and out.is_file()
    return {"ok": ok, "route": "convert_hf_to_gguf.py", "rc": rc, "log": str(logfile), "patches": patches,
            "error": None if ok else last_error(text)}


def legacy_llava_mmproj(paths: dict, family: str, hf: Path, work: Path, out_dir: Path) -> dict:
    """llama.cpp's legacy llava route (docs/multimodal/llava.md, LLaVA 1.6 steps 3-5), fed from our
    fixture: vision tower -> a stand-alone CLIPVisionModel/SiglipVisionModel dir; projector (+
    image_newline) -> llava.projector; then convert_image_encoder_to_gguf.py."""
    import torch
    from safetensors.torch import load_file, save_file

    cfg = json.loads((hf / "config.json").read_text())
    pre = json.loads((hf / "preprocessor_config.json").read_text())
    vc = dict(cfg["vision_config"])
    siglip = vc.get("model_type") == "siglip_vision_model"
    vit = work / "vit"
    if vit.exists():
        shutil.rmtree(vit)
    vit.mkdir(parents=True)
    sd = load_file(str(hf / "model.safetensors"))
    vision, proj = {}, {}
    for k, v in sd.items():
        if k.startswith("vision_tower."):
            rest = k[len("vision_tower."):]
            rest = rest[len("vision_model."):] if rest.startswith("vision_model.") else rest
            vision["vision_model." + rest] = v.contiguous()
        elif k.startswith("model.vision_tower."):
            rest = k[len("model.vision_tower."):]
            rest = rest[len("vision_model."):] if rest.startswith("vision_model.") else rest
            vision["vision_model." + rest] = v.contiguous()
        elif "multi_modal_projector." in k:
            proj[k[k.index("multi_modal_projector."):]] = v.float()
        elif k in ("image_newline", "model.image_newline"):
            proj["image_newline"] = v.float()
    save_file(vision, str(vit / "model.safetensors"))
    torch.save(proj, vit / "llava.projector")
    # the legacy script reads vision_feature_layer from this config's top level and the llava-1.6
    # keys (image_grid_pinpoints, mm_patch_merge_type, image_aspect_ratio) from the same dict when
    # --clip-model-is-vision is given (convert_image_encoder_to_gguf.py:146-151, 249-258, 316-332)
    vc["architectures"] = ["SiglipVisionModel" if siglip else "CLIPVisionModel"]
    vc["vision_feature_layer"] = cfg.get("vision_feature_layer", -2)
    if "image_grid_pinpoints" in cfg:
        vc["image_grid_pinpoints"] = cfg["image_grid_pinpoints"]
        vc["mm_patch_merge_type"] = "spatial_unpad"
        vc["image_aspect_ratio"] = "anyres"
    (vit / "config.json").write_text(json.dumps(vc, indent=1))
    script = Path(paths["LLAMA_CPP_SRC"]) / "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py"
    results = {}
    for outtype in ("f32", "f16"):
        od = work / f"legacy-{outtype}"
        shutil.rmtree(od, ignore_errors=True)
        cmd = [sys.executable, str(script), "-m", str(vit), "--llava-projector", str(vit / "llava.projector"),
               "--output-dir", str(od), "--clip-model-is-vision",
               "--image-mean", *map(str, pre["image_mean"]), "--image-std", *map(str, pre["image_std"])]
        if siglip:
            cmd.append("--clip-model-is-siglip")
        if outtype == "f32":
            cmd.append("--use-f32")
        logfile = out_dir / f"convert-mmproj-{outtype}-legacy.log"
        # transformers 4.x overlay first (see tools/build_llama_cpp.sh: the script uses
        # CLIPVisionModel.vision_model, gone in transformers 5), then this source's gguf-py
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([paths["LLAMA_CPP_LEGACY_SITE"],
                                                           str(Path(paths["LLAMA_CPP_SRC"]) / "gguf-py")]))
        rc, text = run_logged(cmd, logfile, env)
        produced = od / f"mmproj-model-{outtype}.gguf"
        ok = rc == 0 and produced.is_file()
        if ok:
            shutil.copy(produced, out_dir / f"mmproj-{outtype}.gguf")
        results[outtype] = {"ok": ok, "route": "legacy: convert_image_encoder_to_gguf.py", "rc": rc, "log": str(logfile),
                            "patches": [], "error": None if ok else last_error(text),
                            "inputs": {"vit_config": str(vit / "config.json"), "projector": str(vit / "llava.projector")}}
    return results


def fmt_value(field) -> str:
    import gguf
    t = field.types[0] if field.types else None
    if t == gguf.GGUFValueType.ARRAY:
        sub = field.types[-1]
        n = len(field.data)
        if sub == gguf.GGUFValueType.STRING:
            vals = [bytes(field.parts[i]).decode("utf-8", "replace") for i in field.data[:8]]
        else:
            vals = [field.parts[i].tolist()[0] for i in field.data[:64]]
        more = f" ... ({n} items)" if n > len(vals) else ""
        return f"[{sub.name}] {vals}{more}"
    if t == gguf.GGUFValueType.STRING:
        s = bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
        return repr(s if len(s) <= 300 else s[:300] + f"... ({len(s)} chars)")
    return f"{field.parts[field.data[0]].tolist()[0]!r} ({t.name if t else '?'})"


def listing(path: Path, tokens: bool) -> str:
    import gguf
    r = gguf.GGUFReader(str(path))
    lines = [f"# {path}  ({path.stat().st_size} bytes)", "## metadata"]
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        if not tokens and name.startswith("tokenizer.ggml.") and field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
            lines.append(f"{name} = <array of {len(field.data)} {field.types[-1].name}, not listed>")
            continue
        lines.append(f"{name} = {fmt_value(field)}")
    lines.append(f"## tensors ({len(r.tensors)}; shape in GGUF ne order)")
    for t in r.tensors:
        ne = [int(x) for x in t.shape]
        lines.append(f"{t.name:48s} ne={ne} {t.tensor_type.name}")
    return "\n".join(lines) + "\n"


def tensor_map(logfile: Path, ggufs: dict[str, Path]) -> str:
    """TSV from the TRACE lines of one convert_hf_to_gguf.py log: HF name (as stored) -> the name
    filter_tensors gave it -> GGUF name, torch shapes in and out, the GGUF ne, and the dtype the
    tensor got in each given GGUF file."""
    import gguf
    renamed: dict[str, str] = {}
    rows = []
    for line in logfile.read_text().splitlines():
        f = line.split("\t")
        if f[0] == "TRACE-FILTER" and len(f) == 3:
            renamed.setdefault(f[2], f[1])
        elif f[0] == "TRACE-MODIFY" and len(f) == 5:
            rows.append(f[1:])
    dtypes = {}
    for label, path in ggufs.items():
        if path.is_file():
            dtypes[label] = {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors}
    out = ["hf_name\tafter_filter_tensors\thf_shape\tgguf_name\tout_shape(torch)\tgguf_ne\t" + "\t".join(f"dtype[{k}]" for k in dtypes)]
    for name, in_shape, new_name, out_shape in rows:
        ne = list(reversed(json.loads(out_shape)))
        out.append("\t".join([renamed.get(name, name), name, in_shape, new_name, out_shape, str(ne)]
                             + [d.get(new_name, "(not in file)") for d in dtypes.values()]))
    return "\n".join(out) + "\n"


TOKENIZER_CHECK_TEXTS = ["What is in the picture?", "Hello world!  It's 2024, 3.14159 -- ok?\n\nNew  line\ttab",
                         "a red circle and a blue square", "<image>x<fake_token_around_image>y",
                         "  leading spaces, trailing  ", "\u00fcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e \U0001F680"]


def tokenizer_check(paths: dict, hf: Path, model: Path) -> tuple[int, str]:
    """The chosen tokenizer.ggml.pre against the fixture's own tokenizer.json: llama-tokenize on the
    LLM GGUF vs tokenizers' encode (no special tokens added), on a few strings. Returns (mismatches, text)."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(hf / "tokenizer.json"))
    lines, bad = [], 0
    for t in TOKENIZER_CHECK_TEXTS:
        want = tok.encode(t, add_special_tokens=False).ids
        p = subprocess.run([paths["LLAMA_TOKENIZE"], "-m", str(model), "-p", t, "--ids", "--no-bos", "--log-disable"],
                           capture_output=True, text=True)
        try:
            got = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            got = f"(llama-tokenize failed: rc {p.returncode}: {p.stderr.strip()[-200:]})"
        bad += got != want
        lines.append(f"{'OK  ' if got == want else 'DIFF'} {t!r}\n  tokenizers:     {want}\n  llama-tokenize: {got}")
    return bad, "\n".join(lines) + f"\n{bad} mismatches\n"


def run_cli(paths: dict, fam_out: Path, family: str) -> dict:
    """The brief's command first; when it fails, once more with --jinja (the fixtures' chat templates
    are custom, and llama-mtmd-cli without --jinja only knows its built-in templates). Both runs go
    to cli.txt."""
    fx = FIXTURES / family
    image = next((fx / n for n in ("image_a.png",) if (fx / n).is_file()), REPO / "Samples/shapes.png")
    base_cmd = [paths["LLAMA_MTMD_CLI"], "-m", str(fam_out / "model-f32.gguf"), "--mmproj", str(fam_out / "mmproj-f32.gguf"),
                "--image", str(image), "-p", "What is in the picture?", "-n", "16", "--temp", "0", "-t", "2"]
    runs, text = [], []
    for extra in ([], ["--jinja"]):
        cmd = base_cmd + extra
        t0 = time.time()
        try:
            # random-weight models print arbitrary bytes: decode with replacement
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600, stdin=subprocess.DEVNULL)
            rc, so, se = p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            rc = "timeout"
            so = (e.stdout or b"").decode("utf-8", "replace")
            se = (e.stderr or b"").decode("utf-8", "replace")
        dt = time.time() - t0
        text.append("$ " + " ".join(f"'{c}'" if " " in c else c for c in cmd)
                    + f"\n[exit {rc}, {dt:.1f} s]\n----- stdout -----\n{so}\n----- stderr -----\n{se}\n")
        # llama-mtmd-cli prints the generated text through common/log's worker thread, and at exit
        # some of it can be lost (seen: 13 of 47 bytes, or none): the -v run's perf lines below are
        # the reliable record of how many tokens were evaluated
        runs.append({"args": extra, "rc": rc, "seconds": round(dt, 1), "stdout": so.strip()[-2000:],
                     "stderr_tail": "\n".join(se.strip().splitlines()[-15:])})
        if rc == 0:
            break
    (fam_out / "cli.txt").write_text("\n".join(text))
    # the last variant once more with -v: the formatted prompt, slicing and per-chunk token counts
    cmd = base_cmd + runs[-1]["args"] + ["-v"]
    perf: list[str] = []
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600, stdin=subprocess.DEVNULL)
        text_v = p.stdout.decode("utf-8", "replace")
        (fam_out / "cli-verbose.txt").write_text("$ " + " ".join(cmd) + f"\n[exit {p.returncode}]\n" + text_v)
        perf = [l.split("llama_perf_context_print:", 1)[1].strip() for l in text_v.splitlines()
                if "llama_perf_context_print:" in l and "eval time" in l]
    except subprocess.TimeoutExpired:
        (fam_out / "cli-verbose.txt").write_text("$ " + " ".join(cmd) + "\n[timeout]\n")
    return {"image": str(image), "rc": runs[-1]["rc"], "runs": runs, "verbose_perf": perf}


def do_family(paths: dict, family: str, out: Path, scratch: Path, with_cli: bool) -> dict:
    fam_out = out / family
    fam_out.mkdir(parents=True, exist_ok=True)
    hf = materialise(family, scratch)
    cfg = json.loads((hf / "config.json").read_text())
    text_type = (cfg.get("text_config") or {}).get("model_type")
    fallback = TEXT_ARCH_FOR_MODEL_TYPE.get(text_type)
    res: dict = {"family": family, "hf_dir": str(hf), "architecture": cfg["architectures"][0]}
    log(f"{family}: LLM f32")
    res["model-f32"] = convert(paths, hf, fam_out / "model-f32.gguf", fam_out / "convert-model-f32.log", False, "f32", fallback)
    for outtype in ("f32", "f16"):
        log(f"{family}: mmproj {outtype}")
        res[f"mmproj-{outtype}"] = convert(paths, hf, fam_out / f"mmproj-{outtype}.gguf",
                                           fam_out / f"convert-mmproj-{outtype}.log", True, outtype, None)
    if family in LLAVA_FAMILIES and not (res["mmproj-f32"]["ok"] and res["mmproj-f16"]["ok"]):
        log(f"{family}: convert_hf_to_gguf.py --mmproj refused ({res['mmproj-f32']['error']}); legacy route")
        legacy = legacy_llava_mmproj(paths, family, hf, scratch / family, fam_out)
        for outtype in ("f32", "f16"):
            if not res[f"mmproj-{outtype}"]["ok"]:
                legacy[outtype]["convert_hf_to_gguf_error"] = res[f"mmproj-{outtype}"]["error"]
                res[f"mmproj-{outtype}"] = legacy[outtype]
    parts = []
    for outtype in ("f32", "f16"):
        f = fam_out / f"mmproj-{outtype}.gguf"
        r = res[f"mmproj-{outtype}"]
        if f.is_file() and r["ok"]:
            parts.append(f"### route: {r['route']}\n" + "".join(f"### PATCH {p}\n" for p in r["patches"]) + listing(f, tokens=False))
        else:
            parts.append(f"# {f}: NOT PRODUCED: {r['error']}\n")
    (fam_out / "mmproj-listing.txt").write_text("\n".join(parts))
    if res["mmproj-f32"]["ok"] and res["mmproj-f32"]["route"] == "convert_hf_to_gguf.py":
        (fam_out / "tensor-map-mmproj.tsv").write_text(tensor_map(
            fam_out / "convert-mmproj-f32.log", {"f32": fam_out / "mmproj-f32.gguf", "f16": fam_out / "mmproj-f16.gguf"}))
    if res["model-f32"]["ok"] and paths.get("LLAMA_TOKENIZE"):
        bad, text = tokenizer_check(paths, hf, fam_out / "model-f32.gguf")
        (fam_out / "tokenizer-check.txt").write_text(text)
        res["tokenizer_check_mismatches"] = bad
    if res["model-f32"]["ok"]:
        (fam_out / "tensor-map-model.tsv").write_text(tensor_map(
            fam_out / "convert-model-f32.log", {"f32": fam_out / "model-f32.gguf"}))
    m = fam_out / "model-f32.gguf"
    if res["model-f32"]["ok"]:
        (fam_out / "model-listing.txt").write_text(f"### route: {res['model-f32']['route']}\n"
                                                   + "".join(f"### PATCH {p}\n" for p in res["model-f32"]["patches"])
                                                   + listing(m, tokens=False))
    else:
        (fam_out / "model-listing.txt").write_text(f"# {m}: NOT PRODUCED: {res['model-f32']['error']}\n")
    if with_cli:
        if res["model-f32"]["ok"] and res["mmproj-f32"]["ok"]:
            log(f"{family}: llama-mtmd-cli")
            res["cli"] = run_cli(paths, fam_out, family)
        else:
            res["cli"] = {"rc": None, "skipped": "pair not produced"}
    return res


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_convert":
        rest = sys.argv[2:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        child_convert(rest)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="/tmp/gguf-pairs")
    ap.add_argument("--family", action="append", choices=FAMILIES, help="default: all")
    ap.add_argument("--scratch", default="/tmp/gguf-pairs-scratch", help="materialised HF copies and legacy-route inputs")
    ap.add_argument("--run-cli", action="store_true", help="also run llama-mtmd-cli on each pair (step 3)")
    ap.add_argument("--cli-only", action="store_true", help="only run llama-mtmd-cli on the pairs already in OUT_DIR")
    a = ap.parse_args()
    paths = llama_paths()
    out, scratch = Path(a.out), Path(a.scratch)
    out.mkdir(parents=True, exist_ok=True)
    summary_file = out / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    summary["llama_cpp"] = {"llama_cpp_python": paths.get("LLAMA_CPP_PYTHON_VERSION"), "commit": paths.get("LLAMA_CPP_COMMIT"),
                            "src": paths.get("LLAMA_CPP_SRC")}
    for family in a.family or FAMILIES:
        if a.cli_only:
            fam_out = out / family
            if (fam_out / "model-f32.gguf").is_file() and (fam_out / "mmproj-f32.gguf").is_file():
                log(f"{family}: llama-mtmd-cli")
                summary.setdefault(family, {"family": family})["cli"] = run_cli(paths, fam_out, family)
            else:
                summary.setdefault(family, {"family": family})["cli"] = {"rc": None, "skipped": "pair not produced"}
            summary_file.write_text(json.dumps(summary, indent=1))
            continue
        try:
            summary[family] = do_family(paths, family, out, scratch, a.run_cli)
        except Exception as e:  # one family's failure must not hide the others'
            log(f"{family}: FAILED: {type(e).__name__}: {e}")
            summary[family] = {"family": family, "error": f"{type(e).__name__}: {e}"}
        summary_file.write_text(json.dumps(summary, indent=1))
    for family in a.family or FAMILIES:
        r = summary[family]
        if "error" in r:
            print(f"{family:16s} ERROR {r['error']}")
            continue
        cols = []
        for k in ("model-f32", "mmproj-f32", "mmproj-f16"):
            if k not in r:
                continue
            x = r[k]
            cols.append(f"{k}:{'ok' if x['ok'] else 'FAIL'}{'(legacy)' if x['route'].startswith('legacy') else ''}")
        if "tokenizer_check_mismatches" in r:
            cols.append(f"tok-mismatch:{r['tokenizer_check_mismatches']}")
        if "cli" in r:
            cols.append("cli:" + ",".join(f"{' '.join(x['args']) or 'plain'}=rc{x['rc']}" for x in r["cli"].get("runs", [])))
        print(f"{family:16s} " + "  ".join(cols))
    print(f"summary: {summary_file}")


if __name__ == "__main__":
    main()

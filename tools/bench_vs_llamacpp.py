"""Decode and prefill of vlm against llama.cpp on the same GGUF files, same machine, same thread
count, in one run: the two engines alternate `--rounds` times, each taking the best of
`--repeats` runs inside its process, and the median over rounds is printed (issue 22, check 1).

  python3 tools/bench_vs_llamacpp.py [--threads 2] [--rounds 3] [--prompt-tokens 512]
      [--gen-tokens 128] [--vlm .build/release/vlm] [--paths best,avx2] [--models A.gguf,B.gguf]

llama.cpp is `llama-bench` from tools/build_llama_cpp.sh (the llama-cpp-python sdist's vendored
tree, built with the best flags for this machine: -march=native, or AVX-512 without AMX on AMX
CPUs, where ggml's AMX path dies with SIGILL). Default models: SmolLM2-135M-Instruct Q4_1 and
Gemma 3 270M Q4_K_M (scripts/setup.sh installs both), and the Qwen2-0.5B-shaped Q8_0 that
`tools/bench_vs_mtmd.py --pair llava15-qwen2-0.5b --steps build,convert` makes with llama.cpp's
own converter, when it exists. `--paths` runs vlm once per CPU path (VLM_CPU_PATH); `best` is
the path vlm picks by itself.

Each engine runs in its own child process; peak RSS is the child's (wait4). Prints the CPU, the
llama.cpp build flags and vlm's kernel path with every figure.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = Path(os.environ.get("VLM_MODELS", Path.home() / ".cache/vlm/models"))
DEFAULT_MODELS = [MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf", MODELS / "gemma-3-270m-q4_k_m.gguf",
                  Path("/tmp/bench-pairs/llava15-qwen2-0.5b/model-q8_0.gguf")]


def paths_env() -> dict:
    env = Path.home() / ".cache/vlm/llama.cpp/paths.env"
    if not env.is_file():
        sys.exit(f"{env} is missing: run tools/build_llama_cpp.sh first")
    return dict(line.strip().split("=", 1) for line in env.read_text().splitlines() if "=" in line)


def run_child(cmd: list, env: dict | None = None) -> tuple[str, int]:
    """Runs cmd; returns (stdout, peak RSS bytes of that child alone, from wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0); err.seek(0)
        if p.returncode != 0:
            sys.exit(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{err.read()[-2000:]}")
        return out.read(), usage.ru_maxrss * 1024


def llama_bench(binary: str, model: Path, a) -> dict:
    out, rss = run_child([binary, "-m", str(model), "-t", str(a.threads), "-p", str(a.prompt_tokens),
                          "-n", str(a.gen_tokens), "-r", str(a.repeats), "-o", "json"])
    rows = json.loads(out)
    pp = next(r for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)
    tg = next(r for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0)
    best = lambda r: max(r.get("samples_ts") or [r["avg_ts"]])  # best of -r, as vlm bench reports
    return {"prefill_tok_s": best(pp), "decode_tok_s": best(tg), "peak_rss_bytes": rss}


def vlm_bench(binary: str, model: Path, a, path: str) -> dict:
    env = dict(os.environ)
    if path != "best":
        env["VLM_CPU_PATH"] = path
    out, _ = run_child([binary, "bench", "--model", str(model), "--threads", str(a.threads),
                        "--prompt-tokens", str(a.prompt_tokens), "--gen-tokens", str(a.gen_tokens),
                        "--repeats", str(a.repeats), "--json"], env)
    return json.loads(out.strip().splitlines()[-1])


def cmake_flags(build_dir: Path) -> str:
    cache = build_dir / "CMakeCache.txt"
    if not cache.is_file():
        return "?"
    keep = ("GGML_NATIVE", "GGML_AVX512:", "GGML_AVX512_VNNI", "GGML_AVX512_BF16", "GGML_AMX_INT8", "GGML_OPENMP:")
    return " ".join(l.split(":")[0] + "=" + l.split("=")[-1] for l in cache.read_text().splitlines()
                    if l.startswith(keep) and not l.startswith("//"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="runs inside each engine per round; the best counts")
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--vlm", default=str(HERE.parent / ".build/release/vlm"))
    ap.add_argument("--paths", default="best")
    ap.add_argument("--models", default="")
    a = ap.parse_args()
    env = paths_env()
    models = [Path(m) for m in a.models.split(",") if m] or [m for m in DEFAULT_MODELS if m.is_file()]
    for m in DEFAULT_MODELS:
        if not a.models and not m.is_file():
            print(f"(skipping {m}: not built; see the docstring)")
    llama = env["LLAMA_BENCH"]
    paths = a.paths.split(",")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU {cpu}; {a.threads} threads; prompt {a.prompt_tokens}, decode {a.gen_tokens}; "
          f"{a.rounds} alternating rounds, medians")
    print(f"llama.cpp {env.get('LLAMA_CPP_COMMIT')} (llama-cpp-python {env.get('LLAMA_CPP_PYTHON_VERSION')}), "
          f"{cmake_flags(Path(llama).parent.parent)}")
    results = []
    for model in models:
        runs = {"llama": []}
        runs.update({p: [] for p in paths})
        for _ in range(a.rounds):
            runs["llama"].append(llama_bench(llama, model, a))
            for p in paths:
                runs[p].append(vlm_bench(a.vlm, model, a, p))
        med = lambda key, rs: statistics.median(r[key] for r in rs)
        lp, ld = med("prefill_tok_s", runs["llama"]), med("decode_tok_s", runs["llama"])
        print(f"\n{model.name}")
        print(f"  {'engine':34}{'prefill tok/s':>14}{'decode tok/s':>14}{'prefill x':>11}{'decode x':>10}")
        print(f"  {'llama.cpp':34}{lp:14.1f}{ld:14.1f}")
        for p in paths:
            vp, vd = med("prefill_tok_s", runs[p]), med("decode_tok_s", runs[p])
            label = f"vlm ({runs[p][0]['cpu_path']})"
            print(f"  {label:34}{vp:14.1f}{vd:14.1f}{vp / lp:10.2f}x{vd / ld:9.2f}x")
            results.append({"model": model.name, "path": runs[p][0]["cpu_path"], "llama_prefill": lp, "llama_decode": ld,
                            "vlm_prefill": vp, "vlm_decode": vd, "vlm_rss_mb": runs[p][-1]["peak_rss_bytes"] / 1e6,
                            "llama_rss_mb": runs["llama"][-1]["peak_rss_bytes"] / 1e6})
        print(f"  (vlm rounds decode: {[round(r['decode_tok_s'], 1) for r in runs[paths[0]]]}; "
              f"llama.cpp: {[round(r['decode_tok_s'], 1) for r in runs['llama']]})")
    print("\nJSON " + json.dumps(results))


if __name__ == "__main__":
    main()

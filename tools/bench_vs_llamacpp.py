"""Runs the same GGUF through llama.cpp (llama-cpp-python) and `vlm bench` in one run, on the
same prompt tokens and thread count, and prints throughput ratios and peak RSS (issue 3, check 4).

  .venv-ref/bin/python tools/bench_vs_llamacpp.py [--model PATH] [--threads 2]
      [--prompt-tokens 512] [--gen-tokens 128] [--repeats 3] [--vlm .build/release/vlm]

Each engine runs in its own child process so that peak RSS is its own (the llama.cpp child's
figure includes the Python interpreter, ~25 MB). Best of --repeats runs is reported for both.
Needs llama-cpp-python (pip install llama-cpp-python; it builds llama.cpp from source).
"""
import argparse, json, os, subprocess, sys

TEXT = ("The quick brown fox jumps over the lazy dog. Vision-language models read images as "
        "sequences of tokens, and most of those tokens can be dropped without changing the answer. ")

LLAMA_CHILD = r'''
import json, resource, sys, time
import numpy as np
from llama_cpp import Llama
model, threads, n_prompt, n_gen, repeats, text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
llm = Llama(model_path=model, n_ctx=n_prompt + n_gen + 8, n_threads=threads, n_threads_batch=threads,
            n_batch=n_prompt, n_ubatch=n_prompt, verbose=False)
unit = llm.tokenize(text.encode(), add_bos=False, special=False)
prompt = [unit[i % len(unit)] for i in range(n_prompt)]
best_p = best_d = float("inf")
for _ in range(repeats):
    llm.reset()
    t0 = time.perf_counter(); llm.eval(prompt); t1 = time.perf_counter()
    for _ in range(n_gen):
        # llama-cpp-python keeps only the last position's logits (logits_all=False), in the context.
        tok = int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))))
        llm.eval([tok])
    t2 = time.perf_counter()
    best_p, best_d = min(best_p, t1 - t0), min(best_d, t2 - t1)
print(json.dumps({"prefill_tok_s": n_prompt / best_p, "decode_tok_s": n_gen / best_d,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "version": __import__("llama_cpp").__version__}))
'''

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(os.environ.get("VLM_MODELS", os.path.expanduser("~/.cache/vlm/models")),
                                                    "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--vlm", default=os.path.join(here, "..", ".build", "release", "vlm"))
    a = ap.parse_args()

    llama = json.loads(subprocess.run([sys.executable, "-c", LLAMA_CHILD, a.model, str(a.threads), str(a.prompt_tokens),
                                       str(a.gen_tokens), str(a.repeats), TEXT],
                                      check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    vlm = json.loads(subprocess.run([a.vlm, "bench", "--model", a.model, "--threads", str(a.threads),
                                     "--prompt-tokens", str(a.prompt_tokens), "--gen-tokens", str(a.gen_tokens),
                                     "--repeats", str(a.repeats), "--json"],
                                    check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"model {os.path.basename(a.model)}, {a.threads} threads, prompt {a.prompt_tokens}, decode {a.gen_tokens}, "
          f"best of {a.repeats}; llama-cpp-python {llama['version']}")
    print(f"{'':18}{'llama.cpp':>12}{'vlm':>12}{'vlm/llama.cpp':>16}")
    for key, label in [("prefill_tok_s", "prefill tok/s"), ("decode_tok_s", "decode tok/s")]:
        print(f"{label:18}{llama[key]:12.1f}{vlm[key]:12.1f}{vlm[key] / llama[key]:15.2f}x")
    lr, vr = llama["peak_rss_bytes"] / 1e6, vlm["peak_rss_bytes"] / 1e6
    print(f"{'peak RSS MB':18}{lr:12.0f}{vr:12.0f}{vr / lr:15.2f}x")

if __name__ == "__main__":
    main()

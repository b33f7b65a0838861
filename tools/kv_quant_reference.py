"""An independent measurement of what each KV-cache format costs, for `vlm bench-kv` to be
checked against: the same experiment in PyTorch/transformers, with the formats simulated by
fake quantization (quantize, dequantize, store the result back in transformers' cache).

The experiment is bench-kv's: SmolLM2-135M-Instruct dequantized from the Q4_1 GGUF that vlm
runs, the first 1,500 tokens of "Summarize the following text.\\n\\n" + Samples/long-prompt.txt,
128 greedy steps with a float32 cache as the reference, every format fed the same tokens
(teacher forcing) and compared at each step: top-1 agreement and mean KL(p_f32 || p_format).

The formats follow the engine's definitions (the doc comments of Sources/VLMRuntime/KVCache):
- f16: every cached row rounded to float16;
- q8 / q4: llama.cpp's q8_0 / q4_0 blocks of 32 along each kv head's row of 64, float16 scale;
- kivi2: keys per channel over groups of 32 tokens, values per token over groups of 32
  channels, 2-bit asymmetric min-max with float16 min and scale; the most recent 128 tokens
  (and, with a sink, the first 32) in float16. A group is quantized once the cache holds
  sink + 32 * groups + 128 tokens, as the engine's GroupedStore does.
As in the engine, a forward pass reads its own new rows exact (the prefill attends to the
prompt at full precision) and only later steps read the stored, quantized past.

What it is for: if this simulation and bench-kv agree, bench-kv's figures are the formats'
cost on this model, not a defect of the engine's kernels. Compare it with bench-kv's default
`--activations exact` (transformers multiplies in float32). Results: docs/ACCURACY.md.

Run:  .build/release/vlm bench-kv --types f16 --json > /tmp/engine.json
      OMP_NUM_THREADS=2 .venv-ref/bin/python tools/kv_quant_reference.py --engine-json /tmp/engine.json
(without --engine-json it tokenizes the prompt itself, with transformers' GGUF tokenizer.)
"""
import argparse, json, os
import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("VLM_MODELS") or os.path.expanduser("~/.cache/vlm/models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
G = 32  # block / group size of every format


def f16(x):
    return x.half().float()


def q8_0(rows):
    """llama.cpp q8_0 along the last axis: d = amax/127 (float16), codes round(x/d)."""
    b = rows.reshape(*rows.shape[:-1], -1, G)
    d = f16(b.abs().amax(-1, keepdim=True) / 127)
    q = torch.where(d > 0, torch.round(b / d.clamp_min(1e-30)), torch.zeros_like(b)).clamp(-127, 127)
    return (q * d).reshape(rows.shape)


def q4_0(rows):
    """llama.cpp q4_0: m the value of largest magnitude (signed), d = m/-8 (float16, rounded
    away from zero as the engine does), codes round(x/d)+8 clamped to 0...15."""
    b = rows.reshape(*rows.shape[:-1], -1, G)
    idx = b.abs().argmax(-1, keepdim=True)
    m = torch.gather(b, -1, idx)
    d = m / -8
    dh = d.half().float()
    dh = torch.where(dh.abs() < d.abs(), torch.nextafter(dh.half(), (dh * 2).half()).float(), dh)
    safe = torch.where(dh == 0, torch.ones_like(dh), dh)
    q = torch.where(dh != 0, (torch.round(b / safe) + 8).clamp(0, 15), torch.full_like(b, 8))
    return ((q - 8) * dh).reshape(rows.shape)


def minmax2(x, dim):
    """2-bit asymmetric min-max over `dim`: min rounded down and scale up to float16, codes
    round((x - min)/scale) in 0...3."""
    lo = x.amin(dim, keepdim=True)
    hi = x.amax(dim, keepdim=True)
    mn = lo.half().float()
    mn = torch.where(mn > lo, torch.nextafter(mn.half(), torch.full_like(mn, -65504).half()).float(), mn)
    sc = ((hi - mn) / 3).half().float()
    sc = torch.where(sc * 3 + mn < hi, torch.nextafter(sc.half(), torch.full_like(sc, 65504).half()).float(), sc)
    safe = torch.where(sc > 0, sc, torch.ones_like(sc))
    code = torch.where(sc > 0, torch.round((x - mn) / safe).clamp(0, 3), torch.zeros_like(x))
    return mn + code * sc


def kivi_keys(k):
    """k: (heads, 32 tokens, dim): per channel over the group's tokens."""
    return minmax2(k, 1)


def kivi_values(v):
    """v: (heads, 32 tokens, dim): per token over groups of 32 channels."""
    b = v.reshape(*v.shape[:-1], -1, G)
    return minmax2(b, -1).reshape(v.shape)


# --perturb: every tensor is multiplied by (1 + PERTURB * standard normal noise) before it is
# quantized, to see how much the measurement itself moves under perturbations as small as the
# differences between two float32 implementations.
PERTURB = {"rel": 0.0, "gen": None}


def perturbed(x):
    if PERTURB["rel"] == 0:
        return x
    return x * (1 + PERTURB["rel"] * torch.randn(x.shape, generator=PERTURB["gen"]))


class Store:
    """One layer's cache as the format stores it: `full_k`/`full_v` hold the exact rows,
    `sk`/`sv` what a later step reads back."""

    def __init__(self, fmt, sink=0, residual=128):
        self.fmt, self.sink, self.residual = fmt, sink, residual
        self.full_k = self.full_v = self.sk = self.sv = None
        self.quantized = 0  # kivi: tokens after the sink already in groups

    def append(self, k, v):
        cat = lambda old, new: new if old is None else torch.cat([old, new], 2)
        self.full_k, self.full_v = cat(self.full_k, k), cat(self.full_v, v)
        # kivi2 keeps new rows (sink and residual) in float16 until whole groups leave the
        # residual; the per-token formats quantize every row as it arrives.
        quant = {"kivi2": f16, "f16": f16, "q8": q8_0, "q4": q4_0}[self.fmt]
        noise = (lambda x: x) if self.fmt == "kivi2" else perturbed  # kivi2's noise goes on its groups
        self.sk, self.sv = cat(self.sk, quant(noise(k))), cat(self.sv, quant(noise(v)))
        if self.fmt != "kivi2":
            return
        n = self.full_k.shape[2]
        while n - self.sink - self.quantized >= self.residual + G:
            a = self.sink + self.quantized
            self.sk[0, :, a:a + G] = kivi_keys(perturbed(self.full_k[0, :, a:a + G]))
            self.sv[0, :, a:a + G] = kivi_values(perturbed(self.full_v[0, :, a:a + G]))
            self.quantized += G


def run_format(model, prompt, tokens, ref_logits, fmt, sink):
    cache = DynamicCache(config=model.config)
    with torch.no_grad():
        out = model(input_ids=prompt, past_key_values=cache, use_cache=True)
    layers = cache.layers
    stores = [Store(fmt, sink=sink) for _ in layers]
    for s, layer in zip(stores, layers):
        s.append(layer.keys.clone(), layer.values.clone())
    logits = out.logits[0, -1]
    agree, kl = 0, 0.0
    for step in range(len(tokens)):
        ref = ref_logits[step]
        agree += int(logits.argmax() == ref.argmax())
        lp, lq = F.log_softmax(ref.double(), -1), F.log_softmax(logits.double(), -1)
        kl += float((lp.exp() * (lp - lq)).sum().clamp_min(0))
        if step + 1 == len(tokens):
            break
        n = layers[0].keys.shape[2]
        for s, layer in zip(stores, layers):
            layer.keys, layer.values = s.sk.clone(), s.sv.clone()
        with torch.no_grad():
            out = model(input_ids=tokens[step].view(1, 1), past_key_values=cache, use_cache=True)
        for s, layer in zip(stores, layers):
            s.append(layer.keys[:, :, n:].clone(), layer.values[:, :, n:].clone())
        logits = out.logits[0, -1]
    return agree / len(tokens), kl / len(tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompt-tokens", type=int, default=1500)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--formats", default="f16,q8,q4,kivi2,kivi2-nosink")
    ap.add_argument("--perturb", type=float, default=0.0, help="relative noise on the tensors before quantization (e.g. 1e-6)")
    ap.add_argument("--seed", type=int, default=1, help="seed of --perturb's noise")
    ap.add_argument("--engine-json", help="`vlm bench-kv --json` output: take its prompt token ids (transformers' GGUF "
                    "tokenizer splits whitespace runs differently from SmolLM2's tokenizer.json, which vlm follows) and "
                    "report whether the float32 greedy continuations agree")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    PERTURB["rel"], PERTURB["gen"] = a.perturb, torch.Generator().manual_seed(a.seed)
    model = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32).eval()
    model.config._attn_implementation = "eager"
    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    text = open(os.path.join(ROOT, "Samples/long-prompt.txt")).read()
    ids = tok("Summarize the following text.\n\n" + text, return_tensors="pt").input_ids[:, :a.prompt_tokens]
    engine = json.load(open(a.engine_json)) if a.engine_json else None
    if engine:
        ids = torch.tensor([engine["prompt_token_ids"]])
    assert ids.shape[1] == a.prompt_tokens

    cache = DynamicCache(config=model.config)
    ref_logits, tokens = [], []
    with torch.no_grad():
        out = model(input_ids=ids, past_key_values=cache, use_cache=True)
        for _ in range(a.gen_tokens):
            logits = out.logits[0, -1]
            ref_logits.append(logits.clone())
            nxt = logits.argmax()
            tokens.append(nxt)
            out = model(input_ids=nxt.view(1, 1), past_key_values=cache, use_cache=True)
    tokens = torch.stack(tokens)
    if engine:
        theirs = engine["reference_tokens"]
        same = next((i for i, (x, y) in enumerate(zip(theirs, tokens.tolist())) if x != y), min(len(theirs), len(tokens)))
        print(f"float32 greedy continuation: the same as vlm's for the first {same} of {len(tokens)} tokens")
    print(f"{a.prompt_tokens} prompt tokens, {a.gen_tokens} teacher-forced greedy steps (float32 reference)")
    print("| KV cache (simulated) | top-1 agreement with f32 | mean KL(f32 ‖ type) |\n|---|---:|---:|")
    for name in a.formats.split(","):
        fmt, sink = (name.split("-")[0], 0 if name.endswith("nosink") else 32)
        agree, kl = run_format(model, ids, tokens, ref_logits, fmt, sink)
        print(f"| {name} | {100 * agree:.1f}% | {kl:.5f} |", flush=True)


if __name__ == "__main__":
    main()

"""Builds random-initialised Qwen2.5-VL and Qwen3-VL models at the real widths of Qwen2.5-VL-3B and
Qwen3-VL-2B (few layers, tiny vocabulary) and records what Hugging Face transformers computes for
them in float32, so that the Swift families can be checked against transformers without torch in CI.

The weights are not committed. Every tensor is made by a fixed generator that the Swift tests
reimplement, and the fixture lists only its parameters (weights.json):
  seed = FNV-1a 64 of the tensor name's UTF-8 bytes (offset 0xcbf29ce484222325, prime 0x100000001b3);
  for flat (row-major) index i: x = seed + i; splitmix64(x) = z (all mod 2^64);
  u = ((z >> 56) - 128) / 128, in [-1, 0.9921875] (256 levels);
  value = float32(offset + scale * u) with scale a power of two (offset 0 for rank >= 2, so those
  values are exact in bfloat16; rank-1 norm weights have offset 1).
Tensor names are the keys transformers' save_pretrained writes to model.safetensors (for Qwen2.5-VL
that is the hub layout, `model.layers.*` and `visual.*`; for Qwen3-VL `model.language_model.*` and
`model.visual.*`); the tied lm_head is not saved and is not listed.

For each family it writes Tests/VisionTests/Fixtures/vlms/<qwen2_5_vl|qwen3_vl>/:
  config.json, generation_config.json (save_pretrained's), tokenizer.json, tokenizer_config.json,
  preprocessor_config.json, video_preprocessor_config.json, chat_template.jinja: a model directory
  that loads once model.safetensors is generated from weights.json;
  weights.json: the generator and, per tensor, name, shape, dtype (BF16 | F32), offset, scale, sum and
  abs_sum of the float32 values (exact: every value is a multiple of scale/128);
  image_a.png, image_b0.png, image_b1.png, video_0.png ... video_3.png: the exact input pixels;
  expected.json: per case (a: one non-square image, b: two images of different sizes, c: a 4-frame
  video, d: text only) the messages, rendered prompt, input_ids, grids, M-RoPE position ids and
  rope_deltas, pixel value statistics, the vision tower's patch embedding (Qwen3: plus the
  interpolated position embedding), merger output and (Qwen3) DeepStack features, last-position
  logits and 16 greedy tokens with their top-1 minus top-2 margins; Qwen2.5's window index;
  pixel_values_a.bin: case (a)'s pixel_values as little-endian float32, where under 1.5 MB.

Images go through transformers' own processor classes (Qwen2_5_VLProcessor / Qwen3VLProcessor and
the image processor transformers loads; without torchvision that is Qwen2VLImageProcessorPil). The
video processors of transformers need torchvision, so video frames are chosen at a size the
processor does not resize, and FrameVideoProcessor below does the rest of Qwen2VLVideoProcessor /
Qwen3VLVideoProcessor (normalise, pad to the temporal patch, patchify; it checks itself against the
image processor); the processor classes still expand the video tokens, the timestamps and
second_per_grid_ts. The scales are tried in order until greedy decoding is far from ties and not
degenerate (as make_tiny_vlms tries seeds); the chosen ones are recorded in weights.json.

Run: /work/venv-ref/bin/python tools/make_qwen_vl_fixtures.py [qwen2_5_vl|qwen3_vl ...]
(needs torch, transformers 5.23, tokenizers, pillow, numpy, safetensors; about 70 s, 1 thread, 3 GB)
"""
import json, math, os, shutil, sys, tempfile, time
import numpy as np
import torch
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
import transformers
from transformers import PreTrainedTokenizerFast, Qwen2VLImageProcessorPil
from transformers.image_processing_utils import BatchFeature
from transformers.video_processing_utils import VideoProcessorMixin
from transformers.video_utils import VideoMetadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_vlms import greedy, GREEDY  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "vlms")
IMAGE = os.path.join(ROOT, "Samples", "shapes.png")
SAMPLE = 256               # values in each strided sample
PIXEL_BIN_LIMIT = 1_500_000  # bytes; case (a)'s pixel_values.bin is written only below this
MARGIN = 2e-3              # the Swift tests compare greedy tokens up to the first margin below this

# ---------------------------------------------------------------------------------------------
# Chat templates (the published ones) and the tiny tokenizer

TEMPLATES = {
    # Qwen/Qwen2-VL-*-Instruct and Qwen/Qwen2.5-VL-*-Instruct
    "qwen2_5_vl": "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    # Qwen/Qwen3-VL-*-Instruct
    "qwen3_vl": """{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- macro render_content(content, do_vision_count) %}
    {%- if content is string %}
        {{- content }}
    {%- else %}
        {%- for item in content %}
            {%- if 'image' in item or 'image_url' in item or item.type == 'image' %}
                {%- if do_vision_count %}
                    {%- set image_count.value = image_count.value + 1 %}
                {%- endif %}
                {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                <|vision_start|><|image_pad|><|vision_end|>
            {%- elif 'video' in item or item.type == 'video' %}
                {%- if do_vision_count %}
                    {%- set video_count.value = video_count.value + 1 %}
                {%- endif %}
                {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                <|vision_start|><|video_pad|><|vision_end|>
            {%- elif 'text' in item %}
                {{- item.text }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {{- render_content(messages[0].content, false) + '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\\n' + render_content(messages[0].content, false) + '<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" %}
        {%- set content = render_content(message.content, false) %}
        {%- if not(content.startswith('<tool_response>') and content.endswith('</tool_response>')) %}
            {%- set ns.multi_step_tool = false %}
            {%- set ns.last_query_index = index %}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = render_content(message.content, True) %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
""",
}

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]

QUESTIONS = {"a": "What is in the picture?", "b": "Compare the two pictures.",
             "c": "Describe the video.", "d": "Name three shapes and their colours."}

CORPUS = [
    "system\nYou are a helpful assistant.\nuser\nWhat is in the picture?\nassistant\nA red circle and a blue square.",
    "Compare the two pictures. The first one shows a red circle, the second one a blue square on white.",
    "Describe the video. <0.2 seconds> <1.2 seconds> <0.3 seconds> <1.3 seconds> The shapes move to the right.",
    "Name three shapes and their colours: a red circle, a blue square, a green triangle, a yellow star.",
    "Picture 1: Picture 2: Video 1: How many objects are there? Two. Three. Four. Which colour is the star?",
] * 20


def make_tokenizer(directory):
    """A byte-level BPE of about 400 tokens with Qwen's special tokens (ids 0..7), no BOS."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=None, eos_token="<|im_end|>", unk_token=None,
                                   pad_token="<|endoftext|>")
    fast.add_bos_token = False
    fast.save_pretrained(directory)
    path = os.path.join(directory, "tokenizer_config.json")
    cfg = json.load(open(path))
    cfg["add_bos_token"] = False  # what the Swift loader reads
    json.dump(cfg, open(path, "w"), indent=1)
    return fast


# ---------------------------------------------------------------------------------------------
# The weight generator

M64 = (1 << 64) - 1


def fnv1a64(name):
    h = 0xcbf29ce484222325
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x100000001b3) & M64
    return h


def generator_levels(name, n, start=0):
    """k = (splitmix64(seed + i) >> 56) - 128 for i in [start, start + n), as int64 in [-128, 127]."""
    with np.errstate(over="ignore"):
        x = np.arange(start, start + n, dtype=np.uint64) + np.uint64(fnv1a64(name))
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(56)).astype(np.int64) - 128


def generate(name, shape, offset, scale):
    """The float32 tensor and the exact float64 sum and abs_sum of its values."""
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    total = abs_total = 0.0
    chunk = 1 << 22
    for s in range(0, n, chunk):
        k = generator_levels(name, min(chunk, n - s), s)
        v = offset + scale * (k.astype(np.float64) / 128.0)
        out[s:s + len(k)] = v.astype(np.float32)
        assert np.array_equal(out[s:s + len(k)].astype(np.float64), v), name  # exact in float32
        total += float(v.sum())   # partial sums are multiples of scale/128 far below 2^53 of them: exact
        abs_total += float(np.abs(v).sum())
    return out.reshape(shape), total, abs_total


def pow2_near(x):
    return 2.0 ** round(math.log2(x))


def tensor_spec(name, shape, knobs):
    """(offset, scale, dtype) of one tensor. Linear and conv weights: the power of two nearest to
    sqrt(3 / fan_in) (a uniform of that half-width keeps the variance), times 2**knobs['linear']
    (text q_proj / k_proj: times 2**knobs['qk_proj'] more); the token embedding (also the tied
    lm_head) and Qwen3's position table have their own scale; rank 1: norm weights around 1
    (Qwen3's q_norm / k_norm around knobs['qk_norm']) with scale knobs['norm'], biases around 0 with
    scale knobs['bias']."""
    if len(shape) == 1:
        if name.endswith(("q_norm.weight", "k_norm.weight")):  # Qwen3's per-head query / key RMSNorm
            return knobs.get("qk_norm", 1.0), knobs["norm"], "F32"
        if name.endswith(".weight"):  # RMSNorm / LayerNorm weights
            return 1.0, knobs["norm"], "F32"
        return 0.0, knobs["bias"], "F32"
    if "embed_tokens" in name:
        return 0.0, knobs["embed"], "BF16"
    if "pos_embed" in name:
        return 0.0, knobs["pos_embed"], "BF16"
    fan_in = int(np.prod(shape[1:]))
    extra = knobs.get("qk_proj", 0) if name.endswith(("q_proj.weight", "k_proj.weight")) else 0
    return 0.0, pow2_near(math.sqrt(3.0 / fan_in)) * 2.0 ** (knobs["linear"] + extra), "BF16"


# Tried in order until greedy decoding passes `healthy` on every case of the family. The first entry
# of each list was picked by hand from a sweep over these knobs. At the variance-keeping scale
# (linear 0) both stacks decode one repeated token: the tied embedding makes the input token the
# likeliest output unless the layers transform it strongly, so the linear weights are doubled, and
# attention is sharpened (Qwen2.5: query / key weights doubled again; Qwen3, whose q_norm / k_norm
# cancel that: q_norm / k_norm weights around 3 instead of 1).
_BASE = {"embed": 2.0 ** -2, "pos_embed": 2.0 ** -2, "linear": 1, "norm": 2.0 ** -4, "bias": 2.0 ** -6}
KNOB_TRIES = {
    "qwen2_5_vl": [dict(_BASE, qk_proj=1), dict(_BASE, embed=2.0 ** -3, linear=2),
                   dict(_BASE, embed=2.0 ** -3, qk_proj=2)],
    "qwen3_vl": [dict(_BASE, qk_norm=3.0), dict(_BASE, embed=2.0 ** -3, qk_norm=2.0),
                 dict(_BASE, embed=2.0 ** -3, linear=2, qk_norm=2.0)],
}


def saved_names(model, directory):
    """{name save_pretrained writes: model parameter name}, found by filling parameter j with j."""
    params = dict(model.named_parameters())  # tied parameters appear once
    names = list(params)
    with torch.no_grad():
        for j, n in enumerate(names):
            params[n].fill_(float(j))
    model.save_pretrained(directory)
    from safetensors import safe_open
    mapping = {}
    with safe_open(os.path.join(directory, "model.safetensors"), "pt") as f:
        for key in f.keys():
            t = f.get_tensor(key)
            j = int(t.reshape(-1)[0])
            assert torch.all(t == j) and tuple(t.shape) == tuple(params[names[j]].shape), key
            mapping[key] = names[j]
    assert sorted(mapping.values()) == sorted(names), "every parameter is saved exactly once"
    os.remove(os.path.join(directory, "model.safetensors"))
    return mapping


def load_weights(model, mapping, knobs):
    """Generates every saved tensor, loads them (strict; the tied lm_head takes the embedding) and
    returns the weights.json entries."""
    entries, state = [], {}
    for key in sorted(mapping):
        shape = tuple(model.get_parameter(mapping[key]).shape)
        offset, scale, dtype = tensor_spec(key, shape, knobs)
        values, total, abs_total = generate(key, shape, offset, scale)
        state[mapping[key]] = torch.from_numpy(values)
        entries.append({"name": key, "module": mapping[key], "shape": list(shape), "dtype": dtype,
                        "offset": offset, "scale": scale, "sum": total, "abs_sum": abs_total})
    sd_keys = set(model.state_dict().keys())
    for missing in sorted(sd_keys - set(state)):  # tied weights: save_pretrained omits them
        tied = model.get_parameter(missing)
        source = [n for n, p in model.named_parameters() if p is tied]
        assert missing == "lm_head.weight" and model.config.tie_word_embeddings and source, missing
        state[missing] = state[source[0]]
    model.load_state_dict(state, strict=True)
    model.eval()
    return entries


# ---------------------------------------------------------------------------------------------
# Families

FAMILIES = {
    "qwen2_5_vl": dict(
        image_processor=dict(size={"shortest_edge": 3136, "longest_edge": 12845056}, patch_size=14,
                             temporal_patch_size=2, merge_size=2,
                             image_mean=[0.48145466, 0.4578275, 0.40821073],
                             image_std=[0.26862954, 0.26130258, 0.27577711]),
        # As the checkpoint loads it: its preprocessor_config.json's min/max pixels, no frame sampling.
        video=dict(size={"shortest_edge": 3136, "longest_edge": 12845056}, fps=2.0, do_sample_frames=False,
                   min_frames=4, max_frames=768, video_processor_type="Qwen2VLVideoProcessor"),
        frame_size=(168, 112)),  # W x H, multiples of 28: not resized
    "qwen3_vl": dict(
        image_processor=dict(size={"shortest_edge": 65536, "longest_edge": 16777216}, patch_size=16,
                             temporal_patch_size=2, merge_size=2, image_mean=[0.5, 0.5, 0.5],
                             image_std=[0.5, 0.5, 0.5]),
        # Qwen3-VL-2B-Instruct's video_preprocessor_config.json
        video=dict(size={"shortest_edge": 4096, "longest_edge": 25165824}, fps=2.0, do_sample_frames=True,
                   min_frames=4, max_frames=768, video_processor_type="Qwen3VLVideoProcessor"),
        frame_size=(192, 128)),  # multiples of 32: not resized
}


def build(family, tok):
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    common = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
                  tie_word_embeddings=True)
    text = dict(vocab_size=len(tok), hidden_size=2048, num_hidden_layers=2, num_attention_heads=16,
                head_dim=128, rms_norm_eps=1e-6, bos_token_id=ids["<|endoftext|>"],
                eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    if family == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig as C, Qwen2_5_VLForConditionalGeneration as M, Qwen2_5_VLProcessor as P
        del text["head_dim"]  # Qwen2.5-VL text derives it: 2048 / 16 = 128
        text.update(intermediate_size=11008, num_key_value_heads=2, max_position_embeddings=128000,
                    rope_parameters={"rope_type": "default", "mrope_section": [16, 24, 24], "rope_theta": 1000000.0})
        vision = dict(depth=2, hidden_size=1280, intermediate_size=3420, num_heads=16, hidden_act="silu",
                      patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                      fullatt_block_indexes=[1], tokens_per_second=2, out_hidden_size=2048, in_channels=3)
    else:
        from transformers import Qwen3VLConfig as C, Qwen3VLForConditionalGeneration as M, Qwen3VLProcessor as P
        text.update(intermediate_size=6144, num_key_value_heads=8, max_position_embeddings=262144,
                    attention_bias=False,
                    rope_parameters={"rope_type": "default", "mrope_interleaved": True,
                                     "mrope_section": [24, 20, 20], "rope_theta": 5000000.0})
        vision = dict(depth=3, hidden_size=1024, intermediate_size=4096, num_heads=16,
                      hidden_act="gelu_pytorch_tanh", patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                      num_position_embeddings=2304, out_hidden_size=2048, deepstack_visual_indexes=[0, 1],
                      in_channels=3)
    cfg = C(text_config=text, vision_config=vision, **common)
    for c in (cfg, cfg.text_config, cfg.vision_config):
        c._attn_implementation = "eager"
    torch.manual_seed(0)
    model = M(cfg)
    spec = FAMILIES[family]
    ip = Qwen2VLImageProcessorPil(**spec["image_processor"])
    vp = FrameVideoProcessor(family, ip, spec["video"])
    proc = make_processor(P, ip, tok, vp, TEMPLATES[family])
    return model, proc


def make_processor(P, ip, tok, vp, template):
    """The processor class with FrameVideoProcessor as its video processor. ProcessorMixin checks it
    against `transformers.VideoProcessorMixin`, which transformers exports only with torchvision, so
    the check is pointed at the class (video_processing_utils.VideoProcessorMixin) for the call."""
    from transformers import processing_utils
    module = processing_utils.transformers_module
    exported = hasattr(module, "VideoProcessorMixin")
    if not exported:
        setattr(module, "VideoProcessorMixin", VideoProcessorMixin)
    try:
        return P(image_processor=ip, tokenizer=tok, video_processor=vp, chat_template=template)
    finally:
        if not exported:
            delattr(module, "VideoProcessorMixin")


class FrameVideoProcessor(VideoProcessorMixin):
    """Qwen2VLVideoProcessor / Qwen3VLVideoProcessor (transformers 5.23) for frames the processor does
    not resize (checked with transformers' smart_resize): frame selection (Qwen3 samples at `fps` as
    its sample_frames does; Qwen2.5 does not sample), rescale and normalise (the image processor's own
    methods), the last frame repeated to a multiple of temporal_patch_size, and the patchify of
    video_processing_qwen2_vl.py / video_processing_qwen3_vl.py: rows of C*T*P*P values ordered
    (grid_t, block_row, block_col, in_row, in_col), inner order (c, t, py, px)."""

    def __init__(self, family, image_processor, spec):
        super().__init__()
        self.family, self.ip, self.spec = family, image_processor, spec
        self.patch_size = image_processor.patch_size
        self.temporal_patch_size = image_processor.temporal_patch_size
        self.merge_size = image_processor.merge_size
        self.fps = spec["fps"]

    def sample_indices(self, metadata):
        total = metadata.total_num_frames
        if not self.spec["do_sample_frames"]:
            return list(range(total)) if metadata.frames_indices is None else list(metadata.frames_indices)
        n = int(total / metadata.fps * self.fps)  # Qwen3VLVideoProcessor.sample_frames
        n = min(max(n, self.spec["min_frames"]), self.spec["max_frames"], total)
        return np.linspace(0, total - 1, n).round().astype(int).tolist()

    def check_not_resized(self, t, h, w):
        f = self.patch_size * self.merge_size
        lo, hi = self.spec["size"]["shortest_edge"], self.spec["size"]["longest_edge"]
        if self.family == "qwen2_5_vl":
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
            got = smart_resize(h, w, factor=f, min_pixels=lo, max_pixels=hi)
        else:
            from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize
            got = smart_resize(t, h, w, temporal_factor=self.temporal_patch_size, factor=f, min_pixels=lo, max_pixels=hi)
        assert tuple(got) == (h, w), f"frames {w}x{h} would be resized to {got}: FrameVideoProcessor cannot"

    def frames_to_patches(self, frames):
        ip = self.ip
        arrays = []
        for frame in frames:
            x = np.asarray(frame.convert("RGB")).transpose(2, 0, 1)  # CHW uint8
            x = ip.rescale(x, ip.rescale_factor)
            x = ip.normalize(x, ip.image_mean, ip.image_std)
            arrays.append(np.asarray(x, dtype=np.float32))
        v = np.stack(arrays)  # T C H W
        tp, p, m = self.temporal_patch_size, self.patch_size, self.merge_size
        if pad := -len(v) % tp:
            v = np.concatenate([v, np.repeat(v[-1:], pad, axis=0)])
        t, c, h, w = v.shape
        gt, gh, gw = t // tp, h // p, w // p
        x = v.reshape(gt, tp, c, gh // m, m, p, gw // m, m, p).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
        return np.ascontiguousarray(x.reshape(gt * gh * gw, c * tp * p * p)), [gt, gh, gw]

    def preprocess(self, videos, video_metadata=None, return_tensors=None, **kwargs):
        videos = videos if isinstance(videos[0], (list, tuple)) else [videos]
        metas = video_metadata if isinstance(video_metadata, (list, tuple)) else [video_metadata] * len(videos)
        rows, grids, out_meta = [], [], []
        for frames, meta in zip(videos, metas):
            meta = VideoMetadata(**meta) if isinstance(meta, dict) else meta
            indices = self.sample_indices(meta)
            meta = VideoMetadata(total_num_frames=meta.total_num_frames, fps=meta.fps, frames_indices=indices)
            picked = [frames[i] for i in indices]
            self.check_not_resized(len(picked), picked[0].height, picked[0].width)
            patches, grid = self.frames_to_patches(picked)
            rows.append(patches)
            grids.append(grid)
            out_meta.append(meta)
        return BatchFeature({"pixel_values_videos": torch.from_numpy(np.concatenate(rows)),
                             "video_grid_thw": torch.tensor(grids), "video_metadata": out_meta})

    def self_check(self, frame):
        """A clip of two copies of one frame must equal the image processor's output for that frame."""
        mine, _ = self.frames_to_patches([frame, frame])
        ref = self.ip(images=[frame], size=self.spec["size"], return_tensors="np")  # the video's pixel limits
        assert np.array_equal(mine, ref["pixel_values"]), "FrameVideoProcessor disagrees with the image processor"

    def config(self):
        s, ip = self.spec, self.ip
        return {"video_processor_type": s["video_processor_type"], "size": s["size"], "fps": s["fps"],
                "do_sample_frames": s["do_sample_frames"], "min_frames": s["min_frames"], "max_frames": s["max_frames"],
                "patch_size": self.patch_size, "temporal_patch_size": self.temporal_patch_size,
                "merge_size": self.merge_size, "do_resize": True, "resample": 3, "do_rescale": True,
                "rescale_factor": ip.rescale_factor, "do_normalize": True, "image_mean": list(ip.image_mean),
                "image_std": list(ip.image_std), "do_convert_rgb": True}


# ---------------------------------------------------------------------------------------------
# Inputs

def make_media(out, family):
    """Input images and frames cut from Samples/shapes.png (384x256), saved as PNG in the fixture."""
    src = Image.open(IMAGE).convert("RGB")
    images = {
        "image_a": src.resize((300, 200), Image.BICUBIC),          # Qwen2.5: 308x196 (11x7 merged), Qwen3: 320x224
        "image_b0": src.crop((0, 0, 192, 256)),                     # portrait, the red circle
        "image_b1": src.crop((192, 64, 384, 192)).resize((100, 70), Image.BICUBIC),  # small, the blue square
    }
    fw, fh = FAMILIES[family]["frame_size"]
    frames = [src.crop((16 * k, 8 * k, 16 * k + 288, 8 * k + 192)).resize((fw, fh), Image.BICUBIC)
              for k in range(4)]
    for name, im in images.items():
        im.save(os.path.join(out, name + ".png"))
    for k, im in enumerate(frames):
        im.save(os.path.join(out, f"video_{k}.png"))
    # Reload what Swift will read.
    images = {k: Image.open(os.path.join(out, k + ".png")).convert("RGB") for k in images}
    frames = [Image.open(os.path.join(out, f"video_{k}.png")).convert("RGB") for k in range(4)]
    return images, frames


# A 4-frame clip at 0.5 fps (an 8 s video sampled at its own rate). Qwen2.5: second_per_grid_ts =
# 2 / 0.5 = 4, temporal ids 0 and 8, further apart than the 4x6 merged grid is wide, so the case shows
# transformers 5.23's rule that the text after a vision block starts at start + max(h', w') whatever
# the temporal ids reach. Qwen3: timestamps 1.0 and 5.0 s (no ties in "%.1f").
VIDEO_METADATA = {"total_num_frames": 4, "fps": 0.5, "frames_indices": [0, 1, 2, 3]}


def cases(frames):
    return [
        ("a", [{"type": "image"}, {"type": "text", "text": QUESTIONS["a"]}], ["image_a"], None),
        ("b", [{"type": "image"}, {"type": "image"}, {"type": "text", "text": QUESTIONS["b"]}],
         ["image_b0", "image_b1"], None),
        ("c", [{"type": "video"}, {"type": "text", "text": QUESTIONS["c"]}], [], frames),
        ("d", [{"type": "text", "text": QUESTIONS["d"]}], [], None),
    ]


# ---------------------------------------------------------------------------------------------
# Recording

def f32(x):
    return float(str(np.float32(x)))  # shortest text that reads back as the same float32


def stats(t, n=SAMPLE):
    flat = t.detach().reshape(-1).to(torch.float32)
    count = flat.numel()
    stride = max(1, count // n)
    if stride > 1 and stride % 2 == 0:
        stride += 1  # odd, so the sample does not alias on power-of-two row widths
    idx = list(range(0, count, stride))[:n]
    return {"shape": list(t.shape), "sum": float(flat.double().sum()), "abs_sum": float(flat.double().abs().sum()),
            "sample": {"indices": idx, "values": [f32(v) for v in flat[idx].tolist()]}}


def vision_features(model, family, pixel_values, grid, video):
    """The merger output, DeepStack features and the hidden state entering block 0 before any window
    permutation (Qwen2.5: patch_embed's output; Qwen3: patch_embed + interpolated pos_embed)."""
    visual = model.model.visual
    captured = {}
    if family == "qwen2_5_vl":
        handle = visual.patch_embed.register_forward_hook(lambda m, a, o: captured.setdefault("embed", o.detach().clone()))
    else:
        def grab(module, args, kwargs):
            captured.setdefault("embed", (args[0] if args else kwargs["hidden_states"]).detach().clone())
        handle = visual.blocks[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        with torch.no_grad():
            fn = model.model.get_video_features if video else model.model.get_image_features
            out = fn(pixel_values, grid)
    finally:
        handle.remove()
    rec = {"patch_embed" if family == "qwen2_5_vl" else "patch_embed_plus_pos": stats(captured["embed"]),
           "merger": stats(torch.cat(list(out.pooler_output), 0))}
    if family == "qwen3_vl":
        rec["deepstack"] = [stats(torch.cat(list(f), 0)) for f in out.deepstack_features]
    return rec


def rope_rule(config, family, inputs):
    """The M-RoPE position ids as transformers 5.23's get_rope_index computes them, restated: text
    runs on from the current position in all three rows; a run of vision tokens of grid (t, h, w)
    (merged h' = h/2, w' = w/2; Qwen3 splits a video into t grids (1, h, w), one per timestamped
    frame group) gets T = start + int(i_t * interval), H = start + i_h, W = start + i_w, where interval
    = tokens_per_second * second_per_grid_t for a Qwen2.5 video and 1 otherwise; the next position is
    start + max(h', w'). rope_delta = max(all ids) + 1 - length."""
    types = inputs["mm_token_type_ids"][0].tolist()
    merge = config.vision_config.spatial_merge_size
    grids = {1: [g.tolist() for g in inputs.get("image_grid_thw", [])],
             2: [g.tolist() for g in inputs.get("video_grid_thw", [])]}
    intervals = [1.0] * len(grids[2])
    if family == "qwen2_5_vl" and "second_per_grid_ts" in inputs:
        intervals = [float(config.vision_config.tokens_per_second * torch.as_tensor(s, dtype=torch.float32))
                     for s in inputs["second_per_grid_ts"]]
    if family == "qwen3_vl":
        grids[2] = [[1, h, w] for t, h, w in grids[2] for _ in range(t)]
        intervals = [1.0] * len(grids[2])
    rows, cur, i, used = [[], [], []], 0, 0, {1: 0, 2: 0}
    while i < len(types):
        j = i
        while j < len(types) and types[j] == types[i]:
            j += 1
        if types[i] == 0:
            for r in rows:
                r.extend(range(cur, cur + j - i))
            cur += j - i
        else:
            t, h, w = grids[types[i]][used[types[i]]]
            interval = intervals[used[2]] if types[i] == 2 else 1.0
            used[types[i]] += 1
            for it in range(t):
                for ih in range(h // merge):
                    for iw in range(w // merge):
                        rows[0].append(cur + int(it * interval))
                        rows[1].append(cur + ih)
                        rows[2].append(cur + iw)
            cur += max(h, w) // merge
        i = j
    return rows, max(max(r) for r in rows) + 1 - len(types)


def window_info(model, grid):
    from transformers.vision_utils import get_vision_window_index
    v = model.config.vision_config
    index, cu = get_vision_window_index(grid, spatial_merge_size=v.spatial_merge_size, window_size=v.window_size,
                                        patch_size=v.patch_size)
    unit = v.window_size // v.spatial_merge_size // v.patch_size
    tiles = 0
    for t, h, w in grid.tolist():
        hh, ww = h // v.spatial_merge_size, w // v.spatial_merge_size
        tiles += t * ((hh + unit - hh % unit) // unit) * ((ww + unit - ww % unit) // unit)
    return {"merged_window": unit, "num_windows_tiled": tiles, "num_windows": len(cu) - 1,
            "cu_window_seqlens": cu.tolist(), "window_index": index.tolist()}


def prepare(proc, family, content, image_names, images, frames):
    messages = [{"role": "user", "content": content}]
    prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    kwargs = {}
    if image_names:
        kwargs["images"] = [images[n] for n in image_names]
    if frames is not None:
        kwargs["videos"] = [frames]
        kwargs["video_metadata"] = [VIDEO_METADATA]
        kwargs["return_metadata"] = True
    inputs = proc(text=[prompt], return_tensors="pt", **kwargs)
    return messages, prompt, inputs


def model_inputs(inputs):
    return {k: v for k, v in inputs.items() if k not in ("video_metadata",)}


def healthy(gen, margins):
    """Greedy decoding far from ties (every margin at least 5x the tests' threshold) and not degenerate."""
    return min(margins) >= 5 * MARGIN and len(set(gen)) >= 4


def safe_steps(gen, margins):
    """Steps before the first margin under 5x the threshold (0 if degenerate): the fallback's score."""
    if len(set(gen)) < 4:
        return 0
    return next((i for i, m in enumerate(margins) if m < 5 * MARGIN), len(margins))


def run_family(family):
    t0 = time.time()
    out = os.path.join(OUT, family)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tok = make_tokenizer(out)
    model, proc = build(family, tok)
    images, frames = make_media(out, family)
    proc.video_processor.self_check(frames[0])
    prepared = [(name, names, *prepare(proc, family, content, names, images, fr)) for name, content, names, fr
                in cases(frames)]

    with tempfile.TemporaryDirectory() as tmp:
        mapping = saved_names(model, tmp)
        for f in ("config.json", "generation_config.json"):
            if os.path.exists(os.path.join(tmp, f)):
                shutil.copy(os.path.join(tmp, f), os.path.join(out, f))
        tries = []
        for knobs in KNOB_TRIES[family]:
            entries = load_weights(model, mapping, knobs)
            results = {}
            for name, _, _, _, inputs in prepared:
                results[name] = greedy(model, model_inputs(inputs), tok.pad_token_id)
            ok = all(healthy(*r) for r in results.values())
            tries.append({"knobs": knobs, "ok": ok, "min_margins": {k: min(r[1]) for k, r in results.items()},
                          "distinct": {k: len(set(r[0])) for k, r in results.items()},
                          "safe_steps": {k: safe_steps(*r) for k, r in results.items()}})
            print(f"{family}: knobs {knobs} ok={ok} {tries[-1]['min_margins']} {tries[-1]['distinct']} "
                  f"({time.time() - t0:.0f}s)", flush=True)
            if ok:
                break
        if not ok:  # keep the try whose worst case decodes longest before a near-tie
            best = max(range(len(tries)), key=lambda i: min(tries[i]["safe_steps"].values()))
            knobs = tries[best]["knobs"]
            entries = load_weights(model, mapping, knobs)
            results = {name: greedy(model, model_inputs(inputs), tok.pad_token_id) for name, _, _, _, inputs in prepared}

    expected_cases = {}
    for name, image_names, messages, prompt, inputs in prepared:
        mi = model_inputs(inputs)
        ids = inputs["input_ids"]
        grids = {k: inputs[k] for k in ("image_grid_thw", "video_grid_thw") if k in inputs}
        rope_kwargs = dict(mm_token_type_ids=inputs["mm_token_type_ids"], attention_mask=inputs["attention_mask"],
                           image_grid_thw=grids.get("image_grid_thw"), video_grid_thw=grids.get("video_grid_thw"))
        if "second_per_grid_ts" in inputs:
            rope_kwargs["second_per_grid_ts"] = inputs["second_per_grid_ts"]
        if grids:
            pos, deltas = model.model.get_rope_index(ids, **rope_kwargs)
            pos, deltas = pos[:, 0].tolist(), int(deltas.reshape(-1)[0])
        else:  # text only: what generate uses, 1-D positions in all three rows
            pos, deltas = [list(range(ids.shape[1]))] * 3, 0
        assert (pos, deltas) == rope_rule(model.config, family, inputs), f"{family} {name}: position rule"
        with torch.no_grad():
            logits = model(**mi).logits[0, -1]
        gen, margins = results[name]
        rec = {"messages": messages, "prompt": prompt, "expanded_prompt": tok.decode(ids[0]), "question": QUESTIONS[name],
               "images": [n + ".png" for n in image_names],
               "input_ids": ids[0].tolist(), "num_tokens": ids.shape[1],
               "mm_token_type_ids": inputs["mm_token_type_ids"][0].tolist(),
               "position_ids": pos, "rope_deltas": deltas}
        if "pixel_values" in inputs:
            rec["image_grid_thw"] = inputs["image_grid_thw"].tolist()
            rec["pixel_values"] = stats(inputs["pixel_values"])
            rec["vision"] = vision_features(model, family, inputs["pixel_values"], inputs["image_grid_thw"], False)
            if family == "qwen2_5_vl":
                rec["window"] = window_info(model, inputs["image_grid_thw"])
        if "pixel_values_videos" in inputs:
            meta = inputs["video_metadata"][0]
            rec["video"] = {"frames": [f"video_{k}.png" for k in range(4)], "input_metadata": VIDEO_METADATA,
                            "frames_indices": [int(i) for i in meta.frames_indices], "fps": meta.fps,
                            "sampled_fps": meta.sampled_fps}
            if family == "qwen3_vl":
                rec["video"]["timestamps"] = proc._calculate_timestamps(list(meta.frames_indices), meta.fps,
                                                                        proc.video_processor.temporal_patch_size)
            rec["video_grid_thw"] = inputs["video_grid_thw"].tolist()
            rec["pixel_values_videos"] = stats(inputs["pixel_values_videos"])
            rec["vision"] = vision_features(model, family, inputs["pixel_values_videos"], inputs["video_grid_thw"], True)
            if family == "qwen2_5_vl":
                rec["window"] = window_info(model, inputs["video_grid_thw"])
        if "second_per_grid_ts" in inputs:
            rec["second_per_grid_ts"] = [float(x) for x in inputs["second_per_grid_ts"]]
        rec.update({"last_logits": [f32(x) for x in logits.tolist()], "greedy_ids": gen,
                    "greedy_margins": [f32(m) for m in margins], "min_greedy_margin": f32(min(margins)),
                    "greedy_text": tok.decode(gen)})
        expected_cases[name] = rec

    pv = prepared[0][4]["pixel_values"]
    pixel_bin = None
    if pv.numel() * 4 < PIXEL_BIN_LIMIT:
        pixel_bin = "pixel_values_a.bin"
        pv.numpy().astype("<f4").tofile(os.path.join(out, pixel_bin))

    # The rest of a loadable model directory.
    proc.image_processor.save_pretrained(out)
    json.dump(proc.video_processor.config(), open(os.path.join(out, "video_preprocessor_config.json"), "w"), indent=2)
    with open(os.path.join(out, "chat_template.jinja"), "w") as f:
        f.write(TEMPLATES[family])
    json.dump({"generator": "fnv1a64-splitmix64-int8",
               "formula": "value = float32(offset + scale * (((splitmix64(fnv1a64(name) + i) >> 56) - 128) / 128))",
               "test_vectors": test_vectors(entries[0]["name"]),
               "knobs": knobs, "scale_rule": " ".join(tensor_spec.__doc__.split()), "tries": tries,
               "tensors": entries},
              open(os.path.join(out, "weights.json"), "w"), indent=1)

    special = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    expected = {
        "family": family, "transformers": transformers.__version__, "torch": torch.__version__,
        "dtype": "float32", "attn_implementation": "eager",
        "processor_class": type(proc).__name__, "image_processor_class": type(proc.image_processor).__name__,
        "video_processor_class": "FrameVideoProcessor (tools/make_qwen_vl_fixtures.py; stands for "
                                 + FAMILIES[family]["video"]["video_processor_type"] + ", which needs torchvision)",
        "torchvision": None, "special_tokens": special, "vocab_size": len(tok),
        "pixel_values_bin": pixel_bin, "greedy_steps": GREEDY, "margin_threshold": MARGIN,
        "cases": expected_cases,
    }
    json.dump(expected, open(os.path.join(out, "expected.json"), "w"))
    del model
    check_loadable(out, family, prepared, expected_cases)
    size = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
    print(f"{family}: {size / 1024:.0f} KB in {time.time() - t0:.0f}s; knobs {knobs}")
    for k, r in expected_cases.items():
        print(f"  {k}: tokens={r['num_tokens']} grids={r.get('image_grid_thw') or r.get('video_grid_thw')} "
              f"min margin={r['min_greedy_margin']:.4f} greedy={r['greedy_ids']}")


def test_vectors(name):
    """Known answers for a reimplementation of the generator."""
    with np.errstate(over="ignore"):
        z = np.uint64(0x9E3779B97F4A7C15)  # splitmix64 of x = 0
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return {"fnv1a64('')": f"0x{fnv1a64(''):016x}", "fnv1a64('a')": f"0x{fnv1a64('a'):016x}",
            "splitmix64(0)": f"0x{int(z):016x}", "name": name, f"fnv1a64(name)": f"0x{fnv1a64(name):016x}",
            "levels(name, i=0..7)": generator_levels(name, 8).tolist()}


def check_loadable(out, family, prepared, expected_cases):
    """The fixture loads the way the Swift side will load it: model.safetensors written from
    weights.json alone (in a temporary folder) next to the fixture's config.json, read back with
    from_pretrained, gives the recorded logits exactly; the tokenizer, image processor and config
    load with transformers' Auto classes."""
    from transformers import AutoConfig, AutoTokenizer, AutoImageProcessor, AutoModelForImageTextToText
    from safetensors.numpy import save_file
    cfg = AutoConfig.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    ip = AutoImageProcessor.from_pretrained(out)
    assert cfg.model_type == family and cfg.text_config.vocab_size == len(tok), (cfg.model_type, len(tok))
    assert type(ip).__name__ == "Qwen2VLImageProcessorPil", type(ip).__name__
    manifest = json.load(open(os.path.join(out, "weights.json")))
    with tempfile.TemporaryDirectory() as tmp:
        tensors = {}
        for t in manifest["tensors"]:
            values, total, abs_total = generate(t["name"], tuple(t["shape"]), t["offset"], t["scale"])
            assert (total, abs_total) == (t["sum"], t["abs_sum"]), t["name"]
            tensors[t["name"]] = values
        save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        del tensors
        for f in ("config.json", "generation_config.json"):
            shutil.copy(os.path.join(out, f), tmp)
        model = AutoModelForImageTextToText.from_pretrained(tmp, attn_implementation="eager", dtype=torch.float32)
        model.eval()
        assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr(), "tied lm_head"
        for name, _, _, _, inputs in prepared:
            if name in ("a", "d"):
                with torch.no_grad():
                    logits = model(**model_inputs(inputs)).logits[0, -1]
                assert [f32(x) for x in logits.tolist()] == expected_cases[name]["last_logits"], f"reload {name}"


def main():
    os.makedirs(OUT, exist_ok=True)
    for family in sys.argv[1:] or list(FAMILIES):
        run_family(family)


if __name__ == "__main__":
    sys.exit(main())

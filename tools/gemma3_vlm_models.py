"""The Gemma 3 model, processor, inputs and weight rule of the parity fixture
(tools/make_gemma3_fixtures.py): google/gemma-3-4b-it's published chat template, a tiny byte-level
BPE with Gemma 3's special tokens, a config at gemma-3-4b-it's widths with 2 text and 2 vision
layers, transformers' Gemma3Processor, the cases' images, the scale rule of the generated weights
and the attention mask rule the fixture records."""
import math, os
import numpy as np
from PIL import Image
from tokenizers import processors

from make_tiny_vlms import save_fast_tokenizer, train_byte_level_bpe
from qwen_vl_weights import pow2_near

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SAMPLES = os.path.join(ROOT, "Samples")

# google/gemma-3-4b-it chat_template (the same text as tools/make_tokenizer_fixtures.py GEMMA3_TEMPLATE,
# which Tests/VLMRuntimeTests/Fixtures/chat_templates.json renders). The template writes <bos> itself.
TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
"""

# Ids 0..3 are gemma-3's own (<pad> 0, <eos> 1, <bos> 2, <unk> 3); the rest follow in this order.
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
            "<end_of_image>", "<image_soft_token>"]
IMAGE_TOKENS = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}
VOCAB = 400

QUESTIONS = {"a": "What is in the picture?", "b": "Compare the two pictures.",
             "c": "Name three shapes and their colours."}

CORPUS = [
    "user\nWhat is in the picture?\nmodel\nA red circle and a blue square.",
    "Compare the two pictures. The first one shows a red circle, the second one a blue square on white.",
    "Name three shapes and their colours: a red circle, a blue square, a green triangle, a yellow star.",
    "How many objects are there? Two. Three. Four. Which colour is the star? It is yellow.\n\n",
] * 20


def make_tokenizer(directory):
    """A byte-level BPE of 400 tokens with Gemma 3's special tokens. Like gemma-3-4b-it's tokenizer it
    adds <bos> itself (add_bos_token true, a TemplateProcessing post-processor) and names the image
    tokens as extra special tokens (Gemma3Processor reads tokenizer.boi_token, .eoi_token, .image_token)."""
    tok = train_byte_level_bpe(CORPUS, SPECIALS, VOCAB)
    bos = tok.token_to_id("<bos>")
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                       special_tokens=[("<bos>", bos)])
    return save_fast_tokenizer(tok, directory, "<bos>", "<eos>", pad_token="<pad>", unk_token="<unk>",
                               extra_special_tokens=dict(IMAGE_TOKENS))


def build(tok):
    """Gemma3ForConditionalGeneration at gemma-3-4b-it's widths (2 + 2 layers, eager, float32, eval)
    and its Gemma3Processor. sliding_window 128 is below the 256 soft tokens of an image, so the
    sliding layer's mask cuts through an image group. final_logit_softcapping is 30.0 although
    Gemma3ForConditionalGeneration never applies it (only Gemma3ForCausalLM does): a reader that
    capped the logits would fail the fixture."""
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessorPil, Gemma3Processor
    from transformers.image_utils import PILImageResampling
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    text = dict(vocab_size=len(tok), hidden_size=2560, intermediate_size=10240, num_hidden_layers=2,
                num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256,
                hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6, max_position_embeddings=131072,
                sliding_window=128, layer_types=["sliding_attention", "full_attention"],
                rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                 "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}},
                final_logit_softcapping=30.0, attn_logit_softcapping=None, tie_word_embeddings=True,
                pad_token_id=ids["<pad>"], bos_token_id=ids["<bos>"], eos_token_id=[ids["<eos>"], ids["<end_of_turn>"]])
    vision = dict(model_type="siglip_vision_model", hidden_size=1152, intermediate_size=4304, num_hidden_layers=2,
                  num_attention_heads=16, num_channels=3, image_size=896, patch_size=14, layer_norm_eps=1e-6,
                  hidden_act="gelu_pytorch_tanh", vision_use_head=False)
    cfg = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=256,
                       boi_token_index=ids["<start_of_image>"], eoi_token_index=ids["<end_of_image>"],
                       image_token_index=ids["<image_soft_token>"], tie_word_embeddings=True)
    for c in (cfg, cfg.text_config, cfg.vision_config):
        c._attn_implementation = "eager"
    torch.manual_seed(0)
    model = Gemma3ForConditionalGeneration(cfg).to(torch.float32).eval()
    # google/gemma-3-4b-it's preprocessor_config.json (pan-and-scan off, its default)
    ip = Gemma3ImageProcessorPil(size={"height": 896, "width": 896}, resample=PILImageResampling.BILINEAR,
                                 image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_pan_and_scan=False)
    proc = Gemma3Processor(image_processor=ip, tokenizer=tok, chat_template=TEMPLATE, image_seq_length=256)
    return model, proc


def make_media(out):
    """The cases' images, saved as PNG in the fixture and read back as the Swift side reads them:
    a: Samples/shapes.png (384x256, landscape); b0: its left half (192x256, portrait, the red circle);
    b1: a small crop (100x70, the blue square). Each is resized (bilinear) to 896x896."""
    src = Image.open(os.path.join(SAMPLES, "shapes.png")).convert("RGB")
    images = {"image_a": src,
              "image_b0": src.crop((0, 0, 192, 256)),
              "image_b1": src.crop((192, 64, 384, 192)).resize((100, 70), Image.BICUBIC)}
    for name, im in images.items():
        im.save(os.path.join(out, name + ".png"))
    return {k: Image.open(os.path.join(out, k + ".png")).convert("RGB") for k in images}


def cases():
    return [
        ("a", [{"type": "image"}, {"type": "text", "text": QUESTIONS["a"]}], ["image_a"]),
        ("b", [{"type": "image"}, {"type": "image"}, {"type": "text", "text": QUESTIONS["b"]}],
         ["image_b0", "image_b1"]),
        ("c", [{"type": "text", "text": QUESTIONS["c"]}], []),
    ]


# ---------------------------------------------------------------------------------------------
# Weights and the mask

def is_gemma_norm(name):
    """Gemma3RMSNorm weights, applied as x_hat * (1 + w): every rank-1 tensor of the text model and the
    projector's mm_soft_emb_norm. (SigLIP's LayerNorms are x_hat * w + b.)"""
    return name.startswith("language_model.") or name.endswith("mm_soft_emb_norm.weight")


def tensor_spec(name, shape, knobs):
    """(offset, scale, dtype) of one Gemma 3 tensor. Matrices: the power of two nearest sqrt(3 / fan_in)
    times 2**knobs['linear'] (fan_in is the product of the dims after the first, except for
    mm_input_projection_weight [1152, 2560], used as x @ W: fan_in 1152 = dim 0); the token
    embedding (also the tied lm_head) and SigLIP's position table have their own scales. Rank 1:
    Gemma3RMSNorm weights (text model, mm_soft_emb_norm) are applied as 1 + w, so they sit around 0
    (a gain of 1): offset 0, except q_norm / k_norm (gain knobs['qk_norm'], sharpening attention),
    post_attention_layernorm (gain knobs['post_attn']) and post_feedforward_layernorm (gain
    knobs['post_ffw']): the sizes of each block's residual updates (offset = gain - 1). SigLIP
    LayerNorm weights around 1; biases around 0. Rank-1 scales knobs['norm'] / knobs['bias'].
    Matrices are BF16 (exact: offset 0, power-of-two scale), rank 1 F32."""
    if len(shape) == 1:
        if is_gemma_norm(name):
            if name.endswith(("q_norm.weight", "k_norm.weight")):
                return knobs["qk_norm"] - 1.0, knobs["norm"], "F32"
            if name.endswith("post_attention_layernorm.weight"):
                return knobs["post_attn"] - 1.0, knobs["norm"], "F32"
            if name.endswith("post_feedforward_layernorm.weight"):
                return knobs["post_ffw"] - 1.0, knobs["norm"], "F32"
            return 0.0, knobs["norm"], "F32"
        if name.endswith(".weight"):
            return 1.0, knobs["norm"], "F32"
        return 0.0, knobs["bias"], "F32"
    if name.endswith("embed_tokens.weight"):
        return 0.0, knobs["embed"], "BF16"
    if name.endswith("position_embedding.weight"):
        return 0.0, knobs["pos_embed"], "BF16"
    fan_in = shape[0] if name.endswith("mm_input_projection_weight") else int(np.prod(shape[1:]))
    return 0.0, pow2_near(math.sqrt(3.0 / fan_in)) * 2.0 ** knobs["linear"], "BF16"


# Tried in order until greedy decoding is healthy on every case (hand-picked from sweeps on the three
# cases). Every Gemma block ends in an RMSNorm, so its residual update has RMS about that norm's gain
# (post_attn, post_ffw) whatever the linear scales. Against a tied embedding gains near 1 are not
# enough: the last position's own scaled embedding s*e stays in the residual, and its logit h_hat . e
# beats the others by about sqrt(2560) * rms(s*e) / rms(h), so every case decodes its last prompt
# token ("\n") forever; with a large attention gain alone it decodes one context-average token. A
# large MLP gain (64 against an embedding RMS of 0.9) gives varied, input-dependent tokens; an
# attention gain of 8 keeps the image, and so the bidirectional mask, visible in the last logits
# (with gain 1 the causal-only logits of case a differ by only 0.005); q_norm / k_norm gain 2
# sharpens attention. Sweep results (min margin a / b / c, causal-only diff of a):
# post_attn 8, post_ffw 64: 0.011 / 0.018 / 0.018, 0.47; 16, 128: 0.011 / 0.003 / 0.002;
# 32, 256: 0.025 / 0.008 / 0.002; 16, 64: 0.0001 (a repeats " blue"); qk_norm 3, 32, 128: 0.053 / 0.004.
_BASE = {"embed": 2.0 ** -5, "pos_embed": 2.0 ** -2, "linear": 0, "norm": 2.0 ** -4, "bias": 2.0 ** -6,
         "qk_norm": 2.0, "post_attn": 8.0, "post_ffw": 64.0}
KNOB_TRIES = [dict(_BASE), dict(_BASE, qk_norm=3.0, post_attn=32.0, post_ffw=128.0),
              dict(_BASE, post_attn=32.0, post_ffw=256.0), dict(_BASE, post_attn=32.0, post_ffw=128.0)]


MASK_RULE = ("kv j is visible to query i iff (j <= i or (g[i] >= 0 and g[i] == g[j])) and, on sliding_attention "
             "layers, also j > i - sliding_window; g = image group id of each token: 0, 1, ... for each run of "
             "consecutive <image_soft_token> tokens (token_type_ids 1), -1 elsewhere (bos/boi/eoi/text)")


def group_ids(token_type_ids):
    g, cur, prev = [], -1, 0
    for t in token_type_ids:
        if t == 1 and prev != 1:
            cur += 1
        g.append(cur if t == 1 else -1)
        prev = t
    return g


def mask_rule(token_type_ids, sliding_window, sliding):
    """The boolean [query, kv] mask of MASK_RULE (numpy), to check transformers' masks against."""
    g = np.array(group_ids(token_type_ids))
    n = len(g)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    allowed = (j <= i) | ((g[:, None] >= 0) & (g[:, None] == g[None, :]))
    if sliding:
        allowed &= j > i - sliding_window
    return allowed

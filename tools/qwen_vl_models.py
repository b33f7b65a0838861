"""The Qwen2.5-VL and Qwen3-VL models, processors and inputs of the parity fixtures
(tools/make_qwen_vl_fixtures.py): the published chat templates, a tiny tokenizer with the real
special tokens, configs at the real widths with few layers, the processor classes with a
stand-in video processor (transformers' needs torchvision), and the cases' images and frames."""
import os
import numpy as np
import torch
from PIL import Image
from transformers import Qwen2VLImageProcessorPil
from transformers.image_processing_utils import BatchFeature
from transformers.video_processing_utils import VideoProcessorMixin
from transformers.video_utils import VideoMetadata

from make_tiny_vlms import save_fast_tokenizer, train_byte_level_bpe

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
IMAGE = os.path.join(ROOT, "Samples", "shapes.png")

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
    return save_fast_tokenizer(train_byte_level_bpe(CORPUS, SPECIALS, 400), directory, None, "<|im_end|>")


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

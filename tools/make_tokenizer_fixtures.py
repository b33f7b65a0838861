#!/usr/bin/env python3
"""Reference data for the tokenizer and chat-template tests (TokenizerParityTests, TokenizerTests,
ChatTemplateTests, StreamingDetokenizerTests).

    .venv-ref/bin/python tools/make_tokenizer_fixtures.py [models_dir]

(.venv-ref has transformers, tokenizers and llama-cpp-python; models_dir defaults to
~/.cache/vlm/models.) Writes, under Tests/VLMRuntimeTests/Fixtures/:

- tokenizer_smollm2.json, tokenizer_gemma3.json: for the GGUF files the engine loads, token ids of
  a fixed list of tricky strings, what transformers decodes them to, the chat prompt of one
  question as `LanguageModel.promptTokens` builds it, several rendered conversations with their
  ids, and a text of about 3,000 tokens for the speed check.
- pretokenizer_splits.json: the pieces the four hand-written pre-tokenizer splits (gpt2, smollm,
  llama3, qwen2) must produce, from the `tokenizers` library's own regex engine.
- chat_templates.json: apply_chat_template renderings of the template families the engine
  reproduces without a Jinja engine (ChatML/SmolLM2, Qwen2, Gemma 3, Llama 3, LLaVA-1.5 Vicuna).

The references:

- SmolLM2: transformers' GGUF tokenizer, with the pre-tokenizer of the model's own tokenizer.json
  (HuggingFaceTB/SmolLM2-135M-Instruct: Sequence[Digits(individual_digits=True), ByteLevel]).
  transformers' GGUF loader drops the Digits step (it keys pre-tokenizers on tokenizer.ggml.pre and
  has no entry for "smollm"), which changes non-ASCII numerals such as "٤" or "²"; llama.cpp's
  "smollm" pre-tokenizer and the original tokenizer both isolate every \\p{N} character.
- Gemma 3: transformers' GGUF tokenizer as it is (GemmaTokenizer: BPE with byte fallback, merge
  order from the vocabulary order, space runs respelled as "▁▁"). A literal "▁" in the input is
  a space to it, as to SentencePiece itself (which rewrites U+0020 into U+2581 before anything
  else), so "▁ literal marker ▁▁" stays in; llama.cpp matches the stored "  " tokens in the raw
  text instead and differs there.
Every case is also run through llama.cpp (llama-cpp-python, parse_special=True); where llama.cpp
disagrees with the reference the ids are recorded under "llamaCpp" for information. Today that is
three Gemma strings: the literal "▁" ones, and a run of 40 spaces, which transformers merges into
16 + 24 spaces and llama.cpp matches as 31 + 9 (the longest space token is 31).
"""
import json
import os
import re
import sys
import tempfile

from tokenizers import Regex, pre_tokenizers
from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import render_jinja_template

try:
    from llama_cpp import Llama
except ImportError:  # the cross-check is informative only
    Llama = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "VLMRuntimeTests", "Fixtures")

COMMON = [
    "The quick brown fox jumps over the lazy dog.",
    "12345 and 3.14",
    "def f(x):\n\tif x:\n\t\treturn x ** 2\n    else:\n        return None\n",
    "  multiple   spaces\n\n\nnewlines",
    "I'm, you're, they'll, it's, CAN'T",
    "👋🌍",
    "日本語のテキスト",
    "Café naïve résumé",
    " hello",
    "end   ",
    "",
    ("In 2024, the café on 5th Avenue served 1,234 croissants — naïvely priced at $3.50 each! "
     "Their motto: \"Don't worry, be happy 😊\". 東京 visitors asked: ¿dónde está el baño?\n"
     "\tTabs\tand   spaces...\r\nWindows line endings; URLs like https://example.com/a?b=c&d=e#f."),
    # Edge cases of the pre-tokenizer splits and the merge loops.
    "\n", " ", "   ", "\n\n", " \n ", "a\r\n\r\nb", "x \t y", "trailing newline\n",
    "don't 's 'S 'll 'LL ''quoted'' rock'n'roll", "Hello!!!  ???  ...",
    "non\u00a0breaking\u3000ideographic\u2003em space",
    "٣ ٤٥ Ⅻ ½ ² ①", "x²+y³=z⁴", "ÀÉÎÕÜ àéîõü ß ø æ œ",
    "👨\u200d👩\u200d👧 🇫🇷 e\u0301 ñ", "Привет, мир! Γειά σου κόσμε. مرحبا بالعالم",
    "한국어 텍스트와 中文文本", "tab\tseparated\tvalues\n1\t2\t3",
    "▁ literal marker ▁▁", "<unk> <s> </s> <pad>", "<|im_start|", "<start_of_turn>", "<bos>text<eos>",
    "camelCaseIdentifier snake_case_name SCREAMING_CASE 0x1F 1e-9 3.0f",
    "    indented four\n        eight\n\ttab",
    "a" * 40 + " " + "ab" * 20,
    # Added for the rewrite: decomposed accents must not match precomposed tokens, control
    # bytes, runs longer than any whitespace token, repeated-character runs (merge tie-breaks),
    # literal byte-token spellings, scripts with combining marks, and case-insensitive contractions.
    "e\u0301 vs \u00e9, A\u030a vs \u00c5", "bell\u0007 esc\u001b del\u007f nul-free \u0001\u0002",
    " " * 40 + "forty spaces", "\n" * 35 + "many newlines", "\t" * 33 + "tabs",
    "==================== ---------- ________ ******** ........ ~~~~~~~~",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "<0x41> <0xFF> <0x0A>", "▁▁▁ ▁x▁ ▁",
    "हिन्दी में लिखा गया पाठ। ไทย ภาษา",
    "WE'RE THEY'LL I'M IT'S he'S 'D 'Ll", "'s 're 've at start",
    "1234567890 12 123 1234 ١٢٣٤٥",
    "\r\r\n\n \r \t\n", "  ", "\t", "word\n\n\n\nword", "a  \nb", "x\u2028y\u2029z\u0085w",
    "Fran\u00e7ais: l'\u00e9t\u00e9, c'est g\u00e9nial !", "🧑🏽‍💻 👍🏻 ❤️ 1️⃣",
    "Math: ∑_{i=1}^{n} i² = n(n+1)/2 ≈ ∞, ∀x ∈ ℝ", "\ufeffBOM and \u200bzero-width",
    "<b>bold</b> <table><tr><td>cell</td></tr></table>", "<start_of_image><end_of_image>",
]

SMOLLM2_EXTRA = [
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat's 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><|endoftext|>", "x<|im_end|>y", "<|im_start|><|im_end|>", "<repo_name>vlm<file_sep>main.swift",
]
GEMMA3_EXTRA = [
    "<start_of_turn>user\nhi<end_of_turn>",
    "<bos><start_of_turn>user\nWhat's 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<start_of_turn><end_of_turn>", "x<end_of_turn>y", "<unused0><unused99>", "[multimodal]",
]

MODELS = [
    ("tokenizer_smollm2.json", "SmolLM2-135M-Instruct.Q4_1.gguf", SMOLLM2_EXTRA),
    ("tokenizer_gemma3.json", "gemma-3-270m-q4_k_m.gguf", GEMMA3_EXTRA),
]

QUESTION = "What is the capital of France?"

# The pre-tokenizer of HuggingFaceTB/SmolLM2-135M-Instruct's tokenizer.json.
SMOLLM2_PRE = pre_tokenizers.Sequence([
    pre_tokenizers.Digits(individual_digits=True),
    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
])

# Split patterns: GPT-2's is ByteLevel's own (tokenizers/src/pre_tokenizers/byte_level.rs);
# Llama 3's and Qwen2's are those of their tokenizer.json files (and of llama.cpp's llama-vocab.cpp).
GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPLITTERS = {
    "gpt2": pre_tokenizers.Split(Regex(GPT2_SPLIT), behavior="isolated"),
    "smollm": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                       pre_tokenizers.Split(Regex(GPT2_SPLIT), behavior="isolated")]),
    "llama3": pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
    "qwen2": pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
}

# Chat templates as the models' tokenizer_config.json files store them (SmolLM2's is read from
# its GGUF). LLaVA-1.5 has no Jinja template of its own: its prompt is llava/conversation.py's
# conv_vicuna_v1 / conv_llava_v1 (SeparatorStyle.TWO, sep " ", sep2 "</s>"), written as Jinja here.
QWEN2_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                  "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
                  "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
GEMMA3_TEMPLATE = """{{ bos_token }}
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
LLAMA3_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}"
                   "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
                   "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
                   "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
VICUNA_TEMPLATE = ("{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
                   "{% set loop_messages = messages[1:] %}{% else %}"
                   "{% set system = \"A chat between a curious human and an artificial intelligence assistant. "
                   "The assistant gives helpful, detailed, and polite answers to the human's questions.\" %}"
                   "{% set loop_messages = messages %}{% endif %}{{ system + ' ' }}"
                   "{% for message in loop_messages %}{% if message['role'] == 'user' %}"
                   "{{ 'USER: ' + message['content'] + ' ' }}{% else %}"
                   "{{ 'ASSISTANT: ' + message['content'] + '</s>' }}{% endif %}{% endfor %}"
                   "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")

CONVERSATIONS = [
    ("single question", [{"role": "user", "content": QUESTION}]),
    ("system and user", [{"role": "system", "content": "You are a pirate. Answer in one sentence."},
                         {"role": "user", "content": "Hi! Who are you?"}]),
    ("multi-turn", [{"role": "user", "content": "Name a colour."},
                    {"role": "assistant", "content": "Blue."},
                    {"role": "user", "content": "And another?"}]),
    ("system, multi-turn", [{"role": "system", "content": "Be brief."},
                            {"role": "user", "content": "2+2?"},
                            {"role": "assistant", "content": "4"},
                            {"role": "user", "content": "3+3?"}]),
    ("whitespace to trim", [{"role": "system", "content": "  Keep spaces?  \n"},
                            {"role": "user", "content": "\n  padded question \t\n"}]),
    ("unicode and specials in content", [{"role": "user", "content": "日本語で答えて 😊 — café\nline two"}]),
    ("empty user message", [{"role": "user", "content": ""}]),
]

TEMPLATES = {
    "qwen2": (QWEN2_TEMPLATE, {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"}),
    "gemma3": (GEMMA3_TEMPLATE, {"bos_token": "<bos>", "eos_token": "<eos>"}),
    "llama3": (LLAMA3_TEMPLATE, {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}),
    "vicuna": (VICUNA_TEMPLATE, {"bos_token": "<s>", "eos_token": "</s>"}),
}

STRESS_PARAGRAPH = (
    "Vision-language models read an image as a grid of patches, turn each patch into a token, "
    "and hand those tokens to a decoder together with the text of the prompt. Most of them can be "
    "dropped: a 336×336 image at 14-pixel patches is 576 tokens, and pruning 75% of them changes "
    "few answers. In 2024 the median latency was 1.2 s (p95: 3.4 s) on 2 cores — fine for a demo, "
    "not for production! def prune(tokens, keep=0.25):\n    return sorted(tokens, key=score)[:int(len(tokens) * keep)]\n"
    "日本語の説明文もここに少し入れておく。Les résumés naïfs coûtent 3,50 € à Zürich. 😊👍\n\n")


def write(name, data):
    """Indented JSON with every list of ids on one line (the fixtures stay small and diffable)."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]",
                  lambda m: "[" + ",".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return path


def render(template, messages, add_generation_prompt, special):
    rendered, _ = render_jinja_template(conversations=[messages], chat_template=template,
                                        add_generation_prompt=add_generation_prompt, **special)
    return rendered[0]


def load(models, gguf):
    with tempfile.TemporaryDirectory() as d:
        os.symlink(os.path.join(models, gguf), os.path.join(d, gguf))
        tok = AutoTokenizer.from_pretrained(d, gguf_file=gguf)
    if "SmolLM2" in gguf:
        tok.backend_tokenizer.pre_tokenizer = SMOLLM2_PRE
    llama = Llama(model_path=os.path.join(models, gguf), vocab_only=True, verbose=False) if Llama else None
    return tok, llama


def encode(tok, text):
    return tok.encode(text, add_special_tokens=False)


def model_fixture(models, out_name, gguf, extra):
    tok, llama = load(models, gguf)
    cases, disagreements = [], 0
    for text in COMMON + extra:
        ids = encode(tok, text)
        decoded = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        case = {"text": text, "ids": ids, "roundTrips": decoded == text, "decoded": decoded}
        if llama is not None:
            ref = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            if ref != ids:
                case["llamaCpp"] = ref
                disagreements += 1
        cases.append(case)

    template = tok.chat_template
    special = {"bos_token": tok.bos_token, "eos_token": tok.eos_token}
    if template is None:
        # The Gemma 3 base GGUF stores no template; Gemma 3 instruct models store this one.
        template = GEMMA3_TEMPLATE
    messages = [{"role": "user", "content": QUESTION}]
    prompt = render(template, messages, True, special)
    chat = {"question": QUESTION, "prompt": prompt, "ids": encode(tok, prompt),
            "fromTemplate": bool(tok.chat_template)}

    conversations = []
    for name, msgs in CONVERSATIONS:
        for gen in (True, False):
            text = render(template, msgs, gen, special)
            conversations.append({"name": name, "messages": msgs, "addGenerationPrompt": gen,
                                  "rendered": text, "ids": encode(tok, text)})

    stress_text = STRESS_PARAGRAPH * 14
    stress = {"text": stress_text, "ids": encode(tok, stress_text)}

    data = {
        "model": gguf, "tokenizer": type(tok).__name__,
        "reference": ("transformers GGUF tokenizer" +
                      (" with SmolLM2's own pre-tokenizer (Digits + ByteLevel)" if "SmolLM2" in gguf else "")),
        "chatTemplate": tok.chat_template,
        "bosToken": tok.bos_token, "eosToken": tok.eos_token,
        "cases": cases, "chat": chat, "conversations": conversations, "stress": stress,
    }
    path = write(out_name, data)
    print(f"wrote {path}: {len(cases)} cases ({disagreements} differ in llama.cpp), "
          f"{len(stress['ids'])} stress tokens")


def splits_fixture():
    texts = COMMON + SMOLLM2_EXTRA + [STRESS_PARAGRAPH]
    out = {"patterns": {"gpt2": GPT2_SPLIT, "llama3": LLAMA3_SPLIT, "qwen2": QWEN2_SPLIT,
                        "smollm": "Digits(individual_digits=True), then gpt2"},
           "cases": []}
    for text in texts:
        out["cases"].append({"text": text, "splits": {
            name: [piece for piece, _ in splitter.pre_tokenize_str(text)] for name, splitter in SPLITTERS.items()}})
    path = write("pretokenizer_splits.json", out)
    print(f"wrote {path}: {len(texts)} texts")


def templates_fixture(smollm2_template):
    templates = dict(TEMPLATES)
    templates["smollm2"] = (smollm2_template, {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"})
    out = {"templates": {}, "renders": []}
    for family, (template, special) in sorted(templates.items()):
        out["templates"][family] = template
        for name, msgs in CONVERSATIONS:
            for gen in (True, False):
                out["renders"].append({"family": family, "name": name, "messages": msgs,
                                       "addGenerationPrompt": gen, "rendered": render(template, msgs, gen, special)})
    path = write("chat_templates.json", out)
    print(f"wrote {path}: {len(out['renders'])} renders")


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/vlm/models")
    for out_name, gguf, extra in MODELS:
        model_fixture(models, out_name, gguf, extra)
    splits_fixture()
    smollm2, _ = load(models, MODELS[0][1])
    templates_fixture(smollm2.chat_template)


if __name__ == "__main__":
    main()

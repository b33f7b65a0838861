#!/usr/bin/env python3
"""Reference token ids for TokenizerParityTests.

Encodes a fixed list of tricky strings with transformers' GGUF tokenizers (the same GGUF files
the engine loads) and writes Tests/VLMRuntimeTests/Fixtures/tokenizer_{smollm2,gemma3}.json.

    .venv-ref/bin/python tools/make_tokenizer_fixtures.py [models_dir]

models_dir defaults to ~/.cache/vlm/models.
"""
import json
import os
import sys
import tempfile

from transformers import AutoTokenizer

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
]

# (fixture, GGUF, extra strings, strings left out). Left out are the few strings where
# transformers' GGUF conversion is itself not faithful to the model's tokenizer:
# - SmolLM2: the conversion keeps only the GPT-2 ByteLevel split and drops tokenizer.json's
#   Digits(individual_digits=True) step, so non-ASCII numerals (" ٤٥", "½") stay glued to a
#   preceding space. ASCII digits agree only because SmolLM2 has no digit merges. The engine,
#   like llama.cpp's "smollm" pre-tokenizer, isolates every \p{N} as tokenizer.json does.
# - Gemma 3: the conversion turns a literal "▁" in the input into a space; SentencePiece and
#   llama.cpp keep it distinct from the user-defined whitespace tokens ("  ", "   ", ...).
MODELS = [
    ("tokenizer_smollm2.json", "SmolLM2-135M-Instruct.Q4_1.gguf",
     ["<|im_start|>user\nhi<|im_end|>"], {"٣ ٤٥ Ⅻ ½ ² ①"}),
    ("tokenizer_gemma3.json", "gemma-3-270m-q4_k_m.gguf",
     ["<start_of_turn>user\nhi<end_of_turn>"], {"▁ literal marker ▁▁"}),
]

QUESTION = "What is the capital of France?"


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/vlm/models")
    for out_name, gguf, extra, left_out in MODELS:
        with tempfile.TemporaryDirectory() as d:
            os.symlink(os.path.join(models, gguf), os.path.join(d, gguf))
            tok = AutoTokenizer.from_pretrained(d, gguf_file=gguf)
        cases = []
        for text in COMMON + extra:
            if text in left_out:
                continue
            ids = tok.encode(text, add_special_tokens=False)
            decoded = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            cases.append({"text": text, "ids": ids, "roundTrips": decoded == text})
        messages = [{"role": "user", "content": QUESTION}]
        if tok.chat_template:
            prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            # The Gemma 3 base GGUF carries no template: the engine's Gemma format.
            prompt = f"<bos><start_of_turn>user\n{QUESTION}<end_of_turn>\n<start_of_turn>model\n"
        chat = {"question": QUESTION, "prompt": prompt,
                "ids": tok.encode(prompt, add_special_tokens=False),
                "fromTemplate": bool(tok.chat_template)}
        data = {"model": gguf, "tokenizer": type(tok).__name__, "cases": cases, "chat": chat}
        path = os.path.join(OUT, out_name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()

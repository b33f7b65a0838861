#!/usr/bin/env python3
"""Chat-template rendering speed: vlm's Jinja engine against jinja2 as transformers runs it, on the
same template and the same 20-turn conversation with images, in one run (issue 17's target: a
20-turn conversation with images renders in under 5 ms).

    .venv-ref/bin/python tools/bench_chat_template.py [--vlm .build/release/vlm] [--repeat 2000]

Templates: the LLaVA-OneVision template with Qwen's default system message
(Tests/VisionTests/Fixtures/vlms/llava_onevision_system/chat_template.jinja) and SmolVLM's
(Tests/VisionTests/Fixtures/vlms/smolvlm/chat_template.jinja). The conversation is
Samples/conversation-20-turns.json: a system message, then 20 user/assistant exchanges whose
user turns carry an image (and every fifth a second image). Prints ms per render for each
engine and the ratio; needs transformers==5.23.0.
"""
import argparse
import json
import re
import subprocess
import time
from pathlib import Path

from transformers.utils.chat_template_utils import _compile_jinja_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = {
    "llava_onevision_system": ROOT / "Tests/VisionTests/Fixtures/vlms/llava_onevision_system/chat_template.jinja",
    "smolvlm": ROOT / "Tests/VisionTests/Fixtures/vlms/smolvlm/chat_template.jinja",
}
CONVERSATION = ROOT / "Samples/conversation-20-turns.json"


def conversation():
    messages = [{"role": "system", "content": [{"type": "text", "text": "You describe pictures briefly and exactly."}]}]
    for turn in range(20):
        parts = [{"type": "image"}] + ([{"type": "image"}] if turn % 5 == 4 else [])
        parts.append({"type": "text", "text": f"Picture {turn + 1}: what is in it, and how does it differ from the last one?"})
        messages.append({"role": "user", "content": parts})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": f"A red circle and a blue square; turn {turn + 1} moved the circle left."}]})
    return messages


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vlm", default=str(ROOT / ".build/release/vlm"))
    ap.add_argument("--repeat", type=int, default=2000)
    args = ap.parse_args()
    messages = conversation()
    CONVERSATION.write_text(json.dumps(messages, indent=1) + "\n")
    for name, path in TEMPLATES.items():
        source = path.read_text()
        compiled = _compile_jinja_template(source)
        expected = compiled.render(messages=messages, tools=None, documents=None, add_generation_prompt=True)
        start = time.perf_counter()
        for _ in range(args.repeat):
            compiled.render(messages=messages, tools=None, documents=None, add_generation_prompt=True)
        py_ms = (time.perf_counter() - start) * 1000 / args.repeat
        out = subprocess.run([args.vlm, "prompt", "--template", str(path), "--messages", str(CONVERSATION),
                              "--bench", str(args.repeat)], capture_output=True, text=True, check=True)
        assert out.stdout == expected, f"{name}: vlm renders differently from jinja2"
        swift_ms = float(re.search(r"([0-9.]+) ms per render", out.stderr).group(1))
        print(f"{name}: {len(messages)} messages, {len(expected)} chars | jinja2 {py_ms:.3f} ms | vlm {swift_ms:.3f} ms"
              f" | vlm/jinja2 {swift_ms / py_ms:.2f}x")


if __name__ == "__main__":
    main()

"""Talks to a running `vlm serve` with the official `openai` Python client (pip install openai):
one completion with an image as a data: URL, non-streaming and streaming, and prints both.

  vlm serve --model MODEL --port 8080 &
  .venv-ref/bin/python tools/check_openai_client.py --port 8080 --image Samples/shapes.png
Exits non-zero if either call fails or returns no text.
"""
import argparse, base64, sys
from openai import OpenAI


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--image", default="Samples/shapes.png")
    ap.add_argument("--max-tokens", type=int, default=16)
    a = ap.parse_args()
    client = OpenAI(base_url=f"http://127.0.0.1:{a.port}/v1", api_key="not-needed")
    model = client.models.list().data[0].id
    url = "data:image/png;base64," + base64.b64encode(open(a.image, "rb").read()).decode()
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is in the picture?"},
                                             {"type": "image_url", "image_url": {"url": url}}]}]
    reply = client.chat.completions.create(model=model, messages=messages, max_tokens=a.max_tokens,
                                           extra_body={"reducer": "pool", "keep": 16})
    text = reply.choices[0].message.content
    print(f"non-streaming ({reply.usage.completion_tokens} tokens, finish {reply.choices[0].finish_reason}): {text!r}")
    pieces = []
    for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=a.max_tokens, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    streamed = "".join(pieces)
    print(f"streaming ({len(pieces)} chunks): {streamed!r}")
    ok = bool(text) and bool(streamed)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

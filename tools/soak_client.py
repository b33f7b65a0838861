"""A bounded soak run against a `vlm serve` on loopback (scripts/soak.sh starts the server and
calls this; issue 21, check 3). Standard library only.

For --seconds: `--workers` threads (the concurrency the server's queue allows: one computing
plus --queue waiting) send a mix of requests one after another: text only, an image (data:
URL), an image by path under the media root with a reducer, a 4-frame video, each streamed or
not; every --burst-every seconds a burst of --burst extra requests at once goes beyond the
queue (those may get 429). The server's RSS is sampled every 10 s from /proc. Prints per-kind
p50/p99 latency of the 200s, throughput, the share of 429s, 5xx and transport errors, and the
RSS series with its growth after the warm-up; exits 1 if any 5xx or transport error occurred,
the server died, or RSS grew by 5% or more after the warm-up.

Only 127.0.0.1 is ever contacted.
"""
import argparse, base64, http.client, json, random, sys, threading, time

KINDS = ["text", "image", "image_path_reducer", "video"]


def body(kind, stream, image_b64):
    if kind == "text":
        content = "Name three colours."
    elif kind == "image":
        content = [{"type": "text", "text": "What is in the picture?"},
                   {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image_b64}}]
    elif kind == "image_path_reducer":
        content = [{"type": "text", "text": "Describe this image."}, {"type": "image_url", "image_url": {"url": "wide.png"}}]
    else:
        content = [{"type": "text", "text": "What happens?"}, {"type": "video_url", "video_url": {"url": "clip.mp4"}}]
    b = {"model": "x", "messages": [{"role": "user", "content": content}], "stream": stream}
    if kind == "image_path_reducer":
        b.update({"reducer": "divprune", "keep_ratio": 0.25})
    if kind == "video":
        b.update({"frames": 4})
    return json.dumps(b).encode()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {k: [] for k in KINDS}
        self.codes = {}
        self.transport_errors = []

    def add(self, kind, code, seconds):
        with self.lock:
            self.codes[code] = self.codes.get(code, 0) + 1
            if code == 200:
                self.latency[kind].append(seconds)

    def error(self, what):
        with self.lock:
            self.transport_errors.append(what)


def one_request(port, kind, stream, image_b64, stats, timeout):
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", "/v1/chat/completions", body(kind, stream, image_b64), {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status == 200 and stream and not data.endswith(b"data: [DONE]\n\n"):
            stats.error(f"{kind}: stream without [DONE]")
        marker = b'data: {"error"'
        if r.status == 200 and stream and marker in data:
            stats.error(f"{kind}: error event in the stream: {data[data.index(marker):][:160]!r}")
        stats.add(kind, r.status, time.perf_counter() - t0)
    except Exception as e:  # a reset or a timeout: counted, never hidden
        stats.error(f"{kind}: {type(e).__name__}: {e}")


def rss_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--burst", type=int, default=10)
    ap.add_argument("--burst-every", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    image_b64 = base64.b64encode(open(a.image, "rb").read()).decode()
    stats, stop = Stats(), time.monotonic() + a.seconds
    start = time.monotonic()

    def worker(seed):
        rng = random.Random(seed)
        while time.monotonic() < stop:
            one_request(a.port, rng.choice(KINDS), rng.random() < 0.5, image_b64, stats, a.timeout)

    def bursts():
        next_burst = start + a.burst_every
        while time.monotonic() < stop:
            if time.monotonic() >= next_burst:
                threads = [threading.Thread(target=one_request, args=(a.port, KINDS[i % len(KINDS)], i % 2 == 0, image_b64, stats, a.timeout))
                           for i in range(a.burst)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                next_burst += a.burst_every
            time.sleep(0.2)

    samples = []

    def sampler():
        while time.monotonic() < stop + 1:
            samples.append((time.monotonic() - start, rss_mb(a.pid)))
            time.sleep(10)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.workers)]
    threads += [threading.Thread(target=bursts), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    alive = rss_mb(a.pid) is not None

    total = sum(stats.codes.values()) + len(stats.transport_errors)
    ok = stats.codes.get(200, 0)
    five = sum(n for c, n in stats.codes.items() if c >= 500)
    print(f"soak: {elapsed:.0f} s, {a.workers} steady clients + bursts of {a.burst} every {a.burst_every:.0f} s")
    print(f"requests: {total}, status counts {dict(sorted(stats.codes.items()))}, transport errors {len(stats.transport_errors)}")
    print(f"throughput: {ok / elapsed:.2f} answered/s; 429 share {stats.codes.get(429, 0) / max(total, 1):.1%}; 5xx {five}")
    for k in KINDS:
        v = stats.latency[k]
        print(f"  {k:19s} n={len(v):4d}  p50 {percentile(v, 0.5):6.2f} s  p99 {percentile(v, 0.99):6.2f} s")
    for e in stats.transport_errors[:5]:
        print("  transport error:", e)
    print("RSS (MB) every 10 s: " + " ".join(f"{m:.0f}" if m else "-" for _, m in samples))
    after = [m for t, m in samples if t >= a.warmup and m]
    base = after[0] if after else None
    growth = (max(after) / base - 1) if base else float("nan")
    print(f"RSS after warm-up ({a.warmup:.0f} s): {base:.0f} MB -> max {max(after):.0f} MB, end {after[-1]:.0f} MB: growth {growth:.1%}"
          if base else "RSS: no samples after warm-up")
    print(f"server alive at the end: {alive}")
    failed = five > 0 or stats.transport_errors or not alive or not (growth < 0.05)
    print("FAIL" if failed else "PASS")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

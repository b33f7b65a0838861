"""Independent NumPy implementations of the image token reducers, written from the papers and
../shared/REDUCERS.md (not from the Swift code), and the fixture generator for the Swift
parity test: fixed random inputs (tokens, projected tokens, head-averaged attention maps with
and without a class token, keys) on several grids and budgets, including an AnyRes-like set of
a thumbnail and crops reduced tile by tile, with the expected kept indices and merged tokens.

Run: python tools/reducers_reference.py   (numpy only) -> Tests/PruneTests/Fixtures/reducers.json
"""
import json, os
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "PruneTests", "Fixtures", "reducers.json")


def topk(scores, k, candidates=None):
    idx = np.arange(len(scores)) if candidates is None else np.asarray(candidates)
    order = sorted(idx.tolist(), key=lambda i: (-scores[i], i))   # descending score, lower index first
    return order[:k]


def patch_scores(att, has_cls, class_row):
    first = 1 if has_cls else 0
    if class_row and has_cls:
        return att[0, first:]
    return att[:, first:].mean(0)


def divprune(x, k):
    u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    dist = 1 - u @ u.T
    n = len(x)
    off = dist + np.diag(np.full(n, np.inf))
    first = int(np.argmax(off.min(0)))
    picked = [first]
    nearest = dist[first].copy()
    while len(picked) < min(k, n):
        cand = nearest.copy(); cand[picked] = -np.inf
        nxt = int(np.argmax(cand)); picked.append(nxt)
        nearest = np.minimum(nearest, dist[nxt])
    return sorted(picked), np.zeros((0, x.shape[1]))


def visionzip(hidden, att, has_cls, keys, k, contextual=None):
    n = len(hidden)
    k = min(k, n)
    c = int(np.floor(k * 10 / 64 + 0.5)) if contextual is None else contextual
    c = min(max(c, 0), k - 1)
    dom = sorted(topk(patch_scores(att, has_cls, True), k - c))
    rest = [i for i in range(n) if i not in dom]
    if c == 0 or not rest:
        return dom, np.zeros((0, hidden.shape[1]))
    step = max(1, len(rest) // c)
    targets = [rest[p] for p in range(0, len(rest), step)][:c]
    others = [i for i in rest if i not in targets]
    kn = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    sim = kn[others] @ kn[targets].T
    assign = sim.argmax(1) if len(others) else np.zeros(0, int)
    merged = []
    for t, target in enumerate(targets):
        members = [others[o] for o in range(len(others)) if assign[o] == t]
        mean = hidden[members].mean(0) if members else np.zeros(hidden.shape[1])
        merged.append(hidden[target] + mean)
    return dom, np.array(merged)


def hiprune(att_object, att_deep, has_cls, rows, cols, k, alpha=0.1):
    n = rows * cols
    k = min(k, n)
    obj = patch_scores(att_object, has_cls, False)
    deep = patch_scores(att_deep, has_cls, False)
    anchors = topk(obj, int(np.floor(k * alpha / 5 + 0.5)))
    kept = []
    def add(i):
        if len(kept) < k and i not in kept: kept.append(i)
    for a in anchors: add(a)
    for a in anchors:
        r, c = divmod(a, cols)
        if r > 0: add(a - cols)
        if r + 1 < rows: add(a + cols)
        if c > 0: add(a - 1)
        if c + 1 < cols: add(a + 1)
    for i in topk(deep, k - len(kept), [i for i in range(n) if i not in kept]): add(i)
    return sorted(kept), np.zeros((0, 1))


def bounds(i, out, n):
    return (i * n) // out, -((-(i + 1) * n) // out)


def pool(x, rows, cols, k):
    if rows * cols <= k:
        return list(range(rows * cols)), np.zeros((0, x.shape[1]))
    best = (1, 1)
    for r in range(1, rows + 1):
        c = min(cols, k // r)
        if c < 1: break
        a = abs(r / c - rows / cols); b = abs(best[0] / best[1] - rows / cols)
        if r * c > best[0] * best[1] or (r * c == best[0] * best[1] and a < b): best = (r, c)
    g = x.reshape(rows, cols, -1)
    out = [g[slice(*bounds(i, best[0], rows)), slice(*bounds(j, best[1], cols))].reshape(-1, x.shape[1]).mean(0)
           for i in range(best[0]) for j in range(best[1])]
    return [], np.array(out)


def flextok(x, rows, cols, k):
    g = x.reshape(rows, cols, -1)
    out, side = [], 1
    while len(out) < min(k, rows * cols):
        for i in range(side):
            for j in range(side):
                if len(out) < min(k, rows * cols):
                    out.append(g[slice(*bounds(i, side, rows)), slice(*bounds(j, side, cols))].reshape(-1, x.shape[1]).mean(0))
        side *= 2
    return [], np.array(out)


def bilinear(x, oh, ow):
    """torch interpolate(mode="bilinear", align_corners=False) of a 2-D map."""
    h, w = x.shape
    def taps(o, n):
        src = np.maximum(0, (np.arange(o) + 0.5) * n / o - 0.5)
        i0 = np.minimum(src.astype(int), n - 1)
        return i0, np.where(i0 < n - 1, i0 + 1, i0), src - i0
    y0, y1, ly = taps(oh, h); x0, x1, lx = taps(ow, w)
    top = x[y0][:, x0] * (1 - lx) + x[y0][:, x1] * lx
    bottom = x[y1][:, x0] * (1 - lx) + x[y1][:, x1] * lx
    return top * (1 - ly)[:, None] + bottom * ly[:, None]


def globalcom2(tiles, rows, cols, budget, tau=10.0):
    """AnyRes: tiles[0] is the thumbnail, then rows x cols crops; scores from each tile's
    class-token row of the last layer's logits (att_deep stands in for them here)."""
    side = tiles[0]["rows"]; n = side * side
    score = lambda t: patch_scores(t["att_deep"], t["has_cls"], True)
    thumb = score(tiles[0])
    out = [sorted(topk(thumb, budget))]
    r = budget / n
    tmap = thumb.reshape(side, side)
    sums = np.array([tmap[slice(*bounds(i, rows, side)), slice(*bounds(j, cols, side))].sum() for i in range(rows) for j in range(cols)])
    sigma = np.exp(sums / tau - (sums / tau).max()); sigma /= sigma.sum()
    scales = np.minimum(1, r * (1 + sigma - sigma.mean()))
    big = bilinear(tmap, rows * side, cols * side)
    l2 = lambda v: v / np.linalg.norm(v)
    for c, t in enumerate(tiles[1:]):
        i, j = divmod(c, cols)
        g = big[i * side:(i + 1) * side, j * side:(j + 1) * side].flatten()
        combined = l2(score(t)) + l2(g)
        out.append(sorted(topk(combined, int(np.floor(n * np.float32(scales[c]))))))
    return out


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True)); return e / e.sum(-1, keepdims=True)


def main():
    rng = np.random.default_rng(2026)
    cases = []
    def tile(rows, cols, has_cls, d=16, dh=8, proj=24):
        n = rows * cols; size = n + (1 if has_cls else 0)
        # Attention with structure (a few salient patches) so rankings are well separated.
        logits = rng.normal(0, 1, (size, size)) + rng.normal(0, 2, size)[None, :]
        r6 = lambda a: np.round(a, 6)   # the stored values are what both implementations read
        return {"rows": rows, "cols": cols, "has_cls": has_cls,
                "tokens": r6(rng.normal(0, 1, (n, d))), "projected": r6(rng.normal(0, 1, (n, proj))),
                "keys": r6(rng.normal(0, 1, (n, dh))),
                "att_object": r6(softmax(logits)), "att_deep": r6(softmax(logits + rng.normal(0, 1, (size, size))))}
    tiles = [("cls_6x6", [tile(6, 6, True)]), ("nocls_6x6", [tile(6, 6, False)]), ("cls_5x7", [tile(5, 7, True)]),
             ("anyres_base_and_4_crops", [tile(4, 4, True) for _ in range(5)])]
    for label, ts in tiles:
        for budget in [1, 4, 9, 16]:
            results = {}
            for t in ts:
                n = t["rows"] * t["cols"]
                if budget > n: continue
                outs = {
                    "divprune": divprune(t["projected"], budget),
                    "visionzip": visionzip(t["tokens"], t["att_deep"], t["has_cls"], t["keys"], budget),
                    "hiprune": hiprune(t["att_object"], t["att_deep"], t["has_cls"], t["rows"], t["cols"], budget),
                    "pool": pool(t["tokens"], t["rows"], t["cols"], budget),
                    "flextok": flextok(t["tokens"], t["rows"], t["cols"], budget),
                }
                for name, (kept, merged) in outs.items():
                    results.setdefault(name, []).append({"kept": [int(i) for i in kept],
                                                         "merged": np.round(np.asarray(merged), 6).flatten().tolist(),
                                                         "merged_count": int(len(merged))})
            cases.append({"label": label, "budget": budget, "expected": results})
    anyres = tiles[3][1]
    gc = [{"budget": b, "kept": globalcom2(anyres, 2, 2, b)} for b in [1, 4, 9]]
    inputs = {label: [{k: (np.round(v, 6).flatten().tolist() if isinstance(v, np.ndarray) else v) for k, v in t.items()} for t in ts]
              for label, ts in tiles}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    json.dump({"inputs": inputs, "cases": cases, "globalcom2_anyres": gc, "hiprune_layers": {"object": 0, "deep": 1, "layer_count": 3}}, open(OUT, "w"))
    print(OUT, os.path.getsize(OUT) // 1024, "KB")


if __name__ == "__main__":
    main()

"""Draws the sample images of Samples/ with NumPy and writes PNGs with the standard library
(zlib), so the pixels are exactly known. Called by scripts/make_samples.sh."""
import os, struct, sys, zlib
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "Samples"

def write_png(path, pixels):
    """pixels: HxWx3 or HxWx4 uint8 -> 8-bit RGB/RGBA PNG, no filtering, deterministic."""
    h, w, c = pixels.shape
    color_type = {3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)

# The 8 colours of pattern.png: one 8x8 block each, 4 across and 2 down (32x16 pixels).
PATTERN = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0),
           (0, 255, 255), (255, 0, 255), (255, 255, 255), (32, 64, 128)]

def pattern():
    img = np.zeros((16, 32, 3), np.uint8)
    for i, c in enumerate(PATTERN):
        y, x = (i // 4) * 8, (i % 4) * 8
        img[y:y + 8, x:x + 8] = c
    return img

def shapes():
    """A describable scene: a red circle left, a blue square right, on white (384x256)."""
    h, w = 256, 384
    img = np.full((h, w, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    img[(yy - 128) ** 2 + (xx - 110) ** 2 <= 60 ** 2] = (220, 30, 30)
    img[78:178, 224:324] = (30, 60, 220)
    return img

def rgba():
    """Opaque left half, fully transparent right half; the RGB under the transparent pixels is
    (10, 200, 30), which a PIL-style convert("RGB") keeps (alpha is dropped, not composited)."""
    img = np.zeros((8, 16, 4), np.uint8)
    img[:, :8] = (200, 40, 40, 255)
    img[:, 8:] = (10, 200, 30, 0)
    return img

os.makedirs(OUT, exist_ok=True)
def scene(h, w, seed):
    """A smooth two-way gradient with a disc and a bar, plus a few specks: content on which
    resampling filters differ, unlike flat blocks. Used for the wide, tall and tiny samples."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 128 + 100 * np.sin(x / 7.0 + y / 11.0)], -1)
    cy, cx, r = h * 0.5, w * 0.3, min(h, w) * 0.3
    img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = (220, 30, 40)
    img[int(h * 0.2):int(h * 0.8), int(w * 0.65):int(w * 0.75)] = (20, 40, 200)
    img += rng.integers(-2, 3, img.shape) * (rng.random(img.shape[:2]) < 0.02)[..., None]  # sparse specks
    return np.clip(img.round(), 0, 255).astype(np.uint8)

write_png(os.path.join(OUT, "wide.png"), scene(100, 400, 1))
write_png(os.path.join(OUT, "tall.png"), scene(360, 90, 2))
write_png(os.path.join(OUT, "tiny.png"), scene(14, 20, 3))
write_png(os.path.join(OUT, "pattern.png"), pattern())
write_png(os.path.join(OUT, "shapes.png"), shapes())
write_png(os.path.join(OUT, "rgba.png"), rgba())

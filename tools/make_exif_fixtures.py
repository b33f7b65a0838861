"""JPEGs carrying each EXIF orientation (1-8) and what PIL's ImageOps.exif_transpose makes of
them, for the Swift orientation test. A 24 x 16 image of distinct 8 x 8 colour blocks, so any
wrong rotation or flip moves a block. Writes Tests/VisionTests/Fixtures/exif/.
Run: .venv-ref/bin/python tools/make_exif_fixtures.py"""
import json, os
import numpy as np
from PIL import Image, ImageOps

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VisionTests", "Fixtures", "exif")
os.makedirs(OUT, exist_ok=True)
colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
a = np.zeros((16, 24, 3), np.uint8)
for i, c in enumerate(colours):
    a[(i // 3) * 8:(i // 3) * 8 + 8, (i % 3) * 8:(i % 3) * 8 + 8] = c
expected = {}
for o in range(1, 9):
    exif = Image.Exif(); exif[0x0112] = o
    path = os.path.join(OUT, f"orientation{o}.jpg")
    Image.fromarray(a).save(path, quality=100, subsampling=0, exif=exif.tobytes())
    upright = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    expected[str(o)] = {"width": upright.width, "height": upright.height, "pixels": list(np.asarray(upright).flatten().tolist())}
json.dump(expected, open(os.path.join(OUT, "expected.json"), "w"))
print("wrote", sorted(os.listdir(OUT)))

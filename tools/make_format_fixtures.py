"""Small images in the formats vlm decodes through FFmpeg (WebP lossless, BMP, GIF, TIFF) with
PIL's convert("RGB") pixels, plus hostile headers, for the Swift format tests.
Writes Tests/VisionTests/Fixtures/formats/. Run: .venv-ref/bin/python tools/make_format_fixtures.py"""
import json, os, struct
import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VisionTests", "Fixtures", "formats")
os.makedirs(OUT, exist_ok=True)
y, x = np.mgrid[0:12, 0:20]
a = np.stack([x * 12, y * 20, (x + y) * 8], -1).astype(np.uint8)
img = Image.fromarray(a)
expected = {}
for name, kwargs in [("image.webp", {"lossless": True}), ("image.bmp", {}), ("image.tiff", {}), ("image.gif", {})]:
    path = os.path.join(OUT, name)
    img.save(path, **kwargs)
    expected[name] = np.asarray(Image.open(path).convert("RGB")).flatten().tolist()
# A CMYK JPEG (PIL writes Adobe CMYK, inverted), the path PIL's convert("RGB") handles with
# its cmyk2rgb formula; compared within a few levels (JPEG decoders may round differently).
img.convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=95)
expected["cmyk.jpg"] = np.asarray(Image.open(os.path.join(OUT, "cmyk.jpg")).convert("RGB")).flatten().tolist()
# A BMP header claiming 100000 x 100000 pixels.
bmp = bytearray(open(os.path.join(OUT, "image.bmp"), "rb").read())
struct.pack_into("<ii", bmp, 18, 100000, 100000)
open(os.path.join(OUT, "huge.bmp"), "wb").write(bytes(bmp[:200]))
json.dump({"width": 20, "height": 12, "pixels": expected}, open(os.path.join(OUT, "expected.json"), "w"))
print(sorted(os.listdir(OUT)))

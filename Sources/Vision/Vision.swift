/// Vision: image decoding, preprocessing, ViT encoders, projectors and VLM families.
public enum VisionModule {}

/// Video: FFmpeg demuxing and decoding, frame sampling and streaming frame sources.
public enum VideoModule {}

#!/usr/bin/env bash
# Tiny test videos for Tests/VideoTests (committed; re-running reproduces them). Every frame is
# one solid colour computed from its index n, so a decoded frame says which frame it is:
#   R = (n * 37) mod 256, G = (n * 91) mod 256, B = (n * 13 + 50) mod 256
# 64x48, 10 fps, 3 s (30 frames), in MP4/H.264, WebM/VP9 and AVI/MJPEG; plus broken files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Tests/VideoTests/Fixtures
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
src=(-f lavfi -i "nullsrc=s=64x48:r=10:d=3,format=rgb24,geq=r='mod(N*37\,256)':g='mod(N*91\,256)':b='mod(N*13+50\,256)'")
ff "${src[@]}" -c:v libx264 -pix_fmt yuv444p -crf 4 -g 12 -bitexact "$out/colors.mp4"
ff "${src[@]}" -c:v libvpx-vp9 -pix_fmt yuv444p -crf 4 -b:v 0 -g 12 -bitexact "$out/colors.webm"
ff "${src[@]}" -c:v mjpeg -q:v 1 -pix_fmt yuvj444p -bitexact "$out/colors.avi"
# Audio only.
ff -f lavfi -i "sine=frequency=440:duration=1" -c:a aac "$out/audio.m4a"
# The MP4 with its moov atom in front (faststart) and the tail of the media data overwritten:
# the first frames decode, later packets are garbage.
ff -i "$out/colors.mp4" -c copy -movflags +faststart "$out/tmp.mp4"
python3 - "$out/tmp.mp4" "$out/corrupt-tail.mp4" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
start = int(len(data) * 0.85)
for i in range(start, len(data) - 8, 7): data[i] = (data[i] * 31 + 7) & 0xFF
open(sys.argv[2], "wb").write(bytes(data))
PY
rm "$out/tmp.mp4"
ls -l "$out"

#!/usr/bin/env bash
# Sparse sampling of a long video: generates a 10-minute 1280x720 H.264 clip (testsrc2,
# 30 fps, keyframe every 250 frames) once into /tmp, then times `vlm frames --frames 32`
# (decode + RGB conversion of 32 uniformly spaced frames) and reports its peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
video=${1:-/tmp/vlm-long-720p.mp4}
if [ ! -s "$video" ]; then
  echo "generating $video (10 min, 720p, H.264)..." >&2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=600 \
    -c:v libx264 -preset ultrafast -g 250 -pix_fmt yuv420p "$video"
fi
vlm=${VLM:-.build/release/vlm}
"$vlm" probe "$video"
/usr/bin/time -v "$vlm" frames "$video" --frames 32 --json 2> /tmp/vlm-long-time.txt
grep -E "Elapsed|Maximum resident" /tmp/vlm-long-time.txt

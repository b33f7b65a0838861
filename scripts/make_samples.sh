#!/usr/bin/env bash
# Regenerates Samples/ (see Samples/README.md). Needs python3 with numpy, the ffmpeg CLI and
# cjpeg (Debian: libjpeg-turbo-progs) for the grayscale and progressive JPEGs.
# The committed files are what tests read; re-running this reproduces them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
$PY tools/draw_samples.py Samples
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# JPEGs from the PNGs: high quality so flat 8x8 blocks decode within a few levels.
ff -i Samples/pattern.png -q:v 1 -pix_fmt yuvj444p Samples/pattern.jpg
ff -i Samples/shapes.png -q:v 2 Samples/shapes.jpg
# cjpeg reads PPM: grayscale (one component) and progressive variants of the pattern.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ff -i Samples/pattern.png -c:v ppm "$tmp/pattern.ppm"
cjpeg -quality 100 -grayscale -outfile Samples/gray.jpg "$tmp/pattern.ppm"
cjpeg -quality 100 -progressive -sample 1x1 -outfile Samples/progressive.jpg "$tmp/pattern.ppm"
# A 2-second 160x120 H.264 clip at 10 fps: lavfi's testsrc2 (moving pattern with a frame counter).
ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=2 -c:v libx264 -pix_fmt yuv420p \
   -threads 1 -bitexact -preset medium -crf 23 Samples/clip.mp4
# A 0.3-second 64x48 clip whose track header says "display rotated 90 degrees clockwise", as
# phones record portrait video (the frames stay 64x48 as encoded).
ff -f lavfi -i testsrc2=size=64x48:rate=10:duration=0.3 -c:v libx264 -pix_fmt yuv420p \
   -threads 1 -bitexact -preset medium -crf 30 "$tmp/unrotated.mp4"
$PY tools/set_mp4_rotation.py "$tmp/unrotated.mp4" Samples/rotated.mp4 90
ls -l Samples

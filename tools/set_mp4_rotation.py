"""Sets the display rotation of an MP4's video track by rewriting its track-header (tkhd)
matrix, the way phones record portrait video: the pixels stay as encoded and players rotate
them. Standard library only; called by scripts/make_samples.sh for Samples/rotated.mp4.

Usage: set_mp4_rotation.py IN OUT DEGREES   (clockwise display rotation: 0, 90, 180 or 270)

ffmpeg's `-metadata:s:v rotate=N` is not used because its sign and support differ between
ffmpeg versions; a matrix written here means the same thing to every reader."""
import struct, sys

def boxes(data, start, end):
    """(type, payload_start, box_end) for each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        yield kind, pos + header, pos + size
        pos += size

def matrix(degrees, width, height):
    """QuickTime's 3x3 matrix (16.16 fixed point, last column 2.30) for a clockwise rotation,
    with the translation that keeps the rotated picture in the positive quadrant."""
    a, b, c, d, tx, ty = {0: (1, 0, 0, 1, 0, 0), 90: (0, 1, -1, 0, height, 0),
                          180: (-1, 0, 0, -1, width, height), 270: (0, -1, 1, 0, 0, width)}[degrees]
    return struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, tx << 16, ty << 16, 1 << 30)

def main(src, dst, degrees):
    data = bytearray(open(src, "rb").read())
    done = 0
    for kind, p, e in boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for tkind, tp, te in boxes(data, p, e):
            if tkind != b"trak":
                continue
            for hkind, hp, he in boxes(data, tp, te):
                if hkind != b"tkhd":
                    continue
                version = data[hp]
                m = hp + 4 + (32 if version == 1 else 20) + 16   # after times, ids, duration, reserved, layer..volume
                width, height = (v >> 16 for v in struct.unpack(">II", data[m + 36:m + 44]))
                if width and height:                              # video tracks only
                    data[m:m + 36] = matrix(degrees, width, height)
                    done += 1
    if done != 1:
        sys.exit(f"expected one video track header, found {done}")
    open(dst, "wb").write(bytes(data))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

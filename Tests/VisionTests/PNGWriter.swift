import Foundation

/// A minimal PNG encoder for tests: any bit depth and colour type, extra chunks before the image
/// data, optional Adam7 interlacing. The zlib stream uses stored (uncompressed) deflate blocks,
/// so no compressor is needed and every byte of the file is known.
enum PNGWriter {
    /// `samples` holds each row's samples (not bytes): `channels` per pixel, each < 2^depth.
    static func encode(width: Int, height: Int, depth: Int, colorType: UInt8, samples: [[Int]],
                       chunksBeforeData: [(String, [UInt8])] = [], interlaced: Bool = false,
                       withEnd: Bool = true) -> [UInt8] {
        var raw: [UInt8] = []
        if interlaced {
            // Adam7: (x0, y0, dx, dy) of the seven passes; each pass is a small image of its own.
            for (x0, y0, dx, dy) in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] {
                guard x0 < width, y0 < height else { continue }
                let cols = Array(stride(from: x0, to: width, by: dx))
                let per = samples[0].count / width
                for y in stride(from: y0, to: height, by: dy) {
                    raw += [0] + pack(cols.flatMap { samples[y][($0 * per)..<($0 * per + per)] }, depth: depth)
                }
            }
        } else {
            for row in samples { raw += [0] + pack(row, depth: depth) }
        }
        var ihdr = be32(width) + be32(height)
        ihdr += [UInt8(depth), colorType, 0, 0, interlaced ? 1 : 0]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr)
        for (tag, data) in chunksBeforeData { png += chunk(tag, data) }
        png += chunk("IDAT", zlibStored(raw))
        if withEnd { png += chunk("IEND", []) }
        return png
    }

    static func pack(_ samples: [Int], depth: Int) -> [UInt8] {
        if depth == 16 { return samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
        if depth == 8 { return samples.map { UInt8($0) } }
        var out: [UInt8] = [], acc = 0, bits = 0
        for s in samples {
            acc = (acc << depth) | s; bits += depth
            if bits == 8 { out.append(UInt8(acc)); acc = 0; bits = 0 }
        }
        if bits > 0 { out.append(UInt8(acc << (8 - bits))) }
        return out
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ tag: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(tag.utf8) + data
        return be32(data.count) + body + be32(Int(CRC32.checksum(body)))
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, data.count - i), last: UInt8 = i + n == data.count ? 1 : 0
            out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + be32(Int(b << 16 | a))
    }
}

/// PNG's CRC-32 (chunk checksums).
enum CRC32 {
    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
}

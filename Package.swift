// swift-tools-version:6.0
// The vlm package: a CPU engine for vision-language models with visual-token reducers.
// Layout (see DEVELOPERS.md / README.md): VLMRuntime (tensors, kernels, loaders, tokenizers,
// decoders), Vision (images, processors, ViTs, VLM families), Video (FFmpeg), Prune (reducers),
// vlm (CLI and server). C libraries come in as system-library targets found by pkg-config.
import PackageDescription
import Foundation

/// Swift's default x86-64 target is SSE2 only, which leaves the SIMD kernels at a quarter of
/// the machine's width. When the building machine has AVX2, FMA and F16C (every x86 server
/// since 2013) the kernels are compiled for them; elsewhere (older x86, ARM) the default stays.
/// `VLM_GENERIC_CPU=1` forces the portable build, e.g. for binaries shipped to other machines.
let cpuFlags: [String] = {
    #if os(Linux) && arch(x86_64)
    if ProcessInfo.processInfo.environment["VLM_GENERIC_CPU"] == "1" { return [] }
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return [] }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    return ["avx2", "fma", "f16c"].allSatisfy(flags.contains) ? ["-target-cpu", "haswell"] : []
    #else
    return []
    #endif
}()

/// Release builds drop Swift's arithmetic-overflow and bounds traps only where a target opts in
/// with `-Ounchecked`; every file keeps its own explicit validation of untrusted input.
let optimizedSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"] + cpuFlags, .when(configuration: .release)),
    .unsafeFlags(cpuFlags, .when(configuration: .debug)),
]

let package = Package(
    name: "vlm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vlm", targets: ["vlm"]),
        .library(name: "VLMRuntime", targets: ["VLMRuntime"]),
        .library(name: "Vision", targets: ["Vision"]),
        .library(name: "Video", targets: ["Video"]),
        .library(name: "Prune", targets: ["Prune"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // System C libraries (Debian packages installed by scripts/setup.sh).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),

        // libjpeg reports fatal errors by longjmp only; this C layer turns them into return codes.
        .target(name: "CJPEGShim", dependencies: ["CJPEG"], path: "Sources/CJPEGShim"),
        // libpng also reports errors by longjmp; its full API is needed to decode as PIL does.
        .target(name: "CPNGShim", dependencies: ["CPNG"], path: "Sources/CPNGShim"),

        // Decode-path quantized dot products (AVX2 chosen at run time, portable C elsewhere).
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Libraries.
        .target(name: "VLMRuntime", dependencies: ["COpenBLAS", "CKernels"], exclude: ["README.md"],
                swiftSettings: optimizedSettings),
        .target(name: "Vision", dependencies: ["VLMRuntime", "Prune", "Video", "CJPEGShim", "CPNGShim", "CFFmpeg"], exclude: ["README.md"],
                swiftSettings: optimizedSettings),
        .target(name: "Video", dependencies: ["VLMRuntime", "CFFmpeg"],
                swiftSettings: optimizedSettings),
        .target(name: "Prune", dependencies: ["VLMRuntime"], exclude: ["README.md"], swiftSettings: optimizedSettings),

        // The command-line program and server.
        .executableTarget(name: "vlm", dependencies: [
            "VLMRuntime", "Vision", "Video", "Prune",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),

        // One test target per library, plus the helpers the real-model tests share.
        .target(name: "TestSupport", dependencies: ["VLMRuntime"], path: "Tests/TestSupport"),
        .testTarget(name: "VLMRuntimeTests", dependencies: ["VLMRuntime", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "VisionTests", dependencies: ["Vision", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "VideoTests", dependencies: ["Video", "VLMRuntime"], exclude: ["Fixtures"]),
        .testTarget(name: "PruneTests", dependencies: ["Prune"], exclude: ["Fixtures"]),
        // The `vlm` binary end to end (commands, batch, serve over HTTP), apart from the libraries' tests.
        .testTarget(name: "CLITests", dependencies: ["Vision", "Prune", "VLMRuntime", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)

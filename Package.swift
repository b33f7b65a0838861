// swift-tools-version:6.0
// The vlm package: a CPU engine for vision-language models with visual-token reducers.
// Layout (see DEVELOPERS.md / README.md): VLMRuntime (tensors, kernels, loaders, tokenizers,
// decoders), Vision (images, processors, ViTs, VLM families), Video (FFmpeg), Prune (reducers),
// vlm (CLI and server). C libraries come in as system-library targets found by pkg-config.
import PackageDescription

/// No `-target-cpu`: a binary must run on any x86-64 CPU, whatever machine built it. The SIMD
/// work lives in CKernels, compiled once per instruction-set path (portable, AVX2, AVX-512) and
/// chosen at run time (`CKernels/cpu_path.c`); Swift code stays at the architecture's baseline.
/// Release builds drop Swift's arithmetic-overflow and bounds traps only where a target opts in
/// with `-Ounchecked`; every file keeps its own explicit validation of untrusted input.
let optimizedSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
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

        // The SIMD kernels (quantized and float dot products, norms, softmax, attention) and the
        // worker pool, each compiled per CPU path and dispatched at run time. -fno-math-errno
        // keeps sqrtf and friends inline instead of libm calls.
        .target(name: "CKernels", path: "Sources/CKernels", exclude: ["README.md"],
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-Wno-psabi"])]),

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

// swift-tools-version:6.0
// libFuzzer targets for vlm's parsers of untrusted files, one executable each (issue 21).
// Apart from the main package so that its ordinary builds never link libFuzzer: build and run
// with scripts/fuzz.sh TARGET SECONDS (swift build --sanitize fuzzer --sanitize address).
import Foundation
import PackageDescription

/// The main package, by the identity SwiftPM gives a path dependency: its folder's name.
let vlm = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let targets = ["FuzzGGUF", "FuzzSafetensors", "FuzzTokenizerJSON", "FuzzChatTemplate", "FuzzImage", "FuzzModelConfig", "FuzzVideo", "FuzzChatRequest"]

let package = Package(
    name: "vlm-fuzz",
    platforms: [.macOS(.v14)],
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: [
            "FuzzSupport",
            .product(name: "VLMRuntime", package: vlm),
            .product(name: "Vision", package: vlm),
            .product(name: "Video", package: vlm),
        ], path: "Sources/" + name)
    },
    swiftLanguageModes: [.v5]
)

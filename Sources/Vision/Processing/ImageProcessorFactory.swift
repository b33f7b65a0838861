import Foundation
import VLMRuntime

/// Builds the image processor a model directory's `preprocessor_config.json` describes,
/// with transformers' class defaults for keys the file omits.
public enum ImageProcessorFactory {
    /// `--pan-and-scan`: Gemma 3 processors pan and scan even where their config says not to, as
    /// `do_pan_and_scan=True` in a transformers processor call does. Set once, before loading.
    nonisolated(unsafe) public static var panAndScanRequested = false

    /// transformers 4 writes `preprocessor_config.json`; transformers 5 may write the image
    /// processor inside `processor_config.json` as `{"image_processor": {...}}` instead.
    /// Either loads; the first wins when both exist, as in transformers.
    public static func load(directory: String) throws -> any ImageProcessor {
        let path = directory + "/preprocessor_config.json", nested = directory + "/processor_config.json"
        let video = jsonObject(atPath: directory + "/video_preprocessor_config.json")
            ?? jsonObject(atPath: nested)?["video_processor"] as? [String: Any]
        if let json = jsonObject(atPath: path) { return try make(json: json, source: path, video: video) }
        if let json = jsonObject(atPath: nested)?["image_processor"] as? [String: Any] {
            return try make(json: json, source: nested + " (image_processor)", video: video)
        }
        throw VLMError.badInput("\(path): missing or not a JSON object (and no image_processor in processor_config.json)")
    }

    static func jsonObject(atPath path: String) -> [String: Any]? {
        guard let data = ((try? SmallFile.read(path)) ?? nil) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// `video`: the video processor's config, for processors that size video frames apart.
    public static func make(json j: [String: Any], source: String, video: [String: Any]? = nil) throws -> any ImageProcessor {
        let type = (j["image_processor_type"] as? String ?? "").replacingOccurrences(of: "Fast", with: "")
            .replacingOccurrences(of: "Pil", with: "")
        func size(_ key: String) -> [String: Int] {
            (j[key] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
        }
        func floats(_ key: String) -> [Float]? {
            guard let a = j[key] as? [NSNumber], a.count == 3 else { return nil }
            return a.map(\.floatValue)
        }
        func normalization(_ fallback: PixelNormalization) -> PixelNormalization {
            let doNormalize = j["do_normalize"] as? Bool ?? true
            let rescale = (j["do_rescale"] as? Bool ?? true) ? ((j["rescale_factor"] as? NSNumber)?.floatValue ?? 1.0 / 255) : 1
            return PixelNormalization(rescale: rescale, mean: doNormalize ? floats("image_mean") ?? fallback.mean : [0, 0, 0],
                                      std: doNormalize ? floats("image_std") ?? fallback.std : [1, 1, 1])
        }
        func filter(_ fallback: PILResampler.Filter) throws -> PILResampler.Filter {
            guard let code = (j["resample"] as? NSNumber)?.intValue else { return fallback }
            guard let f = PILResampler.Filter(rawValue: code) else { throw VLMError.badInput("\(source): unknown resample filter \(code)") }
            return f
        }
        func resize(_ fallback: ResizeCropProcessor.Resize) -> ResizeCropProcessor.Resize {
            guard j["do_resize"] as? Bool ?? true else { return .none }
            let s = size("size")
            if let h = s["height"], let w = s["width"] { return .fixed(height: h, width: w) }
            if let e = s["shortest_edge"] { return .shortestEdge(e) }
            return fallback
        }
        func crop(_ fallback: (Int, Int)?) -> (height: Int, width: Int)? {
            guard j["do_center_crop"] as? Bool ?? (fallback != nil) else { return nil }
            let c = size("crop_size")
            if let h = c["height"], let w = c["width"] { return (h, w) }
            if let fallback { return fallback }
            return nil
        }
        func pinpoints() -> [(Int, Int)] {
            (j["image_grid_pinpoints"] as? [[NSNumber]] ?? []).compactMap { $0.count == 2 ? ($0[0].intValue, $0[1].intValue) : nil }
        }

        if panAndScanRequested && type != "Gemma3ImageProcessor" {
            throw VLMError.usage("--pan-and-scan is Gemma 3's (\(source) describes a \(type.isEmpty ? "processor without a type" : type))")
        }
        switch type {
        case "CLIPImageProcessor":
            return ResizeCropProcessor(resize: resize(.shortestEdge(224)), crop: crop((224, 224)), filter: try filter(.bicubic),
                                       normalization: normalization(.openAICLIP))
        case "SiglipImageProcessor":
            return ResizeCropProcessor(resize: resize(.fixed(height: 224, width: 224)), crop: nil, filter: try filter(.bicubic),
                                       normalization: normalization(.imageNetStandard))
        case "BitImageProcessor":
            return ResizeCropProcessor(resize: resize(.shortestEdge(256)), crop: crop((224, 224)), filter: try filter(.bicubic),
                                       normalization: normalization(.openAICLIP))  // transformers' BitImageProcessor defaults to CLIP's mean/std; DINOv2 configs override them
        case "LlavaNextImageProcessor":
            let piece = ResizeCropProcessor(resize: resize(.shortestEdge(224)), crop: crop((224, 224)), filter: try filter(.bicubic),
                                            normalization: normalization(.openAICLIP))
            let cropSide = crop(nil)?.height ?? size("size")["shortest_edge"] ?? 224
            let pins = pinpoints()
            guard !pins.isEmpty else { throw VLMError.badInput("\(source): image_grid_pinpoints is empty") }
            return AnyResProcessor(pinpoints: pins, cropSize: cropSide, perPiece: piece)
        case "LlavaOnevisionImageProcessor":
            let piece = ResizeCropProcessor(resize: resize(.fixed(height: 384, width: 384)), crop: nil, filter: try filter(.bicubic),
                                            normalization: normalization(.openAICLIP))
            let s = size("size")
            let cropSide = s["height"] ?? s["shortest_edge"] ?? 384
            let pins = pinpoints()
            guard !pins.isEmpty else { throw VLMError.badInput("\(source): image_grid_pinpoints is empty") }
            return AnyResProcessor(pinpoints: pins, cropSize: cropSide, perPiece: piece)
        case "Idefics3ImageProcessor", "SmolVLMImageProcessor":
            let longest = size("size")["longest_edge"] ?? 4 * 364
            let tile = size("max_image_size")["longest_edge"] ?? 364
            return Idefics3Processor(longestEdge: longest, tileSize: tile, splitting: j["do_image_splitting"] as? Bool ?? true,
                                     filter: try filter(.lanczos), normalization: normalization(.imageNetStandard))
        case "Gemma3ImageProcessor":
            let piece = ResizeCropProcessor(resize: resize(.fixed(height: 896, width: 896)), crop: nil, filter: try filter(.bilinear),
                                            normalization: normalization(.imageNetStandard))
            guard j["do_pan_and_scan"] as? Bool == true || panAndScanRequested else { return piece }
            let d = PanAndScanProcessor.defaults
            let minCrop = (j["pan_and_scan_min_crop_size"] as? NSNumber)?.intValue ?? d.minCropSize
            let maxCrops = (j["pan_and_scan_max_num_crops"] as? NSNumber)?.intValue ?? d.maxCrops
            let ratio = (j["pan_and_scan_min_ratio_to_activate"] as? NSNumber)?.doubleValue ?? d.minRatio
            guard minCrop >= 1, minCrop <= 1 << 15, (1...64).contains(maxCrops), ratio.isFinite, ratio >= 1 else {
                throw VLMError.badInput("\(source): pan-and-scan needs pan_and_scan_min_crop_size >= 1, max_num_crops in 1...64 and min_ratio_to_activate >= 1")
            }
            return PanAndScanProcessor(piece: piece, minCropSize: minCrop, maxCrops: maxCrops, minRatio: ratio)
        case "Qwen2VLImageProcessor":
            // transformers' class defaults; Qwen3-VL checkpoints set patch 16 and mean = std = 0.5.
            return try QwenVLProcessor.make(json: j, source: source, defaults: (patch: 14, merge: 2, min: 56 * 56, max: 28 * 28 * 1280),
                                            filter: try filter(.bicubic), normalization: normalization(.openAICLIP), video: video)
        default:
            throw VLMError.unsupported("\(source): image processor '\(type)' (supported: CLIP, Siglip, Bit, LlavaNext, LlavaOnevision, Idefics3, SmolVLM, Qwen2VL, Gemma3)")
        }
    }
}

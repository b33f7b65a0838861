import Foundation

/// Reads a Hugging Face model directory's `tokenizer.json` (+ `tokenizer_config.json`,
/// `chat_template.jinja`, `generation_config.json`) into a `TokenizerVocabulary`.
///
/// Supported are the two shapes of BPE the tokenizers implement:
/// - byte-level BPE (a `ByteLevel` pre-tokenizer or decoder: GPT-2, SmolLM2, Llama 3, Qwen2); the
///   split is recognised from the pre-tokenizer (Digits -> "smollm", `\p{N}{1,3}` -> "llama3",
///   single `\p{N}` -> "qwen2", else GPT-2's);
/// - SentencePiece-style BPE (`byte_fallback` with a "▁" normalizer or Metaspace: Gemma, Llama 2).
///   The merge list's order becomes scores (a token scores minus the rank of the first merge
///   that forms it), so the score-ordered merge loop follows the list.
/// Unigram and WordPiece models are refused as unsupported. The JSON is read with `JSONValue`,
/// which keeps vocabulary keys byte-exact (see there); Foundation only reads the files.
public enum TokenizerJSONLoader {
    public static func load(directory: String) throws -> TokenizerVocabulary {
        let path = directory + "/tokenizer.json"
        guard let data = (try SmallFile.read(path)) else {
            throw VLMError.badInput("\(path): missing (a Hugging Face model directory needs tokenizer.json)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse([UInt8](data)) } catch { throw VLMError.badInput("\(path): \(error)") }
        let template = (try SmallFile.read(directory + "/chat_template.jinja"))
            .map { String(decoding: $0, as: UTF8.self) }
        return try vocabulary(tokenizer: json, config: readJSON(directory + "/tokenizer_config.json") ?? .null,
                              generation: readJSON(directory + "/generation_config.json") ?? .null,
                              templateFile: template, source: path)
    }

    static func readJSON(_ path: String) -> JSONValue? {
        guard let d = ((try? SmallFile.read(path)) ?? nil) else { return nil }
        return try? JSONValue.parse([UInt8](d))
    }

    /// Long (about 110 lines) on purpose: tokenizer.json's model, added tokens, normalizer,
    /// pre-tokenizer and decoder are read in the order transformers' loader reads them.
    static func vocabulary(tokenizer json: JSONValue, config: JSONValue, generation: JSONValue,
                           templateFile: String?, source path: String) throws -> TokenizerVocabulary {
        guard let model = json["model"], json.members != nil else { throw VLMError.badInput("\(path): not a tokenizer.json") }
        guard model["type"]?.stringValue == "BPE", let vocab = model["vocab"]?.members else {
            throw VLMError.unsupported("\(path): only BPE tokenizer.json models are supported (got \(model["type"]?.stringValue ?? "none"))")
        }
        var tokens: [String] = []
        var types: [TokenizerVocabulary.TokenType] = []
        func put(_ token: String, _ id: Int, _ type: TokenizerVocabulary.TokenType) throws {
            // Ids nobody names stay empty, unused tokens.
            guard id >= 0, id < 1 << 24 else { throw VLMError.badInput("\(path): token id \(id) out of range") }
            if id >= tokens.count {
                tokens += Array(repeating: "", count: id + 1 - tokens.count)
                types += Array(repeating: .unused, count: id + 1 - types.count)
            }
            tokens[id] = token
            types[id] = type
        }
        for (token, value) in vocab {
            guard let id = value.intValue else { throw VLMError.badInput("\(path): bad id for \(token.debugDescription)") }
            try put(token, id, .normal)
        }
        for added in json["added_tokens"]?.arrayValue ?? [] {
            guard let id = added["id"]?.intValue, let content = added["content"]?.stringValue else { continue }
            try put(content, id, added["special"]?.boolValue == true ? .control : .userDefined)
        }
        let merges: [String] = (model["merges"]?.arrayValue ?? []).compactMap {
            if let s = $0.stringValue { return s }
            if let pair = $0.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue { return a + " " + b }
            return nil
        }

        func objects(_ v: JSONValue?) -> [JSONValue] {
            var out: [JSONValue] = []
            v?.walk { if $0.members != nil { out.append($0) } }
            return out
        }
        func hasType(_ v: JSONValue?, _ type: String) -> Bool { objects(v).contains { $0["type"]?.stringValue == type } }
        let byteLevel = hasType(json["pre_tokenizer"], "ByteLevel") || hasType(json["decoder"], "ByteLevel")
        let spaceMarker = objects(json["normalizer"]).contains { $0["content"]?.stringValue == "\u{2581}" }
        let metaspace = objects(json["pre_tokenizer"]).first { $0["type"]?.stringValue == "Metaspace" }
        let sentencePiece = !byteLevel && (model["byte_fallback"]?.boolValue == true || spaceMarker || metaspace != nil)

        func tokenID(_ key: String) -> Int32? {
            guard let value = config[key], let text = value.stringValue ?? value["content"]?.stringValue else { return nil }
            return tokens.firstIndex(where: { $0.utf8.elementsEqual(text.utf8) }).map(Int32.init)
        }
        var extraEOS: [Int32] = []
        if let list = generation["eos_token_id"]?.arrayValue { extraEOS = list.compactMap { $0.intValue.map(Int32.init) } }
        else if let one = generation["eos_token_id"]?.intValue { extraEOS = [Int32(one)] }
        extraEOS = extraEOS.filter { $0 >= 0 && Int($0) < tokens.count }

        var template = templateFile
        if template == nil {
            if let t = config["chat_template"]?.stringValue { template = t }
            else if let list = config["chat_template"]?.arrayValue {
                template = (list.first { $0["name"]?.stringValue == "default" } ?? list.first)?["template"]?.stringValue
            }
        }

        let v: TokenizerVocabulary
        if sentencePiece {
            // Scores from the merge order: the first merge forming a token gives its rank.
            var scores = [Float](repeating: 0, count: tokens.count)
            var scored = [Bool](repeating: false, count: tokens.count)
            let lookup = TokenLookup(tokens: tokens)
            for (rank, merge) in merges.enumerated() {
                var m = merge
                let id: Int32? = m.withUTF8 { p in
                    guard let space = p.firstIndex(of: 0x20) else { return nil }
                    var joined = [UInt8](p[..<space])
                    joined.append(contentsOf: p[(space + 1)...])
                    return joined.withUnsafeBytes { lookup.id($0) }
                }
                if let id, !scored[Int(id)] {
                    scores[Int(id)] = -Float(rank) - 1
                    scored[Int(id)] = true
                }
            }
            for (i, t) in tokens.enumerated() where types[i] == .normal && SentencePieceTokenizer.byteValue(t) != nil {
                types[i] = .byte
            }
            let prependNormalizer = objects(json["normalizer"]).contains { $0["type"]?.stringValue == "Prepend" }
            let prependScheme = metaspace?["prepend_scheme"]?.stringValue ?? (metaspace?["add_prefix_space"]?.boolValue == false ? "never" : "always")
            v = TokenizerVocabulary(
                model: .sentencePiece, preTokenizer: "default", tokens: tokens, scores: scores, types: types,
                bosID: tokenID("bos_token"), eosID: tokenID("eos_token"), unknownID: tokenID("unk_token"),
                padID: tokenID("pad_token"), extraEndOfGenerationIDs: extraEOS,
                addBOS: config["add_bos_token"]?.boolValue ?? true, addEOS: config["add_eos_token"]?.boolValue ?? false,
                addSpacePrefix: prependNormalizer || (metaspace != nil && prependScheme != "never"),
                sentencePieceMerges: .scores, chatTemplate: template)
        } else {
            let preObjects = objects(json["pre_tokenizer"])
            let regexes = preObjects.compactMap { $0["Regex"]?.stringValue }
            let pre: String
            if preObjects.contains(where: { $0["type"]?.stringValue == "Digits" && $0["individual_digits"]?.boolValue == true }) { pre = "smollm" }
            else if regexes.contains(where: { $0.contains("\\p{N}{1,3}") }) { pre = "llama3" }
            else if regexes.contains(where: { $0.contains("\\p{N}") && $0.contains("[^\\r\\n\\p{L}\\p{N}]") }) { pre = "qwen2" }
            else { pre = "gpt2" }
            v = TokenizerVocabulary(
                model: .byteLevelBPE, preTokenizer: pre, tokens: tokens, types: types, merges: merges,
                bosID: tokenID("bos_token"), eosID: tokenID("eos_token"), unknownID: tokenID("unk_token"),
                padID: tokenID("pad_token"), extraEndOfGenerationIDs: extraEOS,
                addBOS: config["add_bos_token"]?.boolValue ?? false, addEOS: config["add_eos_token"]?.boolValue ?? false,
                chatTemplate: template)
        }
        try v.validate(source: path)
        return v
    }
}

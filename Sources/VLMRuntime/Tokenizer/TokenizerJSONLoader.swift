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
///   that forms it), so the score-ordered merge loop reproduces the list's order.
/// Unigram and WordPiece models are refused as unsupported. Foundation is used here only, for
/// JSONSerialization; the tokenizers themselves do not need it.
public enum TokenizerJSONLoader {
    public static func load(directory: String) throws -> TokenizerVocabulary {
        let path = directory + "/tokenizer.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VLMError.badInput("\(path): missing (a Hugging Face model directory needs tokenizer.json)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = json["model"] as? [String: Any] else {
            throw VLMError.badInput("\(path): not a tokenizer.json")
        }
        let config = readJSON(directory + "/tokenizer_config.json") ?? [:]
        let generation = readJSON(directory + "/generation_config.json") ?? [:]
        return try vocabulary(tokenizer: json, model: model, config: config, generation: generation,
                              templateFile: try? String(contentsOfFile: directory + "/chat_template.jinja", encoding: .utf8),
                              source: path)
    }

    static func readJSON(_ path: String) -> [String: Any]? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
    }

    static func vocabulary(tokenizer json: [String: Any], model: [String: Any], config: [String: Any],
                           generation: [String: Any], templateFile: String?, source path: String) throws -> TokenizerVocabulary {
        guard (model["type"] as? String) == "BPE", let vocab = model["vocab"] as? [String: Any] else {
            throw VLMError.unsupported("\(path): only BPE tokenizer.json models are supported (got \(model["type"] ?? "none"))")
        }
        var tokens: [String] = []
        var types: [TokenizerVocabulary.TokenType] = []
        func put(_ token: String, _ id: Int, _ type: TokenizerVocabulary.TokenType) throws {
            guard id >= 0, id < 1 << 24 else { throw VLMError.badInput("\(path): token id \(id) out of range") }
            if id >= tokens.count {
                tokens += Array(repeating: "", count: id + 1 - tokens.count)
                types += Array(repeating: .unused, count: id + 1 - types.count)
            }
            tokens[id] = token
            types[id] = type
        }
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue else { throw VLMError.badInput("\(path): bad id for \(token)") }
            try put(token, id, .normal)
        }
        for added in (json["added_tokens"] as? [[String: Any]]) ?? [] {
            guard let id = (added["id"] as? NSNumber)?.intValue, let content = added["content"] as? String else { continue }
            try put(content, id, (added["special"] as? Bool) == true ? .control : .userDefined)
        }
        let merges: [String] = ((model["merges"] as? [Any]) ?? []).compactMap {
            if let s = $0 as? String { return s }
            if let pair = $0 as? [String], pair.count == 2 { return pair[0] + " " + pair[1] }
            return nil
        }

        let preText = describe(json["pre_tokenizer"])
        let normalizerText = describe(json["normalizer"])
        let byteLevel = preText.contains("ByteLevel") || describe(json["decoder"]).contains("ByteLevel")
        let sentencePiece = !byteLevel && ((model["byte_fallback"] as? Bool) == true
            || normalizerText.contains("\u{2581}") || preText.contains("Metaspace"))

        func tokenID(_ key: String) -> Int32? {
            let value = config[key]
            let text = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            guard let t = text else { return nil }
            return tokens.firstIndex(where: { $0.utf8.elementsEqual(t.utf8) }).map(Int32.init)
        }
        var extraEOS: [Int32] = []
        if let list = generation["eos_token_id"] as? [NSNumber] { extraEOS = list.map { Int32(truncating: $0) } }
        else if let one = generation["eos_token_id"] as? NSNumber { extraEOS = [Int32(truncating: one)] }
        extraEOS = extraEOS.filter { $0 >= 0 && Int($0) < tokens.count }

        var template = templateFile
        if template == nil {
            if let t = config["chat_template"] as? String { template = t }
            else if let list = config["chat_template"] as? [[String: Any]] {
                template = (list.first { ($0["name"] as? String) == "default" } ?? list.first)?["template"] as? String
            }
        }

        let v: TokenizerVocabulary
        if sentencePiece {
            // Scores from the merge order: the first merge forming a token gives its rank.
            var scores = [Float](repeating: 0, count: tokens.count)
            var scored = [Bool](repeating: false, count: tokens.count)
            let lookup = TokenLookup(tokens: tokens)
            for (rank, merge) in merges.enumerated() {
                let joined = merge.replacingOccurrences(of: " ", with: "")
                if let id = lookup.id(of: joined), !scored[Int(id)] {
                    scores[Int(id)] = -Float(rank) - 1
                    scored[Int(id)] = true
                }
            }
            for (i, t) in tokens.enumerated() where TokenizerVocabulary.byteTokenPattern(t) && types[i] == .normal {
                types[i] = .byte
            }
            let prepend = normalizerText.contains("Prepend") || (preText.contains("Metaspace") && !preText.contains("never"))
            v = TokenizerVocabulary(
                model: .sentencePiece, preTokenizer: "default", tokens: tokens, scores: scores, types: types,
                bosID: tokenID("bos_token"), eosID: tokenID("eos_token"), unknownID: tokenID("unk_token"),
                padID: tokenID("pad_token"), extraEndOfGenerationIDs: extraEOS,
                addBOS: (config["add_bos_token"] as? Bool) ?? true, addEOS: (config["add_eos_token"] as? Bool) ?? false,
                addSpacePrefix: prepend, sentencePieceMerges: .scores, chatTemplate: template)
        } else {
            let regexes = collect(json["pre_tokenizer"], key: "Regex")
            let pre: String
            if collectObjects(json["pre_tokenizer"]).contains(where: {
                ($0["type"] as? String) == "Digits" && ($0["individual_digits"] as? Bool) == true }) { pre = "smollm" }
            else if regexes.contains(where: { $0.contains("\\p{N}{1,3}") }) { pre = "llama3" }
            else if regexes.contains(where: { $0.contains("\\p{N}") && $0.contains("[^\\r\\n\\p{L}\\p{N}]") }) { pre = "qwen2" }
            else { pre = "gpt2" }
            v = TokenizerVocabulary(
                model: .byteLevelBPE, preTokenizer: pre, tokens: tokens, types: types, merges: merges,
                bosID: tokenID("bos_token"), eosID: tokenID("eos_token"), unknownID: tokenID("unk_token"),
                padID: tokenID("pad_token"), extraEndOfGenerationIDs: extraEOS,
                addBOS: (config["add_bos_token"] as? Bool) ?? false, addEOS: (config["add_eos_token"] as? Bool) ?? false,
                chatTemplate: template)
        }
        try v.validate(source: path)
        return v
    }

    /// Every string stored under `key` anywhere in a JSON value (the patterns of Split steps).
    static func collect(_ value: Any?, key: String) -> [String] {
        collectObjects(value).compactMap { $0[key] as? String }
    }

    /// Every object in a JSON value, nested ones included.
    static func collectObjects(_ value: Any?) -> [[String: Any]] {
        var out: [[String: Any]] = []
        func walk(_ v: Any?) {
            if let d = v as? [String: Any] { out.append(d); d.values.forEach(walk) }
            else if let a = v as? [Any] { a.forEach(walk) }
        }
        walk(value)
        return out
    }

    /// A JSON fragment as text, to recognise pre-tokenizer and normalizer shapes by their parts.
    static func describe(_ value: Any?) -> String {
        guard let value, !(value is NSNull),
              let d = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else { return "" }
        return String(decoding: d, as: UTF8.self)
    }
}

extension TokenizerVocabulary {
    /// "<0xNN>" with two upper-case hex digits: a SentencePiece byte-fallback token.
    static func byteTokenPattern(_ t: String) -> Bool { SentencePieceTokenizer.byteValue(t) != nil }
}

import Foundation

/// Reads a Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) into a vocabulary.
/// Byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2, SmolLM2) are supported; the
/// pre-tokenizer is recognised from its split pattern.
public enum TokenizerJSONLoader {
    public static func load(directory: String) throws -> TokenizerVocabulary {
        let path = directory + "/tokenizer.json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = json["model"] as? [String: Any]
        else { throw VLMError.badInput("\(path): missing or not a tokenizer.json") }
        guard (model["type"] as? String) == "BPE", let vocab = model["vocab"] as? [String: Any] else {
            throw VLMError.unsupported("\(path): only BPE tokenizer.json files are supported")
        }
        var tokens: [String] = []
        var types: [TokenizerVocabulary.TokenType] = []
        func put(_ token: String, _ id: Int, _ type: TokenizerVocabulary.TokenType) throws {
            guard id >= 0, id < 1 << 22 else { throw VLMError.badInput("\(path): token id \(id) out of range") }
            if id >= tokens.count {
                tokens += Array(repeating: "", count: id + 1 - tokens.count)
                types += Array(repeating: .unused, count: id + 1 - types.count)
            }
            tokens[id] = token; types[id] = type
        }
        for (token, idValue) in vocab {
            guard let id = (idValue as? NSNumber)?.intValue else { throw VLMError.badInput("\(path): bad id for \(token)") }
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
        let preText = String(describing: json["pre_tokenizer"] ?? "")
        let pre: String
        if preText.contains("Digits") && preText.contains("individual_digits") { pre = "smollm" }
        else if preText.contains("\\p{N}{1,3}") { pre = "llama3" }
        else if preText.contains("\\p{N}") && preText.contains("[^\\r\\n\\p{L}\\p{N}]") { pre = "qwen2" }
        else { pre = "gpt2" }

        let configPath = directory + "/tokenizer_config.json"
        var config: [String: Any] = [:]
        if let d = FileManager.default.contents(atPath: configPath),
           let j = try? JSONSerialization.jsonObject(with: d) as? [String: Any] { config = j }
        func tokenID(_ key: String) -> Int32? {
            let value = config[key]
            let text = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            return text.flatMap { t in tokens.firstIndex(of: t).map(Int32.init) }
        }
        let v = TokenizerVocabulary(
            model: .byteLevelBPE, preTokenizer: pre, tokens: tokens, types: types, merges: merges,
            bosID: tokenID("bos_token"), eosID: tokenID("eos_token"), unknownID: tokenID("unk_token"),
            addBOS: (config["add_bos_token"] as? Bool) ?? false, addSpacePrefix: false,
            chatTemplate: config["chat_template"] as? String)
        try v.validate(source: path)
        return v
    }
}

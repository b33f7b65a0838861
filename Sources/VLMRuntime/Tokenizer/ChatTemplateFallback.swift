/// The templates used when a model ships none (docs/CHAT-TEMPLATES.md lists them): the
/// published template of the architecture's family where one is standard, else the message
/// contents joined by newlines. Always with a warning: a guessed template is a guessed prompt.
public enum ChatTemplateFallback {
    public struct Fallback: Sendable {
        public let name: String
        public let source: String
        public init(name: String, source: String) { self.name = name; self.source = source }
    }

    /// Qwen2-Instruct's template (ChatML with its default system message).
    public static let qwen2 = Fallback(name: "Qwen2 ChatML", source: """
        {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """)

    /// Gemma 3's template (text turns; a system message opens the first user turn).
    public static let gemma = Fallback(name: "Gemma", source: """
        {{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = "" -%}{%- set loop_messages = messages -%}{%- endif -%}{%- for message in loop_messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}{%- endif -%}{%- set role = "model" if message['role'] == 'assistant' else message['role'] -%}{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}{{ message['content'] | trim }}{{ '<end_of_turn>\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{'<start_of_turn>model\\n'}}{%- endif -%}
        """)

    /// LLaVA-1.5's Vicuna v1 conversation (llava/conversation.py `conv_vicuna_v1`).
    public static let vicuna = Fallback(name: "Vicuna v1", source: """
        {% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}{% set loop_messages = messages[1:] %}{% else %}{% set system = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions." %}{% set loop_messages = messages %}{% endif %}{{ system + ' ' }}{% for message in loop_messages %}{% if message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}{% else %}{{ 'ASSISTANT: ' + message['content'] + '</s>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}
        """)

    /// No template: the contents joined by newlines (and the tokenizer adds BOS).
    public static let plain = Fallback(name: "plain text", source: """
        {% for message in messages %}{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] if part['type'] == 'text' %}{{ part['text'] }}{% endfor %}{% endif %}{% if not loop.last %}{{ '\\n' }}{% endif %}{% endfor %}
        """)

    /// By GGUF `general.architecture` or the Hugging Face `model_type`.
    public static func forArchitecture(_ architecture: String?) -> Fallback {
        switch (architecture ?? "").lowercased() {
        case "gemma", "gemma2", "gemma3", "gemma3_text", "gemma3n": return gemma
        case "qwen2", "qwen2vl", "qwen2_vl", "qwen2.5vl", "qwen2_vl_text", "qwen2_5_vl", "qwen2_5_vl_text",
             "qwen3", "qwen3vl", "qwen3_vl", "qwen3_vl_text": return qwen2
        case "llava": return vicuna
        default: return plain
        }
    }
}

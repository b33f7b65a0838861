/// The real model files scripts/setup.sh installs (found with TestSupport.installedModel).
let smolLM2File = "SmolLM2-135M-Instruct.Q4_1.gguf"
let gemma3File = "gemma-3-270m-q4_k_m.gguf"

// Stop-gap chat rendering for `pivot run --chat` and `pivot chat`: a hard-coded
// ChatML (<|im_start|>role\ncontent<|im_end|>\n), used only for models whose
// tokenizer.chat_template is ChatML (SmolLM2 and kin). The chat-template issue
// replaces this with the model's own template; until then callers say on stderr
// that it is in use.
#pragma once

#include <string>

#include "pivot/gguf.h"

namespace pivot::cli {

// Throws pivot::Error unless the file's chat template is ChatML.
void require_chatml(const GgufFile& file);

// The system prompt the template inserts when none is given ("" if none).
std::string default_system_prompt(const GgufFile& file);

// "<|im_start|>{role}\n{content}<|im_end|>\n"
std::string chatml_message(const std::string& role, const std::string& content);

// The opening of the assistant's turn: "<|im_start|>assistant\n".
inline const char* kChatmlAssistant = "<|im_start|>assistant\n";

// One-line notice printed to stderr whenever the rendering is used.
inline const char* kChatmlNotice =
    "pivot: note: using the built-in ChatML rendering, not the model's chat template "
    "(template support is a separate issue)\n";

}  // namespace pivot::cli
